"""Issue 12's map selection in a real browser: lasso points on the Embedding map, tag them through the bulk
action bar (preview, apply), check the store holds the tag on exactly the selected count, undo, check again.
(test_map_browser.py covers a box selection kept through the "Save selection" form.)"""

from __future__ import annotations

import re

import numpy as np
import pytest

import sda2
from sda2 import store
from sda2.compute import projection
from tests.browser.conftest import open_app_as, wait_idle

pytestmark = pytest.mark.browser

NAME = "t_browser_map_select"
N = 60
TAG = "lasso-pick"
SELECTED = re.compile(r"^([\d,]+) selected samples$")


@pytest.fixture(scope="module")
def map_ds(digits):
    """60 digits with 2-d embeddings on a circle and their (PCA) map stored, so the page draws at once."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    angle = np.linspace(0, 2 * np.pi, N, endpoint=False)
    vectors = np.c_[np.cos(angle), np.sin(angle), np.zeros(N)].astype(np.float32)
    sda2.import_embeddings(ds, vectors, key="embeddings_test", ids=ds.values("id"))
    projection.compute_map(ds, "embeddings_test", method="pca", progress=False)
    yield ds
    store.delete_dataset(NAME)



def _tagged() -> int:
    return len(store.open_dataset(NAME).match_tags(TAG))


def test_lasso_select_then_bulk_tag_and_undo(browser, app_url, map_ds, artifacts):
    context, page = open_app_as(browser, app_url, NAME, N, "erin", "Embedding map")
    page.get_by_role("heading", name="Embedding map").wait_for()
    plot = page.locator(".js-plotly-plot .nsewdrag").first
    plot.wait_for()
    wait_idle(page)
    page.screenshot(path=str(artifacts / "map_select_before.png"), full_page=True)

    page.locator(".js-plotly-plot .modebar-btn[data-title='Lasso Select']").first.click()
    box = plot.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    # a lasso around the right half of the circle
    path = [(0.5, 0.03), (0.97, 0.5), (0.5, 0.97), (0.5, 0.04)]  # a triangle: only a lasso draws this shape
    page.mouse.move(x + path[0][0] * w, y + path[0][1] * h)
    page.mouse.down()
    for px, py in path[1:]:
        page.mouse.move(x + px * w, y + py * h, steps=8)
    page.mouse.up()

    heading = page.get_by_role("heading", name=SELECTED)
    heading.wait_for()
    selected = int(SELECTED.match(heading.inner_text().strip()).group(1).replace(",", ""))
    assert 0 < selected < N
    wait_idle(page)
    page.screenshot(path=str(artifacts / "map_select_lasso.png"), full_page=True)

    page.locator(".st-key-map_bulk_action").click()
    page.get_by_role("option", name="Add tag", exact=True).click()
    wait_idle(page)
    page.locator(".st-key-map_bulk_tag input").fill(TAG)
    page.locator(".st-key-map_bulk_tag input").press("Enter")
    wait_idle(page)
    page.locator(".st-key-map_bulk_preview_button button").first.click()
    page.get_by_text(f"Apply to {selected:,} sample(s)").first.wait_for()
    assert _tagged() == 0  # a preview writes nothing
    page.screenshot(path=str(artifacts / "map_select_preview.png"), full_page=True)

    wait_idle(page)
    page.locator(".st-key-map_bulk_apply button").first.click()
    page.locator(".st-key-map_bulk_undo button").first.wait_for()
    assert _tagged() == selected
    page.screenshot(path=str(artifacts / "map_select_tagged.png"), full_page=True)

    wait_idle(page)
    page.locator(".st-key-map_bulk_undo button").first.click()
    page.get_by_text(f"Undone: {selected:,} sample(s) restored.").first.wait_for()
    assert _tagged() == 0
    context.close()
