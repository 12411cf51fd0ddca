"""Issue 12's bulk actions in a real browser: tick tiles on Samples, relabel with a preview, check the store,
undo, check again, then find similar samples; a Korean and an HTML-like class name are shown literally."""

from __future__ import annotations

import numpy as np
import pytest

import sda2
from sda2 import store
from sda2.curation import edits
from tests.browser.conftest import open_app_as, wait_idle

pytestmark = pytest.mark.browser

NAME = "t_browser_bulk"
N = 12
KOREAN = "고양이"
HTML = "<b>bold</b>"
TAG = "<i>check</i>"


@pytest.fixture(scope="module")
def bulk_ds(digits):
    """12 digits labeled 'plain' / KOREAN / HTML, two tagged TAG, and embeddings where samples 1-3 point
    the way sample 0 does."""
    import fiftyone as fo

    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    classes = ["plain", KOREAN, HTML]
    ds.set_values("ground_truth", [fo.Classification(label=classes[i % 3]) for i in range(N)])
    ds.classes["ground_truth"] = classes
    ds.save()
    ids = ds.values("id")
    edits.tag(ds, ids[:2], TAG, "setup")
    rng = np.random.default_rng(2)
    vectors = rng.normal(size=(N, 6)).astype(np.float32)
    vectors[1:4] = vectors[0] * np.array([1.5, 2.0, 3.0])[:, None]
    sda2.import_embeddings(ds, vectors, key="embeddings_test", ids=ids)
    yield ds
    store.delete_dataset(NAME)



def _click(page, key: str) -> None:
    """Click the button of widget ``key`` once the app is idle."""
    wait_idle(page)
    page.locator(f".st-key-{key} button").first.click()  # width="stretch" buttons render twice


def _labels(ids):
    ds = store.open_dataset(NAME)
    return ds.select(ids, ordered=True).values("ground_truth.label")


def test_multi_select_relabel_preview_undo_and_find_similar(browser, app_url, bulk_ds, artifacts):
    ids = bulk_ds.values("id")
    picked = ids[:3]
    before = _labels(picked)
    context, page = open_app_as(browser, app_url, NAME, N, "dana", "Samples")
    page.get_by_text(f"Samples of {NAME}").wait_for()
    page.get_by_text(f"tags: {TAG}").first.wait_for()  # the tag shows as typed, not as italics
    assert page.locator("em", has_text="check").count() == 0
    for sid in picked:
        wait_idle(page)
        page.locator(f".st-key-samples_check_{sid} label").click()
    page.get_by_text("3 selected").first.wait_for()

    wait_idle(page)
    page.locator(".st-key-samples_bulk_label").click()  # Relabel is the default action
    page.get_by_role("option", name=KOREAN, exact=True).click()
    _click(page, "samples_bulk_preview_button")
    summary = f"relabel as '{KOREAN}': 2 of 3 selected sample(s) change, 1 already have that label."
    page.get_by_text(summary).wait_for()
    assert _labels(picked) == before  # a preview writes nothing
    page.screenshot(path=str(artifacts / "bulk_preview.png"), full_page=True)

    _click(page, "samples_bulk_apply")
    page.get_by_text("Changed 2 sample(s)").first.wait_for()
    assert _labels(picked) == [KOREAN] * 3
    page.screenshot(path=str(artifacts / "bulk_applied.png"), full_page=True)

    _click(page, "samples_bulk_undo")
    page.get_by_text("Undone: 2 sample(s) restored.").first.wait_for()
    assert _labels(picked) == before
    assert page.locator("b", has_text="bold").count() == 0  # the HTML-like name never becomes bold

    _click(page, f"samples_pick_{ids[0]}")
    _click(page, "samples_find_similar")
    page.get_by_role("heading", name="Similar samples").wait_for()
    for sid in ids[1:4]:
        page.locator(f".st-key-similar_pick_{sid}").wait_for()
    shown = page.locator("[class*='st-key-similar_pick_']").evaluate_all(
        "els => els.map(e => [...e.classList].find(c => c.startsWith('st-key-similar_pick_')).slice(20))")
    assert shown[:3] == sda2.find_similar(bulk_ds, ids[0], k=3)["id"].tolist()
    assert set(shown[:3]) == set(ids[1:4]) and ids[0] not in shown
    page.locator(".st-key-similar_bulk_bar").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "bulk_similar.png"), full_page=True)
    context.close()
