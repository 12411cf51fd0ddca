"""The labeling queue on a real database: assignment, blind double-labeling, resolution through the edit path."""

from __future__ import annotations

import threading

import pytest

import sda2

from sda2.curation import annotations, audit, edits
from sda2.curation import queue as lq


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 40 digits."""
    return digits.limit(40).clone(dataset_name, persistent=True)


def _truth(ds, ids):
    return dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label")))


def _other(label: str) -> str:
    return str((int(label) + 1) % 10)


def test_single_labeler_queue_writes_each_answer_through_the_edit_path(ds):
    ids = ds.limit(4).values("id")
    truth = _truth(ds, ids)
    lq.create_queue(ds, "batch-1", ids, created_by="lead")
    seen = []
    while (sid := lq.next_item(ds, "batch-1", "alice")) is not None:
        assert lq.next_item(ds, "batch-1", "alice") == sid  # a reload gives the same item back
        result = lq.submit(ds, "batch-1", "alice", sid, _other(truth[sid]), seconds=2.0)
        assert (result.status, result.label) == ("done", _other(truth[sid]))
        seen.append(sid)
    assert seen == ids  # the queue's order
    assert _truth(ds, ids) == {sid: _other(truth[sid]) for sid in ids}
    log = audit.audit_log(ds)
    assert set(log["reason"]) == {"labeling queue batch-1"} and set(log["annotator"]) == {"alice"}
    entry = audit.find(ds, sample_id=ids[0])[0]
    assert entry["meta"] == {"queue": "batch-1", "answers": 1, "seconds": 2.0}
    edits.undo(ds, entry["batch_id"], "alice")  # undoable like every edit
    assert _truth(ds, ids[:1]) == {ids[0]: truth[ids[0]]}
    assert lq.queue_progress(ds, "batch-1")["done"] == 4 and lq.queue_progress(ds, "batch-1")["share_done"] == 1.0
    assert lq.next_item(ds, "batch-1", "bob") is None  # single-answer items leave the pool once answered


def test_a_single_answer_item_goes_to_one_labeler_at_a_time(ds):
    ids = ds.limit(2).values("id")
    lq.create_queue(ds, "q", ids)
    a, b = lq.next_item(ds, "q", "alice"), lq.next_item(ds, "q", "bob")
    assert {a, b} == set(ids)  # leased: bob is not handed alice's item
    assert lq.next_item(ds, "q", "carol") is None
    assert lq.upcoming(ds, "q", "carol") == []


def test_blind_double_labeling_agree_writes_disagree_waits_for_adjudication(ds):
    ids = ds.limit(10).values("id")
    truth = _truth(ds, ids)
    definition = lq.create_queue(ds, "double", ids, labels_per_sample=2, overlap=0.5, seed=3)
    assert definition["n_multi"] == 5
    items = lq.items_frame(ds, "double")
    double = set(items.loc[items["required"] == 2, "sample_id"])
    answers = {}
    for labeler in ("alice", "bob"):
        while (sid := lq.next_item(ds, "double", labeler)) is not None:
            view = lq.item(ds, "double", sid, labeler)
            assert view["your_answer"] is None and view["proposal"] is None  # never another's answer
            # they agree on all double items but the first; bob answers the truth, alice the truth too
            label = _other(truth[sid]) if (labeler == "alice" and sid == sorted(double)[0]) else truth[sid]
            result = lq.submit(ds, "double", labeler, sid, label, seconds=1.0)
            answers.setdefault(sid, []).append((labeler, result.status))
    assert all(len(answers[s]) == 2 for s in double) and all(len(answers[s]) == 1 for s in set(ids) - double)
    counts = lq.queue_progress(ds, "double")
    assert (counts["done"], counts["disputed"], counts["open"]) == (9, 1, 0)
    assert counts["answers"] == counts["answers_needed"] == 15
    (row,) = lq.disagreements(ds, "double").itertuples()
    assert row.sample_id == sorted(double)[0] and row.status == "disputed"
    assert row.answers == {"alice": _other(truth[row.sample_id]), "bob": truth[row.sample_id]}
    # the second answer on an agreed double item is written by both labelers' names
    agreed = sorted(double)[1]
    assert answers[agreed][0][1] == "recorded" and answers[agreed][1][1] == "done"
    frame = annotations.annotations_frame(ds, queue="double")
    assert len(frame) == 15 and not frame["changed_by_review"].any()
    # adjudication sides with bob: alice's answer becomes rework
    lq.adjudicate(ds, "double", row.sample_id, truth[row.sample_id], "carol")
    frame = annotations.annotations_frame(ds, queue="double").set_index(["sample_id", "annotator"])
    assert frame.loc[(row.sample_id, "alice"), "changed_by_review"]
    assert not frame.loc[(row.sample_id, "bob"), "changed_by_review"]
    assert lq.queue_progress(ds, "double")["disputed"] == 0


def test_back_changes_an_answer_and_the_item_is_resolved_again(ds):
    ids = ds.limit(3).values("id")
    truth = _truth(ds, ids)
    lq.create_queue(ds, "q", ids)
    for sid in ids:
        assert lq.next_item(ds, "q", "alice") == sid
        lq.submit(ds, "q", "alice", sid, truth[sid], seconds=1.0)
    assert lq.previous_item(ds, "q", "alice") == ids[2]
    assert lq.previous_item(ds, "q", "alice", before=ids[2]) == ids[1]
    assert lq.previous_item(ds, "q", "alice", before=ids[0]) is None
    assert lq.item(ds, "q", ids[1], "alice")["your_answer"] == truth[ids[1]]
    result = lq.submit(ds, "q", "alice", ids[1], _other(truth[ids[1]]), seconds=3.0)
    assert result.status == "done" and _truth(ds, [ids[1]])[ids[1]] == _other(truth[ids[1]])
    frame = annotations.annotations_frame(ds, queue="q")
    assert len(frame) == 3 and frame.set_index("sample_id").loc[ids[1], "seconds"] == 3.0


def test_a_label_changed_meanwhile_is_a_conflict_not_an_overwrite(ds):
    sid = ds.first().id
    old = ds.first().ground_truth.label
    lq.create_queue(ds, "q", [sid])
    edits.set_label(ds, sid, _other(_other(old)), "bob", "fixed from the Label errors page")
    result = lq.submit(ds, "q", "alice", lq.next_item(ds, "q", "alice"), _other(old), seconds=1.0)
    assert result.status == "conflict" and "bob" in result.message
    assert _truth(ds, [sid])[sid] == _other(_other(old))  # bob's fix survives
    assert lq.disagreements(ds, "q")["status"].tolist() == ["conflict"]


def test_skip_list_delete_and_labeler_counts(ds):
    ids = ds.limit(3).values("id")
    truth = _truth(ds, ids)
    lq.create_queue(ds, "q", ds.select(ids), labels_per_sample=2, overlap=1.0)
    first = lq.next_item(ds, "q", "alice")
    lq.skip_item(ds, "q", "alice", first)
    assert lq.next_item(ds, "q", "alice") != first
    assert lq.next_item(ds, "q", "bob") == first  # skipped items stay for others
    lq.submit(ds, "q", "bob", first, truth[first], seconds=4.0)
    counts = lq.labeler_progress(ds, "q", "alice")
    assert (counts["answered"], counts["skipped"], counts["available"]) == (0, 1, 2)
    table = lq.labelers(ds, "q").set_index("annotator")
    assert table.loc["bob", "answers"] == 1 and table.loc["alice", "skipped"] == 1
    listed = lq.list_queues(ds)
    assert listed["name"].tolist() == ["q"] and listed.loc[0, "open"] == 3
    assert lq.delete_queue(ds, "q") == 3 and lq.queue_names(ds) == []
    assert len(annotations.annotations_frame(ds)) == 1  # answers outlive their queue


def test_bad_input_names_the_problem(ds):
    ids = ds.limit(2).values("id")
    lq.create_queue(ds, "q", ids)
    with pytest.raises(ValueError, match="already has a labeling queue"):
        lq.create_queue(ds, "q", ids)
    with pytest.raises(ValueError, match="overlap"):
        lq.create_queue(ds, "r", ids, labels_per_sample=2, overlap=1.5)
    with pytest.raises(ValueError, match="empty"):
        lq.create_queue(ds, "r", [])
    with pytest.raises(ValueError, match="not in"):
        lq.create_queue(ds, "r", ids + ["0" * 24])
    with pytest.raises(KeyError, match="no labeling queue 'nope'"):
        lq.next_item(ds, "nope", "alice")
    with pytest.raises(ValueError, match="name"):
        lq.next_item(ds, "q", "  ")
    with pytest.raises(ValueError, match="Unknown class"):
        lq.submit(ds, "q", "alice", ids[0], "eleven", seconds=1.0)
    assert lq.queue_progress(ds, "q")["answers"] == 0


def test_two_labelers_at_once_never_get_the_same_single_item(ds):
    ids = ds.limit(20).values("id")
    lq.create_queue(ds, "race", ids)
    got: dict[str, list[str]] = {"alice": [], "bob": []}

    def work(labeler):
        while (sid := lq.next_item(ds, "race", labeler)) is not None:
            lq.submit(ds, "race", labeler, sid, "1", seconds=0.1)
            got[labeler].append(sid)

    threads = [threading.Thread(target=work, args=(name,)) for name in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got["alice"] + got["bob"]) == sorted(ids)
    assert lq.queue_progress(ds, "race")["done"] == 20


def test_a_name_in_another_case_is_the_same_labeler(ds):
    """ "Alice", " alice " and "ALICE" are one person: she cannot answer a double-labeled item twice."""
    ids = ds.values("id")[:1]
    truth = dict(zip(ds.values("id"), ds.values("ground_truth.label")))
    lq.create_queue(ds, "cased", ids, labels_per_sample=2, overlap=1.0, seed=0)
    sid = lq.next_item(ds, "cased", "Alice")
    assert sid == ids[0]
    lq.submit(ds, "cased", "Alice", sid, truth[sid], seconds=1.0)
    assert lq.next_item(ds, "cased", " alice ") is None and lq.next_item(ds, "cased", "ALICE") is None
    assert lq.next_item(ds, "cased", "bob") == sid
    assert set(sda2.annotation_records(ds)["annotator"]) == {"alice"}
