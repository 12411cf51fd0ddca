"""Queue answers that would change an existing label wait for a curator (review_changes), on a real database."""

from __future__ import annotations

import pytest

from sda2.curation import audit
from sda2.curation import queue as lq
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 6 digits, the sixth without a label."""
    copy = private_copy(digits, dataset_name, 6)
    last = copy.skip(5).first()
    last.ground_truth = None
    last.save()
    return copy


def _label(ds, sid):
    return ds.select(sid).values("ground_truth.label")[0]


def _other(label: str) -> str:
    return str((int(label) + 3) % 10)


def test_agreeing_labelers_who_change_a_six_wait_for_the_curator(ds):
    ids = ds.values("id")
    old = {sid: _label(ds, sid) for sid in ids}
    lq.create_queue(ds, "pair", ids, labels_per_sample=2, overlap=1.0, review_changes=True)
    answers = {ids[0]: _other(old[ids[0]]), ids[1]: old[ids[1]], ids[5]: "4"}  # change / confirm / new label
    for labeler in ("alice", "bob"):
        while (sid := lq.next_item(ds, "pair", labeler)) is not None:
            lq.submit(ds, "pair", labeler, sid, answers.get(sid, old[sid]), seconds=1.0)
    assert _label(ds, ids[0]) == old[ids[0]]  # not replaced quietly
    assert _label(ds, ids[5]) == "4"  # a sample without a label gets the answer at once
    counts = lq.queue_progress(ds, "pair")
    assert (counts["changed"], counts["done"], counts["disputed"]) == (1, 5, 0)
    (row,) = lq.disagreements(ds, "pair").itertuples()
    assert (row.sample_id, row.status, row.current_label, row.proposed) == (ids[0], "changed", old[ids[0]],
                                                                           answers[ids[0]])
    assert row.answers == {"alice": answers[ids[0]], "bob": answers[ids[0]]}
    assert "confirm" in row.message
    assert not audit.find(ds, sample_id=ids[0])  # nothing written for it yet

    lq.adjudicate(ds, "pair", ids[0], answers[ids[0]], "carol")  # the curator confirms the change
    assert _label(ds, ids[0]) == answers[ids[0]]
    (entry,) = audit.find(ds, sample_id=ids[0])
    assert entry["annotator"] == "carol" and entry["old"] == old[ids[0]]
    assert lq.queue_progress(ds, "pair")["changed"] == 0


def test_the_curator_may_keep_the_old_label_and_plain_queues_write_as_before(ds):
    ids = ds.values("id")
    old = _label(ds, ids[0])
    lq.create_queue(ds, "checked", ids[:1], review_changes=True)
    assert lq.submit(ds, "checked", "alice", lq.next_item(ds, "checked", "alice"), _other(old), 1.0).status == "changed"
    lq.adjudicate(ds, "checked", ids[0], old, "carol")
    assert _label(ds, ids[0]) == old and lq.queue_progress(ds, "checked")["done"] == 1
    lq.create_queue(ds, "plain", ids[1:2])  # without review_changes: written at once, as before
    old1 = _label(ds, ids[1])
    assert lq.submit(ds, "plain", "alice", ids[1], _other(old1), 1.0).status == "done"
    assert _label(ds, ids[1]) == _other(old1)
