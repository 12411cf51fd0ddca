"""The Label errors page opens with how far to trust the flags; an uncertain suggestion is not the default."""

import numpy as np
import pytest

from tests.apptest import open_page

from sda2 import arrays
from sda2.analysis.calibration import WEAK_VERDICT, trust_summary
from sda2.compute.predictions import compute_predictions
from sda2.compute.label_issues import detect_label_issues

PAGE = "app_pages/label_errors.py"


def metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_trust_header_on_real_predictions(digits, dataset_name):
    ds = digits.clone(dataset_name, persistent=True)
    compute_predictions(ds)
    detect_label_issues(ds)
    ids, labels, flags = ds.values(["id", "ground_truth.label", "is_label_issue"])
    _, probs = arrays.load(dataset_name, "probabilities", ids=ids)
    expect = trust_summary(probs, np.array([int(v) for v in labels]), np.array([f is True for f in flags]))
    at = open_page(PAGE, dataset_name, annotator="carol")
    shown = metrics(at)
    assert shown["Model accuracy (out of fold)"] == f"{expect.accuracy:.1%}"
    low, high = expect.accuracy_interval
    assert any(f"95% interval {low:.1%} – {high:.1%}" in c.value for c in at.caption)
    assert shown["Calibration error (ECE)"] == f"{expect.ece:.3f}"
    assert shown["Expected real errors among flags"] == f"{expect.expected_real_errors:,.0f} of {expect.flagged:,}"
    assert shown["Worth reviewing"] == f"{expect.worth_reviewing:,}"
    assert expect.accuracy > 0.9 and not expect.weak
    assert any(c.value == f"estimated precision {expect.estimated_precision:.0%}" for c in at.caption)
    assert any("strong enough to be useful" in i.value for i in at.info)


@pytest.fixture
def weak(digits, dataset_name):
    """A digits copy whose stored probabilities are a weak model's: the suggestion at 55 %, flags on 30 samples."""
    ds = digits.clone(dataset_name, persistent=True)
    ids, labels = ds.values("id"), ds.values("ground_truth.label")
    n = len(ids)
    rng = np.random.default_rng(0)
    suggested = [str((int(v) + 1 + rng.integers(0, 9)) % 10) for v in labels]
    probs = np.full((n, 10), 0.45 / 9)
    probs[np.arange(n), [int(s) for s in suggested]] = 0.55  # wrong 100 % of the time: accuracy 0
    arrays.save(dataset_name, "probabilities", ids, probs, classes=[str(c) for c in range(10)])
    flagged = np.zeros(n, dtype=bool)
    flagged[:30] = True
    ds.set_values("label_quality", (0.05 + np.arange(n) / n).tolist())
    ds.set_values("is_label_issue", flagged.tolist())
    ds.set_values("suggested_label", suggested)
    return dataset_name, suggested[0]


def test_weak_model_verdict_and_accept_is_not_the_default(weak):
    name, suggested = weak
    at = open_page(PAGE, name, annotator="carol")
    assert any(WEAK_VERDICT.split(":")[0] in w.value for w in at.warning)
    assert metrics(at)["Model accuracy (out of fold)"] == "0.0%"
    # with a weak model the estimated share of real errors is shown as what it is: an upper bound
    assert any(c.value.startswith("estimated precision at most ") for c in at.caption)
    accept, keep = at.button(key="decide_accept"), at.button(key="decide_keep")
    assert accept.proto.type == "secondary" and keep.proto.type == "primary"
    assert "(55% sure)" in accept.label and accept.proto.shortcut.lower() == "a"
