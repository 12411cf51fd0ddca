"""kill -9 a review decision before or while its label is written: nothing is lost, the state stays consistent.

A real subprocess accepts an answer and is killed with SIGKILL right after the decision is stored (before the
label write) or after the label was written (before the item records it). Then ``sda2 doctor``'s queue repair
(``settle(legacy=True)``) runs, or the queue is simply touched: the item is done, the label is the accepted answer,
the decision is recorded once and the audit log holds exactly one applied entry.
"""

from __future__ import annotations

import pytest

from sda2.curation import audit, queue as lq, review_stage as rs
from tests.conftest import private_copy
from tests.faults.conftest import run_killed

DECIDE = """
from sda2 import store
from sda2.curation import review_stage as rs
ds = store.open_dataset({name!r})
print(rs.review_answer(ds, "q", {sample_id!r}, "rita", {decision!r}, reason={reason!r}))
"""

@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 3 digits in a queue with review of every item, each answered by alice (wrongly)."""
    copy = private_copy(digits, dataset_name, 3)
    lq.create_queue(copy, "q", copy.values("id"), review="all", created_by="lead")
    for sid, label in zip(copy.values("id"), copy.values("ground_truth.label")):
        assert lq.submit(copy, "q", "alice", sid, str((int(label) + 1) % 10), 1.0).status == "review"
    return copy


def _recover(ds, sample_id: str, doctor: bool) -> dict:
    """Recover in this process (the killed one is gone): ``sda2 doctor``'s queue repair, or a touch of the queue."""
    if doctor:
        lq.settle(ds, "q", legacy=True)
    else:
        lq.queue_progress(ds, "q")
    items = lq.items_frame(ds, "q").set_index("sample_id")
    log = audit.audit_log(ds, sample_id=sample_id)
    ds.reload()
    return {"status": items.loc[sample_id, "status"], "label": ds[sample_id].ground_truth.label,
            "entries": len(log[log["field"] == "ground_truth"]), "decisions": rs.review_summary(ds, "q")["decisions"],
            "rework": list(rs.rework_items(ds, "q", "alice")["reason"]), "stuck": lq.stuck(ds, "q", legacy=True)}


@pytest.mark.parametrize("crash_at,doctor", [("review.decided", True), ("queue.resolve.written", False)])
def test_an_accept_killed_before_its_label_is_recorded_is_finished_on_recovery(ds, crash_at, doctor):
    sid = ds.values("id")[0]
    answer = str((int(ds[sid].ground_truth.label) + 1) % 10)
    run_killed(DECIDE.format(name=ds.name, sample_id=sid, decision="accept", reason=None), crash_at)
    state = _recover(ds, sid, doctor)
    assert state == {"status": "done", "label": answer, "entries": 1, "decisions": 1, "rework": [], "stuck": []}
