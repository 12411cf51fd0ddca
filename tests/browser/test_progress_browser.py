"""Progress you can see, in a real browser: computing pixel embeddings and the UMAP map of 7,188 digit samples (all
1,797 digits four times; several seconds) shows a moving progress bar with counts and time left, then the map and
how long it took."""

from __future__ import annotations

import re

import fiftyone as fo
import pytest

import tests.browser.conftest as harness
from sda2 import store
from tests.conftest import private_copy

pytestmark = pytest.mark.browser

NAME = "t_browser_progress"


def test_a_long_job_shows_a_moving_bar_with_counts_and_time_left(browser, app_url, digits, artifacts):
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = private_copy(digits, NAME)
    # four times the digits: the 1,797 alone embed in 0.7 s, so fast that the browser was once sent only the last
    # of the bar's states (Streamlit keeps the newest delta of an element between two flushes)
    ds.add_samples([fo.Sample(filepath=s.filepath, split=s.split, ground_truth=fo.Classification(
        label=s.ground_truth.label)) for s in ds.select_fields(["split", "ground_truth"])] * 3)
    try:
        context, page = harness.open_app_as(browser, app_url, NAME, len(ds), "progress-watcher", "Embedding map")
        page.get_by_role("heading", name="Embedding map").wait_for()
        page.evaluate("""() => {  // every text a progress bar shows, in order, as the browser draws it
            window.progressTexts = [];
            const record = () => document.querySelectorAll('[data-testid=stProgress]').forEach(bar => {
                if (!window.progressTexts.includes(bar.innerText)) window.progressTexts.push(bar.innerText);
            });
            new MutationObserver(record).observe(document.body, {subtree: true, childList: true,
                                                                 characterData: true, attributes: true});
        }""")
        page.locator(".st-key-map_compute button").click()
        page.get_by_test_id("stProgress").first.wait_for()
        page.screenshot(path=str(artifacts / "progress_during_map.png"), full_page=True)
        page.locator(".js-plotly-plot").first.wait_for()
        seen = page.evaluate("window.progressTexts")
        page.wait_for_timeout(500)
        note = page.get_by_text(re.compile(r"^Pixel embeddings of 7,188 images took [\d.]+ s"))
        note.wait_for()
        page.screenshot(path=str(artifacts / "progress_after_map.png"), full_page=True)
        note_text = note.inner_text()
        context.close()
        assert len(set(seen)) >= 3, seen  # the bar moved: several different states were on screen
        assert any(re.search(r"\d[\d,]* of [\d,]+", t) for t in seen), seen  # counts
        assert any(re.search(r"about \d+ (s|min) left", t) for t in seen), seen  # time left
        assert "the map took" in note_text
    finally:
        store.delete_dataset(NAME)
