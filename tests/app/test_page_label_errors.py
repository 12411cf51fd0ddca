"""The Label Errors page, headless, on hand-written label-issue fields: render, accept, counters, undo."""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page

from sda2 import arrays, store

PAGE = "app_pages/label_errors.py"


@pytest.fixture
def suspects(digits, dataset_name):
    """A digits copy where 4 samples are flagged; the worst suggests '8'. Returns (name, worst id, its label)."""
    ds = digits.clone(dataset_name, persistent=True)
    ids, labels = ds.values("id"), ds.values("ground_truth.label")
    n = len(ids)
    quality = np.ones(n)
    flagged = [10, 20, 30, 40]
    quality[flagged] = [0.02, 0.10, 0.20, 0.30]
    suggested = list(labels)
    for i in flagged:
        suggested[i] = "8" if labels[i] != "8" else "3"
    ds.set_values("label_quality", quality.tolist())
    ds.set_values("is_label_issue", [i in flagged for i in range(n)])
    ds.set_values("suggested_label", suggested)
    probs = np.full((n, 10), 0.02)
    probs[np.arange(n), [int(s) for s in suggested]] = 0.82
    arrays.save(dataset_name, "probabilities", ids, probs, classes=[str(c) for c in range(10)])
    return dataset_name, ids[10], labels[10], suggested[10]


def _open(name: str) -> AppTest:
    return open_page(PAGE, name, annotator="carol")


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_page_shows_worst_suspect_with_probabilities(suspects):
    name, worst, given, suggested = suspects
    at = _open(name)
    metrics = _metrics(at)
    assert (metrics["Suspects"], metrics["Reviewed"], metrics["Fixed labels"]) == ("4", "0", "0")
    assert (metrics["Given label"], metrics["Suggested label"], metrics["Label quality"]) == (given, suggested, "0.020")
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["y"][int(suggested)] == pytest.approx(0.82)
    assert bars["marker"]["color"][int(suggested)] == "#2ca02c" and bars["marker"]["color"][int(given)] == "#ff7f0e"
    assert at.button(key="decide_accept").proto.shortcut.lower() == "a"


def test_accept_changes_stored_label_and_counters_then_undo(suspects):
    name, worst, given, suggested = suspects
    at = _open(name)
    at.button(key="decide_accept").click().run()
    assert not at.exception, at.exception
    assert store.open_dataset(name)[worst].ground_truth.label == suggested
    metrics = _metrics(at)
    assert (metrics["Reviewed"], metrics["Fixed labels"], metrics["Remaining"]) == ("1", "1", "3")
    assert metrics["Label quality"] == "0.100"  # the next suspect is shown
    at.button(key="undo_last").click().run()
    assert store.open_dataset(name)[worst].ground_truth.label == given
    assert _metrics(at)["Reviewed"] == "0"


def test_keep_and_exclude_leave_the_queue(suspects):
    name, worst, given, _ = suspects
    at = _open(name)
    at.button(key="decide_keep").click().run()
    at.button(key="decide_exclude").click().run()
    ds = store.open_dataset(name)
    assert ds[worst].ground_truth.label == given and ds[worst].tags == ["reviewed"]
    metrics = _metrics(at)
    assert (metrics["Reviewed"], metrics["Fixed labels"], metrics["Label quality"]) == ("2", "0", "0.200")
    assert len(ds.match_tags("excluded")) == 1
    logged = [f.value for f in at.dataframe if "annotator" in f.value.columns]
    assert logged and set(logged[0]["annotator"]) == {"carol"} and len(logged[0]) == 3  # reviewed; reviewed + excluded


def test_conflict_is_shown_not_overwritten(suspects):
    from sda2.curation import edits

    name, worst, given, suggested = suspects
    at = _open(name)
    edits.set_label(store.open_dataset(name), worst, "1" if suggested != "1" else "2", "dave", "meanwhile")
    at.button(key="decide_accept").click().run()
    assert any("set by dave" in e.value for e in at.error)
    assert store.open_dataset(name)[worst].ground_truth.label != suggested


def test_empty_state_without_label_issue_fields(digits, dataset_name):
    digits.clone(dataset_name, persistent=True)
    at = _open(dataset_name)
    assert any("No label issues" in i.value for i in at.info)
    assert at.button(key="run_detect_label_issues").label == "Find label issues now"


def test_find_label_issues_now_computes_them(digits, dataset_name):
    from sda2.compute.predictions import compute_predictions

    ds = digits.clone(dataset_name, persistent=True)
    compute_predictions(ds)
    at = _open(dataset_name)
    at.button(key="run_detect_label_issues").click().run()
    assert not at.exception and not any("No label issues" in i.value for i in at.info)
    flagged = store.open_dataset(dataset_name).count_values("is_label_issue").get(True, 0)
    assert flagged > 0 and at.button(key="decide_accept")  # the review of the worst suspect is on the page


def test_choose_another_label(suspects):
    name, worst, given, suggested = suspects
    other = next(c for c in "0123456789" if c not in (given, suggested))
    at = _open(name)
    assert at.selectbox(key=f"other_label_{worst}").value == suggested
    at.selectbox(key=f"other_label_{worst}").set_value(other)
    at.button(key="decide_relabel").click().run()
    ds = store.open_dataset(name)
    assert ds[worst].ground_truth.label == other and ds[worst].tags == ["reviewed"]
    assert _metrics(at)["Fixed labels"] == "1"
