"""The edit path on a real database: set / undo round trips, batches, marks, conflicts, two writers at once."""

from __future__ import annotations

import threading
from datetime import datetime

import pytest
from bson import ObjectId

import fiftyone as fo
from sda2 import store
from sda2.curation import audit, edits, queries
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of the digits dataset."""
    return private_copy(digits, dataset_name)


def _stored(ds, sample_id, field="ground_truth"):
    doc = ds._sample_collection.find_one({"_id": ObjectId(sample_id)})
    return doc[field]["label"], doc["last_modified_at"], doc["tags"]


def test_set_label_then_undo_round_trip(ds):
    sid = ds.first().id
    old, before, _ = _stored(ds, sid)
    new = "7" if old != "7" else "1"
    edit_id = edits.set_label(ds, sid, new, "alice", "stroke looks like a 7", expected_old=old)
    label, modified, _ = _stored(ds, sid)
    assert label == new and modified > before
    ds.reload()
    assert ds[sid].ground_truth.label == new  # FiftyOne itself reads the edit
    (entry,) = audit.find(ds, _id=ObjectId(edit_id))
    assert (entry["annotator"], entry["old"], entry["new"], entry["reason"], entry["field"], entry["undone"]) == \
        ("alice", old, new, "stroke looks like a 7", "ground_truth", False)
    assert isinstance(entry["at"], datetime)

    undo = edits.undo(ds, edit_id, "bob")
    assert _stored(ds, sid)[0] == old
    log = audit.audit_log(ds)
    assert list(log["kind"]) == ["undo", "label"] and list(log["undone"]) == [False, True]
    assert log.iloc[0]["undoes"] == edit_id and log.iloc[0]["annotator"] == "bob"
    assert log.iloc[1]["undone_by"] == undo.edit_ids[0]
    with pytest.raises(ValueError, match="undone already"):
        edits.undo(ds, edit_id, "bob")


def test_same_label_writes_nothing(ds):
    sid = ds.first().id
    assert edits.set_label(ds, sid, ds.first().ground_truth.label, "alice") is None
    assert audit.audit_log(ds).empty


def test_batch_shares_id_and_undoes_whole(ds):
    ids = ds.take(6, seed=1).values("id")
    labels = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label")))
    changes = {sid: str((int(lab) + 1) % 10) for sid, lab in labels.items()}
    result = edits.set_labels(ds, changes, "alice", "batch fix")
    assert len(result) == 6
    log = audit.audit_log(ds)
    assert set(log["batch_id"]) == {result.batch_id}
    assert dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label"))) == changes
    assert len(edits.undo(ds, result.batch_id, "alice")) == 6
    assert dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label"))) == labels
    assert audit.audit_log(ds)["undone"].sum() == 6


def test_stale_write_is_rejected_with_current_value_and_who(ds):
    sid = ds.first().id
    old = ds.first().ground_truth.label
    edits.set_label(ds, sid, "5", "alice", "first look", expected_old=old)
    with pytest.raises(edits.EditConflict, match=r"is now '5', set by alice .*\(first look\)") as info:
        edits.set_label(ds, sid, "6", "bob", expected_old=old)
    assert info.value.conflicts[0].current == "5" and info.value.applied == 0
    assert _stored(ds, sid)[0] == "5"
    assert len(audit.audit_log(ds)) == 1


def test_undo_is_conflict_checked(ds):
    sid = ds.first().id
    old = ds.first().ground_truth.label
    first = edits.set_label(ds, sid, "5", "alice", expected_old=old)
    edits.set_label(ds, sid, "6", "bob", "it is a 6", expected_old="5")
    with pytest.raises(edits.EditConflict, match="is now '6', set by bob"):
        edits.undo(ds, first, "alice")
    assert _stored(ds, sid)[0] == "6"


def test_batch_skip_mode_writes_the_rest(ds):
    a, b = ds.limit(2).values("id")
    old_b = ds[b].ground_truth.label
    edits.set_label(ds, a, "9", "bob")
    result = edits.set_labels(ds, [(a, "8", "not what is stored"), (b, "8", old_b)], "alice",
                              on_conflict="skip")
    assert len(result) == 1 and result.conflicts[0].sample_id == a and result.conflicts[0].set_by == "bob"
    assert (_stored(ds, a)[0], _stored(ds, b)[0]) == ("9", "8")


def test_two_concurrent_writers_exactly_one_wins(ds):
    sid = ds.first().id
    names = {"alice": "2", "bob": "3"}
    for round_ in range(12):
        seen = _stored(ds, sid)[0]
        barrier = threading.Barrier(2)
        outcome = {}

        def write(name, label):
            barrier.wait()
            try:
                outcome[name] = edits.set_label(ds, sid, label, name, f"round {round_}", expected_old=seen)
            except edits.EditConflict as exc:
                outcome[name] = exc

        threads = [threading.Thread(target=write, args=item) for item in names.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [n for n, o in outcome.items() if isinstance(o, str)]
        losers = [n for n, o in outcome.items() if isinstance(o, edits.EditConflict)]
        assert len(winners) == 1 and len(losers) == 1, outcome
        stored = _stored(ds, sid)[0]
        assert stored == names[winners[0]]
        assert f"is now '{stored}', set by {winners[0]}" in str(outcome[losers[0]])
        # reset for the next round without a third party: the winner undoes
        edits.undo(ds, outcome[winners[0]], winners[0])
    log = audit.audit_log(ds)
    assert (log["kind"] == "label").sum() == 12  # one logged win per round, no lost update


def test_marks_exclude_from_training_and_undo(ds):
    sid = ds.first().id
    result = edits.review(ds, sid, "exclude", "alice")
    assert set(_stored(ds, sid)[2]) == {"reviewed", "excluded"}
    assert len(queries.training_view(ds)) == len(ds) - 1 and sid not in queries.training_view(ds).values("id")
    assert len(edits.mark(ds, [sid], "excluded", "bob")) == 0  # already marked: nothing to write or log
    edits.undo(ds, result.batch_id, "alice")
    assert _stored(ds, sid)[2] == [] and len(queries.training_view(ds)) == len(ds)


def test_review_accept_relabels_and_marks_in_one_batch(ds):
    sid = ds.first().id
    old = ds.first().ground_truth.label
    result = edits.review(ds, sid, "accept", "alice", new_label="4" if old != "4" else "5", expected_old=old)
    assert len(result) == 2 and _stored(ds, sid)[2] == ["reviewed"]
    assert edits.undo_last(ds, "alice").batch_id != result.batch_id
    assert _stored(ds, sid)[0] == old and _stored(ds, sid)[2] == []
    assert edits.undo_last(ds, "alice") is None  # an undo is not itself undone by "undo last"


def test_resolve_group_excludes_all_but_kept(ds):
    ids = ds.limit(3).values("id")
    edits.resolve_group(ds, ids, [ids[1]], "alice")
    tags = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("tags")))
    assert tags[ids[1]] == ["reviewed"] and set(tags[ids[0]]) == set(tags[ids[2]]) == {"reviewed", "excluded"}
    with pytest.raises(ValueError, match="keep_ids must be members"):
        edits.resolve_group(ds, ids[:2], [ids[2]], "alice")


def test_bad_input_is_refused_and_nothing_written(ds):
    sid = ds.first().id
    with pytest.raises(ValueError, match="Unknown class name.*'cat'"):
        edits.set_label(ds, sid, "cat", "alice")
    with pytest.raises(ValueError, match="annotator"):
        edits.set_label(ds, sid, "3", " ")
    with pytest.raises(ValueError, match="Not a sample id"):
        edits.set_label(ds, "nope", "3", "alice")
    with pytest.raises(ValueError, match="No sample"):
        edits.set_label(ds, "0" * 24, "3", "alice")
    with pytest.raises(ValueError, match="Unknown mark"):
        edits.mark(ds, [sid], "deleted", "alice")
    assert audit.audit_log(ds).empty


def test_multilabel_set_and_undo(dataset_name, digits):
    ds = fo.Dataset(dataset_name, persistent=True)
    ds.add_sample(fo.Sample(filepath=digits.first().filepath,
                            ground_truth=fo.Classifications(classifications=[fo.Classification(label="cat")])))
    ds.default_classes = ["cat", "dog", "outdoor"]
    sid = ds.first().id
    edit_id = edits.set_label(ds, sid, ["outdoor", "dog"], "alice", expected_old=["cat"])
    ds.reload()
    assert sorted(c.label for c in ds.first().ground_truth.classifications) == ["dog", "outdoor"]
    with pytest.raises(edits.EditConflict, match=r"now \['dog', 'outdoor'\]"):
        edits.set_label(ds, sid, ["dog"], "bob", expected_old=["cat"])
    edits.undo(ds, edit_id, "alice")
    ds.reload()
    assert [c.label for c in ds.first().ground_truth.classifications] == ["cat"]


def test_edit_ids_on_the_sample_and_fiftyone_reads_it(ds):
    sid = ds.first().id
    edit_id = edits.set_label(ds, sid, "3" if ds.first().ground_truth.label != "3" else "4", "alice")
    ds.reload()
    assert ds[sid][audit.EDIT_IDS_FIELD] == [edit_id]  # FiftyOne loads and shows the declared field
    assert ds.values(audit.EDIT_IDS_FIELD).count(None) == len(ds) - 1
    assert ds.clone().first().ground_truth is not None  # cloning a dataset with the field works


def test_writes_are_journaled(ds):
    concern = store.durable(audit.collection(ds)).write_concern.document
    assert concern["j"] is True


def test_no_expectation_never_conflicts_and_logs_what_it_replaced(ds):
    sid = ds.first().id
    errors, barrier = [], threading.Barrier(4)

    def write(name, label):
        barrier.wait()
        for _ in range(5):
            try:
                edits.set_label(ds, sid, label, name, "no expectation")
            except Exception as exc:  # noqa: BLE001  (any error fails the test below)
                errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"w{k}", str(k))) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stored = ds._sample_collection.find_one({"_id": ObjectId(sid)})
    chain = [audit.find(ds, _id=ObjectId(e))[0] for e in stored[audit.EDIT_IDS_FIELD]]
    assert all(a["new"] == b["old"] for a, b in zip(chain, chain[1:]))  # each replaced what was there
    assert chain[-1]["new"] == stored["ground_truth"]["label"]


def test_annotator_names_are_one_person_however_typed(ds):
    sid = ds.first().id
    old = ds.first().ground_truth.label
    edits.set_label(ds, sid, "3" if old != "3" else "4", "  Alice ", "x")
    log = audit.audit_log(ds, annotator="ALICE")
    assert len(log) == 1 and log.iloc[0]["annotator"] == "Alice"
    assert len(edits.undo_last(ds, "alice")) == 1 and _stored(ds, sid)[0] == old


@pytest.mark.parametrize("call", [
    lambda ds, sid, who: edits.set_label(ds, sid, "3", who),
    lambda ds, sid, who: edits.set_labels(ds, {sid: "3"}, who),
    lambda ds, sid, who: edits.mark(ds, [sid], "reviewed", who),
    lambda ds, sid, who: edits.tag(ds, [sid], "check", who),
    lambda ds, sid, who: edits.review(ds, sid, "keep", who),
    lambda ds, sid, who: edits.undo_last(ds, who),
    lambda ds, sid, who: __import__("sda2").save_thresholds(ds, {"3": 0.5}, annotator=who),
], ids=["set_label", "set_labels", "mark", "tag", "review", "undo_last", "save_thresholds"])
def test_a_blank_annotator_is_refused_everywhere(ds, call):
    for who in ("", "   ", None):
        with pytest.raises(ValueError, match="annotator's name"):
            call(ds, ds.first().id, who)
    assert audit.audit_log(ds).empty


def test_tags_are_audited_and_undoable(ds):
    ids = ds.limit(3).values("id")
    result = edits.tag(ds, ids, " check-later ", "alice", "odd strokes")
    assert len(result) == 3 and len(ds.match_tags("check-later")) == 3
    assert set(audit.audit_log(ds)["kind"]) == {"tag"}
    assert len(edits.tag(ds, ids, "check-later", "bob")) == 0  # already tagged: nothing written or logged
    assert len(edits.untag(ds, ids[:1], "check-later", "bob")) == 1
    assert len(ds.match_tags("check-later")) == 2
    edits.undo_last(ds, "bob")
    edits.undo_last(ds, "alice")
    assert len(ds.match_tags("check-later")) == 0
    with pytest.raises(ValueError, match="tag needs a name"):
        edits.tag(ds, ids, " ", "alice")


def test_undo_last_names_a_batch_it_cannot_undo_and_can_pass_it(ds):
    a, b = ds.limit(2).values("id")
    old_a, old_b = ds[a].ground_truth.label, ds[b].ground_truth.label
    first = edits.set_label(ds, b, "3" if old_b != "3" else "4", "alice")
    second = edits.set_labels(ds, {a: "5" if old_a != "5" else "6"}, "alice").batch_id
    edits.set_label(ds, a, "7" if old_a != "7" else "8", "bob")  # bob changed alice's last edit
    for _ in range(2):  # the same answer each time, no endless retry
        with pytest.raises(edits.EditConflict, match=f"Cannot undo alice's last batch {second}.*skip=") as info:
            edits.undo_last(ds, "alice")
        assert info.value.batch_id == second
    result = edits.undo_last(ds, "alice", skip=[second])
    assert result.edit_ids and _stored(ds, b)[0] == old_b
    assert audit.find(ds, _id=ObjectId(first))[0]["undone"]


def test_duplicate_changes_in_one_batch_are_refused(ds):
    sid = ds.first().id
    with pytest.raises(ValueError, match="appears twice"):
        edits.set_labels(ds, [(sid, "3"), (sid, "4")], "alice")
    assert audit.audit_log(ds).empty
