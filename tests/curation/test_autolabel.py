"""Auto-labels on a real database: preview figures against a hand count, apply, undo, spot check."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import fiftyone as fo
from sda2.curation import audit, autolabel
from sda2.curation import queue as lq
from tests.conftest import private_copy

N, UNLABELED = 60, 20


@pytest.fixture
def case(digits, dataset_name):
    """60 digits with predictions (some wrong, some unsure); the last 20 lose their label; thresholds saved."""
    ds = private_copy(digits, dataset_name, N)
    rng = np.random.default_rng(0)
    truth = ds.values("ground_truth.label")
    wrong = rng.random(N) < 0.25
    predicted = [str((int(t) + 1) % 10) if w else t for t, w in zip(truth, wrong)]
    confidence = np.where(rng.random(N) < 0.3, 0.55, 0.95)
    ds.set_values("predictions", [fo.Classification(label=p, confidence=float(c))
                                  for p, c in zip(predicted, confidence)])
    ids = ds.values("id")
    ds.select(ids[-UNLABELED:]).set_values("ground_truth", [None] * UNLABELED)
    ds.info["sda2_thresholds"] = {**{str(c): 0.8 for c in range(10)}, "0": 0.99}
    ds.save()
    return SimpleNamespace(ds=ds, truth=truth, predicted=predicted, confidence=confidence)


def test_preview_counts_and_expected_precision_match_a_hand_count(case):
    ds = case.ds
    frame = autolabel.preview(ds).set_index("class")
    thresholds = ds.info["sda2_thresholds"]
    clears = np.array([c >= thresholds[p] for p, c in zip(case.predicted, case.confidence)])
    labeled = np.arange(N) < N - UNLABELED
    predicted, truth = np.array(case.predicted), np.array(case.truth)
    for cls in map(str, range(10)):
        mine = predicted == cls
        assert frame.loc[cls, "would_label"] == (mine & clears & ~labeled).sum()
        assert frame.loc[cls, "below_threshold"] == (mine & ~clears & ~labeled).sum()
        seen = mine & clears & labeled
        assert frame.loc[cls, "measured_on"] == seen.sum()
        if seen.sum():
            assert frame.loc[cls, "expected_precision"] == pytest.approx((truth[seen] == cls).mean())
            assert frame.loc[cls, "precision_low"] <= frame.loc[cls, "expected_precision"] <= \
                frame.loc[cls, "precision_high"]
    assert frame.loc["0", "would_label"] == 0  # its threshold 0.99 is above every confidence
    seen = clears & labeled & (predicted != "0")
    assert autolabel.overall_precision(frame) == pytest.approx((truth[seen] == predicted[seen]).mean())
    everything = autolabel.preview(ds, scope="all").set_index("class")
    assert (everything["would_label"] >= frame["would_label"]).all()
    assert everything["would_label"].sum() == (clears & (predicted != "0")).sum()


def test_apply_writes_auto_labels_queues_the_rest_and_undo_restores(case):
    ds = case.ds
    ids = ds.values("id")
    result = autolabel.apply(ds, queue_name="rest")
    thresholds = ds.info["sda2_thresholds"]
    expect = [i for i in range(N - UNLABELED, N) if case.confidence[i] >= thresholds[case.predicted[i]]]
    assert sorted(result.sample_ids) == sorted(ids[i] for i in expect)
    ds.reload()
    labels = dict(zip(ds.values("id"), ds.values("ground_truth.label")))
    assert all(labels[ids[i]] == case.predicted[i] for i in expect)
    tagged = ds.match_tags(autolabel.TAG)
    assert sorted(tagged.values("id")) == sorted(result.sample_ids)
    assert tagged.values(autolabel.CONFIDENCE_FIELD) == pytest.approx([0.95] * len(expect))
    log = audit.audit_log(ds)
    assert set(log["annotator"]) == {"auto-label"} and log["batch_id"].nunique() == 1
    by_field = log.groupby("field")["sample_id"].apply(sorted).to_dict()  # label, tag and confidence: one batch
    assert by_field == {f: sorted(result.sample_ids) for f in ("ground_truth", "tags:auto_label",
                                                               autolabel.CONFIDENCE_FIELD)}
    assert sorted(log.loc[log["field"] == autolabel.CONFIDENCE_FIELD, "new"]) == [0.95] * len(expect)
    assert result.queue == "rest" and result.rest == UNLABELED - len(expect)
    assert sorted(lq.items_frame(ds, "rest")["sample_id"]) == sorted(
        ids[i] for i in range(N - UNLABELED, N) if i not in expect)
    assert autolabel.preview(ds)["would_label"].sum() == 0  # nothing unlabeled clears a threshold now
    assert autolabel.batches(ds)["labels"].tolist() == [len(expect)]

    assert autolabel.undo(ds, result.batch_id, "lead") == len(expect)
    ds.reload()
    assert ds.select(result.sample_ids).values("ground_truth") == [None] * len(expect)
    assert len(ds.match_tags(autolabel.TAG)) == 0
    assert ds.select(result.sample_ids).values(autolabel.CONFIDENCE_FIELD) == [None] * len(expect)


def test_spot_check_is_stratified_and_reports_observed_precision(case):
    ds = case.ds
    result = autolabel.apply(ds, scope="all")
    definition = autolabel.create_spot_check(ds, "check", per_class=2, batch_id=result.batch_id, seed=1)
    items = lq.items_frame(ds, "check")
    assert definition["mode"] == "review" and items["base"].value_counts().max() <= 2
    assert set(items["base"]) == set(result.labeled)  # every auto-labeled class is checked
    truth = dict(zip(ds.values("id"), case.truth))
    fixed = 0
    while (sid := lq.next_item(ds, "check", "rita")) is not None:
        shown = lq.item(ds, "check", sid, "rita")
        assert shown["proposal"] is not None  # the reviewer sees the auto-label to accept or fix
        fixed += shown["proposal"] != truth[sid]
        lq.submit(ds, "check", "rita", sid, truth[sid], seconds=1.0)
    report = autolabel.spot_check_report(ds, "check").set_index("class")
    assert report.loc["all", "checked"] == len(items)
    assert report.loc["all", "observed_precision"] == pytest.approx(1 - fixed / len(items))
    for cls, group in items.groupby("base"):
        right = sum(truth[s] == cls for s in group["sample_id"])
        assert report.loc[cls, "correct"] == right
    ds.reload()
    checked = items["sample_id"].tolist()
    assert ds.select(checked, ordered=True).values("ground_truth.label") == [truth[s] for s in checked]
    assert not np.isnan(report.drop("all")["expected_precision"]).all()


def test_missing_thresholds_and_wrong_kinds_are_explained(case):
    ds = case.ds
    ds.info.pop("sda2_thresholds")
    ds.save()
    with pytest.raises(ValueError, match="no per-class confidence thresholds"):
        autolabel.preview(ds)
    with pytest.raises(ValueError, match="scope"):
        autolabel.preview(ds, scope="some", thresholds={"1": 0.5})
    with pytest.raises(KeyError, match="no label field 'logits'"):
        autolabel.preview(ds, pred_field="logits", thresholds={"1": 0.5})
    with pytest.raises(ValueError, match="no auto-labels"):
        autolabel.create_spot_check(ds, "check")
