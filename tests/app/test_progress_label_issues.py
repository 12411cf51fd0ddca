"""Progress you can see inside label-issue detection: the app's bar moves through reading, scoring and writing,
fills, and the Label errors page says how long the job took; the Issues page's run moves it too."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sda2 import store
from tests.apptest import open_page
from tests.conftest import private_copy

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)

N = 300


@pytest.fixture
def predicted(digits, dataset_name):
    """A private 300-digit copy with predictions carrying logits: every 10th sample predicted one class off."""
    ds = private_copy(digits, dataset_name, N)
    for field in ("label_quality", "is_label_issue", "suggested_label"):
        if field in ds.get_field_schema():
            ds.delete_sample_field(field)
    classes = store.classes(ds, "ground_truth")
    predictions = []
    for i, label in enumerate(ds.values("ground_truth.label")):
        top = classes[(classes.index(label) + (1 if i % 10 == 0 else 0)) % len(classes)]
        logits = np.full(len(classes), -2.0)
        logits[classes.index(top)] = 4.0
        predictions.append(fo.Classification(label=top, confidence=0.9, logits=logits.tolist()))
    ds.set_values("predictions", predictions)
    return ds


def bar_script(dataset_name: str) -> None:
    """An app fragment: label-issue detection under the app's progress bar, what the bar showed kept."""
    import streamlit as st

    import sda2
    from sda2.ui.progress import ProgressBar

    bar = ProgressBar("label issues test", 300, unit="samples")
    sda2.detect_label_issues(dataset_name, progress=bar)
    st.session_state["texts"], st.session_state["fractions"] = bar.texts, bar.fractions
    bar.done()


def test_detection_moves_the_bar_through_each_stage_and_fills_it(predicted):
    at = AppTest.from_function(bar_script, args=(predicted.name,), default_timeout=60).run()
    assert not at.exception, at.exception
    texts, fractions = at.session_state["texts"], at.session_state["fractions"]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert 0.0 < fractions[1] < 1.0  # the bar moved between start and end
    assert texts[0] == f"reading labels and predictions of {N} samples"
    assert texts[1] == f"scoring {N} labeled, predicted samples"
    assert any(t.startswith(f"writing: {N} of {N} samples") for t in texts)
    flagged = predicted.count_values("is_label_issue")[True]
    assert texts[-1] == f"{flagged} suspects in {N} scored samples" and flagged > 0
    assert at.get("progress")[0].proto.value == 100
    assert at.get("progress")[0].proto.text.startswith("Done in ")


def test_label_errors_button_runs_under_a_bar_and_says_how_long_it_took(predicted):
    at = open_page("app_pages/label_errors.py", predicted.name, annotator="tester")
    at.button(key="run_detect_label_issues").click().run()
    assert not at.exception, at.exception
    flagged = predicted.count_values("is_label_issue")[True]
    toast = at.toast[0].value
    assert toast.startswith("Found label issues in ") and toast.endswith(f" s: {flagged} suspects in {N} scored samples")
    assert predicted.count("label_quality") == N


def checks_script(dataset_name: str) -> None:
    """An app fragment: the Issues page's run of the label check, its summary kept."""
    import streamlit as st

    from sda2 import store
    from sda2.ui.issue_widgets import run_checks

    st.session_state["summary"] = run_checks(store.open_dataset(dataset_name), ["label"], "tester")


def test_issue_run_of_the_label_check_fills_the_bar(predicted):
    at = AppTest.from_function(checks_script, args=(predicted.name,), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.session_state["summary"].loc["label", "status"] == "found"
    assert at.get("progress")[0].proto.value == 100
    assert at.get("progress")[0].proto.text == "1 of 1 checks done"
