"""Annotation records on a real database: blind answers coexist, the frame's columns, rework detection."""

from __future__ import annotations

import pandas as pd
import pytest

from sda2.curation import annotations, edits


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 40 digits."""
    return digits.limit(40).clone(dataset_name, persistent=True)


def test_answers_of_several_labelers_coexist_and_replace_their_own(ds):
    sid = ds.first().id
    annotations.record_annotation(ds, sid, "alice", "3", 2.5, queue="q1")
    annotations.record_annotation(ds, sid, "bob", "5", 4.0, queue="q1")
    annotations.record_annotation(ds, sid, "alice", "8", 1.5, queue="q1")  # alice changes her answer
    frame = annotations.annotations_frame(ds, queue="q1")
    assert list(frame.columns) == annotations.COLUMNS
    assert sorted(zip(frame["annotator"], frame["label"], frame["seconds"])) == [("alice", "8", 1.5), ("bob", "5", 4.0)]
    assert frame["seconds"].dtype == float and str(frame["created_at"].dt.tz) == "UTC"
    assert not frame["changed_by_review"].any()
    assert ds[sid].ground_truth.label == ds.first().ground_truth.label  # an answer is not a label
    assert annotations.annotations_frame(ds, queue="other").empty


def test_multilabel_answers_are_sorted_joined_strings(digits, dataset_name):
    import fiftyone as fo

    ds = digits.limit(40).clone(dataset_name, persistent=True)
    ids = ds.limit(3).values("id")
    ds.add_sample_field("tags_gt", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications)
    ds.select(ids).set_values("tags_gt", [fo.Classifications(classifications=[fo.Classification(label=t)])
                                          for t in ("round", "thin", "round")])
    annotations.record_annotation(ds, ids[0], "alice", ["thin", "round"], 3.0, queue="tags", field="tags_gt")
    frame = annotations.annotations_frame(ds, queue="tags")
    assert frame["label"].tolist() == ["round|thin"]
    with pytest.raises(ValueError, match="list of tag names"):
        annotations.record_annotation(ds, ids[0], "alice", "round", 3.0, queue="tags", field="tags_gt")


def test_bad_input_is_refused_with_the_fix(ds):
    sid = ds.first().id
    with pytest.raises(ValueError, match="Unknown class"):
        annotations.record_annotation(ds, sid, "alice", "eleven", 1.0)
    with pytest.raises(ValueError, match="labeler's name"):
        annotations.record_annotation(ds, sid, " ", "3", 1.0)
    with pytest.raises(ValueError, match="No sample"):
        annotations.record_annotation(ds, "0" * 24, "alice", "3", 1.0)
    with pytest.raises(ValueError, match="seconds"):
        annotations.record_annotation(ds, sid, "alice", "3", float("nan"))
    assert annotations.annotations_frame(ds).empty


def test_changed_by_review_marks_answers_overruled_later_by_someone_else(ds):
    a, b = ds.limit(2).values("id")
    annotations.record_annotation(ds, a, "alice", "3", 1.0, queue="q")
    annotations.record_annotation(ds, a, "bob", "5", 1.0, queue="q")
    annotations.record_annotation(ds, b, "alice", "4", 1.0, queue="q")
    edits.set_label(ds, a, "3", "carol", "adjudication")  # carol sides with alice
    edits.set_label(ds, b, "4", "alice", "her own answer")  # alice's own write is no rework
    frame = annotations.annotations_frame(ds).set_index(["sample_id", "annotator"])
    assert frame.loc[(a, "bob"), "changed_by_review"]
    assert not frame.loc[(a, "alice"), "changed_by_review"]
    assert not frame.loc[(b, "alice"), "changed_by_review"]
    assert isinstance(frame["created_at"].iloc[0], pd.Timestamp)
