"""Confidence thresholds: curves checked against sklearn on the accepted set, and the lowest threshold."""

import numpy as np
import pytest
from sklearn.metrics import precision_score, recall_score

from sda2.analysis.thresholds import lowest_threshold, threshold_curve, thresholds_for_precision
from tests import forked
from tests.conftest import TEST_DB


@pytest.fixture
def predictions():
    rng = np.random.default_rng(0)
    n = 500
    y_true = rng.choice(["dog", "cat", "bird"], size=n)
    confidence = rng.uniform(0.3, 1.0, size=n).round(2)  # rounded: many ties
    right = rng.random(n) < confidence  # higher confidence, more often right
    y_pred = np.where(right, y_true, rng.choice(["dog", "cat", "bird"], size=n))
    return confidence, y_pred, y_true


def test_curve_matches_sklearn_at_every_threshold(predictions):
    confidence, y_pred, y_true = predictions
    curve = threshold_curve(confidence, y_pred, y_true, "dog")
    assert curve["threshold"].is_monotonic_increasing and curve["threshold"].is_unique
    n_pred = int((y_pred == "dog").sum())
    for row in curve.sample(20, random_state=0).itertuples():
        accepted = (y_pred == "dog") & (confidence >= row.threshold)
        decision = np.where(accepted, "dog", "other")
        assert row.precision == pytest.approx(precision_score(y_true == "dog", decision == "dog"))
        assert row.recall == pytest.approx(recall_score(y_true == "dog", decision == "dog"))
        assert row.accepted == accepted.sum() and row.rejected == n_pred - accepted.sum()
        assert row.coverage == pytest.approx(accepted.sum() / n_pred)
    assert curve.loc[0, "coverage"] == 1.0  # the lowest threshold keeps every prediction


def test_lowest_threshold_is_lowest(predictions):
    confidence, y_pred, y_true = predictions
    choice = lowest_threshold(confidence, y_pred, y_true, "cat", 0.9)
    curve = threshold_curve(confidence, y_pred, y_true, "cat")
    below = curve[curve["threshold"] < choice.threshold]
    assert choice.precision >= 0.9 and (below["precision"] < 0.9).all()
    accepted = (y_pred == "cat") & (confidence >= choice.threshold)
    assert choice.accepted == accepted.sum()
    assert choice.accepted + choice.rejected == (y_pred == "cat").sum()
    assert "accepted" in choice.summary()


def test_known_answer_and_unreachable_target():
    confidence = [0.9, 0.8, 0.7, 0.6, 0.5]
    y_pred = ["a"] * 5
    y_true = ["a", "a", "b", "a", "b"]
    choice = lowest_threshold(confidence, y_pred, y_true, "a", 0.75)
    assert (choice.threshold, choice.accepted, choice.rejected) == (0.6, 4, 1)
    assert choice.precision == 0.75 and choice.recall == 1.0
    assert lowest_threshold(confidence, y_pred, y_true, "a", 1.0).threshold == 0.8
    none = lowest_threshold(confidence, y_pred, ["b"] * 5, "a", 0.5)
    assert none.threshold is None and none.accepted == 0 and none.rejected == 5
    assert "no threshold reaches" in none.summary()
    with pytest.raises(ValueError, match="target_precision"):
        lowest_threshold(confidence, y_pred, y_true, "a", 1.5)


def test_table_for_all_classes(predictions):
    confidence, y_pred, y_true = predictions
    table = thresholds_for_precision(confidence, y_pred, y_true, ["bird", "cat", "dog", "eel"], 0.85)
    assert list(table.index) == ["bird", "cat", "dog", "eel"]
    assert np.isnan(table.loc["eel", "threshold"]) and table.loc["eel", "accepted"] == 0
    assert table.loc["dog", "threshold"] == lowest_threshold(confidence, y_pred, y_true, "dog", 0.85).threshold


# ---------------------------------------------------------------- saved with a dataset: atomic and audited

def test_saved_thresholds_are_audited_and_legacy_ones_read(digits, dataset_name):
    from sda2.explore import evaluation
    from sda2.curation import audit

    ds = digits.limit(20).clone(dataset_name, persistent=True)
    ds.info["sda2_thresholds"] = {"3": 0.4}  # where older versions kept them
    ds.save()
    assert evaluation.load_thresholds(ds) == {"3": 0.4}
    assert evaluation.save_thresholds(ds, {"7": 0.9}, annotator=" Alice ") == {"3": 0.4, "7": 0.9}
    (entry,) = audit.find(ds, field="thresholds")
    assert (entry["annotator"], entry["old"], entry["new"]) == ("Alice", {"3": 0.4}, {"3": 0.4, "7": 0.9})
    assert evaluation.save_thresholds(ds, {"7": 0.9}, annotator="bob") == {"3": 0.4, "7": 0.9}
    assert len(audit.find(ds, field="thresholds")) == 1  # no change, nothing logged


def test_two_processes_saving_at_once_keep_both(digits, dataset_name):
    import os
    import sys
    import time

    from sda2.explore import evaluation
    from sda2.curation import audit

    ds = digits.limit(20).clone(dataset_name, persistent=True)
    forked.warm()
    start = time.time() + 3
    code = """
import os, time
os.environ['FIFTYONE_DATABASE_NAME'] = {TEST_DB!r}
import sda2
ds = sda2.open_dataset({name!r})
time.sleep(max(0.0, {start} - time.time()))  # both start writing at the same instant
for k in range(5):
    sda2.save_thresholds(ds, {{str(({offset} + k) % 10): 0.5 + {offset} / 100}}, annotator={who!r})
"""
    procs = [forked.start([sys.executable, "-c", code.format(TEST_DB=TEST_DB, name=dataset_name, start=start,
                                                            offset=off, who=who)], env=os.environ.copy())
             for off, who in ((0, "alice"), (5, "bob"))]
    for proc in procs:
        done = proc.result(timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    saved = evaluation.load_thresholds(ds)
    assert saved == {**{str(k): 0.5 for k in range(5)}, **{str(k): 0.55 for k in range(5, 10)}}
    from sda2.curation import saved_thresholds

    entries = {str(e["_id"]): e for e in audit.find(ds, field="thresholds")}
    order = saved_thresholds.collection().find_one({"_id": audit.dataset_id(ds)})[audit.EDIT_IDS_FIELD]
    log = [entries[e] for e in order]  # in write order: each save replaced exactly what the one before wrote
    assert len(log) == len(entries) == 10 and all(a["new"] == b["old"] for a, b in zip(log, log[1:]))
