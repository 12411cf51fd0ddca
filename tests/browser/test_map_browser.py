"""The Embedding map in a real browser: box-select points on the map, keep them as a tag, and check that
the database holds that tag on exactly the selected samples."""

from __future__ import annotations

import re

import pytest

from sda2 import store
from sda2.curation import edits

pytestmark = pytest.mark.browser

TAG = "browser-pick"
SELECTED = re.compile(r"^([\d,]+) selected samples$")


def _untag() -> None:
    """Remove the tag through the audited path, so the shared dataset stays equal to its audit log."""
    ds = store.open_dataset("digits")
    ids = ds.match_tags(TAG).values("id")
    if ids:
        edits.untag(ds, ids, TAG, "browser-test", "clean up after the map test")


def test_box_select_and_save_as_tag(page, digits, artifacts):
    _untag()
    try:
        page.get_by_role("link", name="Embedding map").click()
        page.get_by_role("heading", name="Embedding map").wait_for()

        compute = page.locator(".st-key-map_compute button")
        plot = page.locator(".js-plotly-plot .nsewdrag").first
        compute.or_(plot).first.wait_for(timeout=60_000)
        if compute.is_visible():
            compute.click()
        # the first UMAP in the server process compiles numba: about 40 s
        plot.wait_for(timeout=180_000)
        page.wait_for_timeout(1_000)  # let plotly finish laying out the WebGL scatter
        page.screenshot(path=str(artifacts / "map_before_select.png"), full_page=True)

        box = plot.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.3 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.6 * box["height"], steps=10)
        page.mouse.up()

        heading = page.get_by_role("heading", name=SELECTED)
        heading.wait_for(timeout=60_000)
        selected = int(SELECTED.match(heading.inner_text().strip()).group(1).replace(",", ""))
        assert 0 < selected < len(digits)
        page.screenshot(path=str(artifacts / "map_selected.png"), full_page=True)

        # a tag is an attributed, audited edit: the sidebar must name who makes it
        name_box = page.get_by_test_id("stSidebar").get_by_label("Your name (for edits and labels)")
        name_box.fill("mapper")
        name_box.press("Enter")
        page.wait_for_timeout(500)
        form = page.locator(".st-key-map_save_form, [data-testid='stForm']").first
        form.get_by_label("Name", exact=True).fill(TAG)
        page.locator(".st-key-map_save_submit button").click()
        page.get_by_text(f"Tagged {selected:,} samples with '{TAG}'").wait_for(timeout=60_000)
        page.screenshot(path=str(artifacts / "map_tagged.png"), full_page=True)

        counts = store.open_dataset("digits").count_sample_tags()
        assert counts.get(TAG) == selected
    finally:
        _untag()
