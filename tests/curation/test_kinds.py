"""The write path's vocabularies are enums whose members are the stored strings; a blank name is refused."""

from __future__ import annotations

import pytest

from sda2.curation import audit, edits, gold, queue as lq, review_stage
from sda2.curation.annotations import record_annotation
from sda2.curation.kinds import Decision, ItemStatus, Mark, QueueMode, ReviewDecision, tag_field, tag_name
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    return private_copy(digits, dataset_name, limit=6)


def test_members_are_the_strings_stored_before():
    assert [m.value for m in ItemStatus] == ["open", "done", "disputed", "conflict", "changed", "review", "rework"]
    assert [m.value for m in QueueMode] == ["label", "review"]
    assert [m.value for m in Decision] == ["accept", "relabel", "keep", "ambiguous", "exclude"]
    assert [m.value for m in ReviewDecision] == ["accept", "reject"]
    assert Mark.EXCLUDED.field == "tags:excluded" and type(Mark.EXCLUDED.field) is str
    assert tag_field("고양이") == "tags:고양이" and tag_name("tags:고양이") == "고양이" and tag_name("ground_truth") is None
    assert ItemStatus("done") is ItemStatus.DONE and ItemStatus.DONE == "done"
    assert lq.STATUSES == tuple(s.value for s in ItemStatus) and edits.MARKS == ("reviewed", "ambiguous", "excluded")


def test_members_and_strings_write_the_same_documents(ds):
    a, b, c = ds.values("id")[:3]
    edits.mark(ds, [a], Mark.AMBIGUOUS, "alice")
    edits.mark(ds, [b], "ambiguous", "alice")
    edits.review(ds, c, Decision.EXCLUDE, "alice")
    log = audit.audit_log(ds)
    assert set(log["field"]) == {"tags:ambiguous", "tags:reviewed", "tags:excluded"}
    assert all(type(f) is str for f in log["field"])
    assert set(log.loc[log["sample_id"] == c, "reason"]) == {"exclude"}
    assert set(ds.match_tags("ambiguous").values("id")) == {a, b}
    lq.create_queue(ds, "q", [a, b], mode=QueueMode.LABEL)
    assert lq.get_queue(ds, "q")["mode"] == "label" and type(lq.get_queue(ds, "q")["mode"]) is str
    sid = lq.next_item(ds, "q", "bob")
    outcome = lq.submit(ds, "q", "bob", sid, "4", seconds=1.0)
    assert outcome.status == ItemStatus.DONE == "done"
    assert lq.items_frame(ds, "q")["status"].map(type).eq(str).all()  # read back as plain strings
    assert lq.queue_progress(ds, "q")[ItemStatus.DONE] == 1


def test_unknown_values_name_the_choices(ds):
    sid = ds.first().id
    with pytest.raises(ValueError, match="Unknown mark 'starred'. Fix: use one of reviewed, ambiguous, excluded"):
        edits.mark(ds, [sid], "starred", "alice")
    with pytest.raises(ValueError, match="Unknown decision 'maybe'. Fix: use one of accept, relabel"):
        edits.review(ds, sid, "maybe", "alice")
    lq.create_queue(ds, "r", [sid], review="all")
    with pytest.raises(ValueError, match="Unknown review decision 'ok'. Fix: use one of accept, reject"):
        review_stage.review_answer(ds, "r", sid, "rita", "ok")
    with pytest.raises(ValueError, match="Unknown queue mode 'grade'"):
        lq.create_queue(ds, "s", [sid], mode="grade")


@pytest.mark.parametrize("blank", ["", " \t "], ids=["empty", "spaces"])
def test_a_blank_name_is_refused_where_an_action_is_attributed(ds, blank):
    sid = ds.first().id
    lq.create_queue(ds, "q", [sid], review="all")
    calls = [lambda: edits.set_label(ds, sid, "3", blank), lambda: edits.mark(ds, [sid], "reviewed", blank),
             lambda: edits.tag(ds, [sid], "later", blank), lambda: edits.undo_last(ds, blank),
             lambda: lq.next_item(ds, "q", blank), lambda: lq.submit(ds, "q", blank, sid, "3", seconds=1.0),
             lambda: record_annotation(ds, sid, blank, "3", 1.0), lambda: gold.set_gold(ds, {sid: "3"}, blank),
             lambda: review_stage.next_review(ds, "q", blank)]
    for call in calls:
        with pytest.raises(ValueError, match=r"name.*Fix: pass"):
            call()
    assert len(audit.audit_log(ds)) == 0
