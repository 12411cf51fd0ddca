"""Agreement and efficiency reports of a real dataset, read from answers recorded in the real database."""

import numpy as np
import pandas as pd
import pytest

from sda2 import arrays, store
from sda2.explore import labeler_quality
from sda2.analysis import agreement as ag
from sda2.curation import annotations, queue

from tests.explore.test_overview import make_multilabel


@pytest.fixture
def labeled(digits, dataset_name):
    """A clone of digits where three labelers answered the first 30 samples: x and y always right, z wrong on
    the first 10; ``seconds`` 2, 4 and 6 s. Returns (dataset, sample ids, true labels)."""
    ds = digits.limit(60).clone(dataset_name, persistent=True)
    ids, truth = ds.values("id")[:30], ds.values("ground_truth.label")[:30]
    wrong = {sid: str((int(t) + 1) % 10) for sid, t in zip(ids[:10], truth[:10])}
    for name, seconds in (("x", 2.0), ("y", 4.0), ("z", 6.0)):
        for sid, label in zip(ids, truth):
            given = wrong.get(sid, label) if name == "z" else label
            annotations.record_annotation(ds, sid, name, given, seconds, queue="batch-1")
    return ds, ids, truth


def test_agreement_report_reads_recorded_answers(labeled):
    ds, ids, truth = labeled
    report = labeler_quality.agreement_report(ds.name)
    assert (report.annotations, report.annotators, report.samples, report.multi_rated) == (90, ["x", "y", "z"], 30, 30)
    ratings = ag.ratings_matrix(annotations.annotations_frame(ds))
    assert report.fleiss == ag.fleiss_kappa(ratings)
    assert report.fleiss.raters_per_sample == 3 and report.fleiss.samples == 30
    assert report.alpha == pytest.approx(ag.krippendorff_alpha(ratings))
    assert report.kappa_matrix.loc["x", "y"] == 1.0 and report.kappa_matrix.loc["x", "z"] < 0.8
    labelers = report.labelers.set_index("annotator")
    assert labelers.loc["z", "agreement"] == pytest.approx(20 / 30)
    assert labelers.loc["x", "agreement"] == 1.0
    samples = report.consensus.set_index("sample_id").loc[ids]
    assert samples["majority"].tolist() == truth and samples["weighted"].tolist() == truth
    assert sorted(report.adjudication["sample_id"]) == sorted(ids[:10])
    paths = dict(zip(ds.values("id"), ds.values("filepath")))
    assert all(paths[s] == p for s, p in zip(report.adjudication["sample_id"], report.adjudication["filepath"]))
    assert "Fleiss' κ = " in report.summary() and "Landis & Koch" in report.summary()
    assert not report.model_weighted


def test_efficiency_report_reads_recorded_seconds(labeled):
    ds, _, _ = labeled
    result = labeler_quality.efficiency_report(ds)
    per = result.labelers.set_index("annotator")
    assert per["median_seconds"].tolist() == [2.0, 4.0, 6.0]
    assert per["labels_per_hour"].tolist() == pytest.approx([1800, 900, 600])
    assert per["labels"].tolist() == [30, 30, 30]
    assert result.every == 25  # all answers came within seconds: blocks of labels, not calendar time
    assert result.over_time.groupby("annotator")["labels"].sum().tolist() == [30, 30, 30]
    assert set(result.per_class["label"]) == {str(d) for d in range(10)}


def test_one_queue_or_all(labeled):
    ds, ids, truth = labeled
    for sid, label in zip(ids[:5], truth[:5]):
        annotations.record_annotation(ds, sid, "w", label, 1.0, queue="batch-2")
    assert labeler_quality.agreement_report(ds).annotators == ["w", "x", "y", "z"]
    only = labeler_quality.agreement_report(ds, queue="batch-2")
    assert (only.annotations, only.annotators, only.multi_rated) == (5, ["w"], 0)
    assert "no sample was labeled by two labelers" in only.summary()
    assert labeler_quality.efficiency_report(ds, queue="batch-2").labelers["labels"].tolist() == [5]


def test_model_probabilities_settle_a_tie(digits, dataset_name):
    ds = digits.limit(60).clone(dataset_name, persistent=True)
    ids, truth = ds.values("id")[:40], ds.values("ground_truth.label")[:40]
    for sid, label in zip(ids, truth):  # two labelers who disagree on the first sample only
        annotations.record_annotation(ds, sid, "p", label, 3.0, queue="q")
        annotations.record_annotation(ds, sid, "q", "7" if sid == ids[0] and label != "7" else label, 3.0, queue="q")
    classes = [str(d) for d in range(10)]
    probs = np.full((40, 10), 0.01)
    probs[np.arange(40), [int(t) for t in truth]] = 0.91
    arrays.save(ds.name, "probabilities", ids, probs, classes=classes)
    report = labeler_quality.agreement_report(ds)
    assert report.model_weighted
    first = report.consensus.set_index("sample_id").loc[ids[0]]
    assert first["tie"] and first["weighted"] == truth[0] and first["weighted_confidence"] > 0.8
    assert not labeler_quality.agreement_report(ds, use_model=False).model_weighted


def test_empty_dataset_reports_how_to_get_labels(digits, dataset_name):
    ds = digits.limit(60).clone(dataset_name, persistent=True)
    report = labeler_quality.agreement_report(ds)
    assert report.empty and report.annotations == 0 and report.adjudication.empty
    assert "Labeling page" in report.summary()
    assert labeler_quality.efficiency_report(ds).empty
    with pytest.raises(store.DatasetNotFound, match="sda2 ingest"):
        labeler_quality.agreement_report("no_such_dataset_here")


def test_multilabel_answers_agree_per_tag(tmp_path, dataset_name):
    ds = make_multilabel(dataset_name, tmp_path / "img")
    ids = ds.values("id")[:4]
    answers = {"x": [["cat", "dog"], ["cat"], ["dog"], ["bird"]], "y": [["dog", "cat"], ["cat", "dog"], ["dog"], []]}
    for name, labels in answers.items():
        for sid, tags in zip(ids, labels):
            annotations.record_annotation(ds, sid, name, tags, 2.0, queue="tags")
    report = labeler_quality.agreement_report(ds)
    assert report.multilabel
    assert report.pairwise.loc[0, "observed"] == pytest.approx(2 / 4)  # exact tag sets agree on two samples
    per_tag = report.per_class.set_index("label")
    assert per_tag.loc["cat", "specific_agreement"] == 1.0  # whenever one said cat, so did the other
    assert per_tag.loc["dog", "specific_agreement"] == pytest.approx((2 + 2) / (2 + 1 + 2))  # y alone on sample 2
    times = labeler_quality.efficiency_report(ds).per_class.set_index("label")
    assert times.loc["dog", "labels"] == 5  # tags counted one by one


def test_answers_through_the_queue_feed_the_report(digits, dataset_name):
    ds = digits.limit(60).clone(dataset_name, persistent=True)
    queue.create_queue(ds, "double", ds.values("id")[:6], labels_per_sample=2, overlap=1.0)
    for name in ("ann", "bob"):
        while (sid := queue.next_item(ds, "double", name)) is not None:
            label = ds[sid].ground_truth.label
            queue.submit(ds, "double", name, sid, label if name == "ann" else "0", 2.5)
    report = labeler_quality.agreement_report(ds, queue="double")
    assert report.annotators == ["ann", "bob"] and report.multi_rated == 6
    assert len(report.adjudication) == 6 - sum(ds[s].ground_truth.label == "0" for s in ds.values("id")[:6])
    assert isinstance(report.consensus, pd.DataFrame) and len(report.consensus) == 6
