"""Blind labeling in sda2.explore.labeler_quality on a real database: a viewer never gets other labelers' answers on samples still
open in a queue, and adjudication is a separate role (names compared trimmed and case-insensitively)."""

from __future__ import annotations

import pytest

from sda2.curation import queue as lq
from sda2.explore import labeler_quality


@pytest.fixture
def three_way(digits, dataset_name):
    """Queue "q3" (3 answers per sample): s0 has alice's and bob's answers (open, carol may get it), s1 answers from
    alice, bob and carol that all differ (disputed), s2 none."""
    ds = digits.limit(6).clone(dataset_name, persistent=True)
    ids = ds.values("id")[:3]
    lq.create_queue(ds, "q3", ids, labels_per_sample=3, overlap=1.0)
    lq.submit(ds, "q3", "alice", ids[0], "3", 1.0)
    lq.submit(ds, "q3", "bob", ids[0], "8", 1.0)
    for who, label in (("alice", "1"), ("bob", "2"), ("carol", "4")):
        assert lq.submit(ds, "q3", who, ids[1], label, 1.0).status in ("recorded", "disputed")
    assert lq.items_frame(ds, "q3")["status"].tolist() == ["open", "disputed", "open"]
    return ds, ids


def _answers(frame, sample_id) -> dict[str, str]:
    rows = frame[frame["sample_id"] == sample_id]
    return dict(zip(rows["annotator"], rows["label"]))


def test_open_samples_hide_other_labelers_answers_from_every_viewer(three_way):
    ds, (s0, s1, s2) = three_way
    assert labeler_quality.open_samples(ds) == {s0, s2}
    everything = labeler_quality.annotation_records(ds)
    assert _answers(everything, s0) == {"alice": "3", "bob": "8"}  # no viewer: a notebook sees all
    carol = labeler_quality.annotation_records(ds, viewer="carol")
    assert _answers(carol, s0) == {} and _answers(carol, s1) == {"alice": "1", "bob": "2", "carol": "4"}
    alice = labeler_quality.annotation_records(ds, viewer="  ALICE ")  # the same person, typed differently
    assert _answers(alice, s0) == {"alice": "3"}
    assert _answers(labeler_quality.annotation_records(ds, viewer="anonymous"), s0) == {}
    assert _answers(labeler_quality.annotation_records(ds, viewer="carol", curator=True), s0) == {"alice": "3", "bob": "8"}
    report = labeler_quality.agreement_report(ds, viewer="carol")
    assert report.hidden == 2 and report.annotations == 3 and s0 not in set(report.consensus["sample_id"])
    assert labeler_quality.efficiency_report(ds, viewer="carol").labelers["labels"].sum() == 3


def test_adjudication_is_for_people_who_did_not_answer_and_for_curators(three_way):
    ds, (s0, s1, _) = three_way
    assert set(labeler_quality.agreement_report(ds).adjudication["sample_id"]) == {s0, s1}  # unfiltered: both disputed
    by = {who: set(labeler_quality.agreement_report(ds, viewer=who).adjudication["sample_id"])
          for who in ("carol", "Carol ", "dave", "anonymous")}
    assert by == {"carol": set(), "Carol ": set(), "dave": {s1}, "anonymous": set()}
    assert set(labeler_quality.agreement_report(ds, viewer="carol", curator=True).adjudication["sample_id"]) == {s0, s1}
    assert list(labeler_quality.adjudication_items(ds, "q3", "dave")["sample_id"]) == [s1]
    assert labeler_quality.adjudication_items(ds, "q3", "BOB").empty
    assert list(labeler_quality.adjudication_items(ds, "q3", None, curator=True)["sample_id"]) == [s1]
    with pytest.raises(ValueError, match="needs to know who is looking"):
        labeler_quality.adjudication_items(ds, "q3", "anonymous")


def test_a_labeler_cannot_settle_her_own_or_an_open_sample(three_way):
    ds, (s0, s1, _) = three_way
    with pytest.raises(ValueError, match="answered it themselves"):
        labeler_quality.adjudicate(ds, "q3", s1, "4", " Carol")
    with pytest.raises(ValueError, match="still open"):
        labeler_quality.adjudicate(ds, "q3", s0, "3", "dave")
    assert lq.items_frame(ds, "q3")["status"].tolist() == ["open", "disputed", "open"]  # nothing written
    assert labeler_quality.adjudicate(ds, "q3", s1, "4", "dave").status == "done"
    assert ds[s1].ground_truth.label == "4"


def test_curators_are_named_in_the_environment(monkeypatch):
    monkeypatch.setenv(labeler_quality.CURATORS_ENV, " Erin, frank ,,")
    assert labeler_quality.curators() == {"erin", "frank"}
    assert labeler_quality.is_curator("ERIN ") and labeler_quality.is_curator("Frank") and not labeler_quality.is_curator("carol")
    assert not labeler_quality.is_curator("") and not labeler_quality.is_curator(None)
    monkeypatch.delenv(labeler_quality.CURATORS_ENV)
    assert labeler_quality.curators() == set() and not labeler_quality.is_curator("erin")
