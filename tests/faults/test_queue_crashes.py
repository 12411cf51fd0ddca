"""kill -9 a queue submit while it resolves the item: the next touch of the queue finishes the resolution.

A real subprocess submits the answer and is killed with SIGKILL after claiming the item (before the label
is written) or after the label is written (before the item records it). A fresh process then touches the
queue (progress, next item, or the adjudication list): the item is done, the label is the answer, and the
audit log holds exactly one applied entry for it (never a duplicate write, never a false conflict).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from sda2 import liveness
from sda2.curation import annotations
from sda2.curation import queue as lq
from tests.faults.conftest import run_killed, run_python
from tests.conftest import private_copy

SUBMIT = """
from sda2 import store
from sda2.curation import queue as lq
ds = store.open_dataset({name!r})
print(lq.submit(ds, "q", "alice", {sample_id!r}, {label!r}, seconds=1.0))
"""

TOUCH = """
import json
from sda2 import store
from sda2.curation import audit
from sda2.curation import queue as lq
ds = store.open_dataset({name!r})
touch = {touch!r}
if touch == "progress":
    lq.queue_progress(ds, "q")
elif touch == "next_item":
    lq.next_item(ds, "q", "bob")
else:
    lq.disagreements(ds, "q")
items = lq.items_frame(ds, "q").set_index("sample_id")
sid = {sample_id!r}
log = audit.audit_log(ds, sample_id=sid)
print("RESULT" + json.dumps({{
    "status": items.loc[sid, "status"], "resolved": items.loc[sid, "resolved"],
    "label": ds[sid].ground_truth.label, "entries": len(log[log["field"] == "ground_truth"]),
    "stuck": lq.stuck(ds, "q", legacy=True)}}))
"""


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 6 digits with a single-answer queue "q" over them."""
    copy = private_copy(digits, dataset_name, 6)
    lq.create_queue(copy, "q", copy.values("id"), created_by="lead")
    return copy


def _touch(name: str, touch: str, sample_id: str) -> dict:
    proc = run_python(TOUCH.format(name=name, touch=touch, sample_id=sample_id))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def _answer_for(ds, sample_id: str) -> str:
    return str((int(ds[sample_id].ground_truth.label) + 1) % 10)


@pytest.mark.parametrize("point,touch", [
    ("queue.resolve.claimed", "progress"),
    ("queue.resolve.claimed", "disagreements"),
    ("queue.resolve.written", "next_item"),
    ("queue.resolve.written", "progress"),
])
def test_submit_killed_while_resolving_is_finished_by_the_next_touch(ds, point, touch):
    sample_id = ds.values("id")[0]
    answer = _answer_for(ds, sample_id)
    run_killed(SUBMIT.format(name=ds.name, sample_id=sample_id, label=answer), point)
    items = annotations.collection(ds, lq.ITEMS)
    assert items.find_one({"sample_id": sample_id})["status"] == "open"  # the kill left it unresolved
    found = _touch(ds.name, touch, sample_id)
    assert (found["status"], found["resolved"], found["label"]) == ("done", answer, answer)
    assert found["entries"] == 1 and found["stuck"] == []


def test_a_claim_held_by_a_live_resolver_is_respected_until_it_expires(ds):
    sample_id = ds.values("id")[1]
    answer = _answer_for(ds, sample_id)
    items = annotations.collection(ds, lq.ITEMS)
    now = datetime.now(timezone.utc)
    annotations.record_annotation(ds, sample_id, "alice", answer, 1.0, queue="q", field="ground_truth",
                                  queue_id=str(lq.get_queue(ds, "q")["_id"]))
    items.update_one({"sample_id": sample_id}, {"$set": {  # this (live) process answered and holds the claim
        "answered_by": ["alice"], "due": now, "resolving": {"until": now + lq.RESOLVING, "owner": liveness.owner()}}})
    found = _touch(ds.name, "progress", sample_id)
    assert found["status"] == "open" and found["stuck"] == []
    items.update_one({"sample_id": sample_id}, {"$set": {"resolving.until": now - timedelta(seconds=1)}})
    found = _touch(ds.name, "progress", sample_id)
    assert (found["status"], found["label"], found["entries"]) == ("done", answer, 1)


def test_an_item_stuck_by_an_old_version_is_found_and_resolved(ds):
    """Before claims expired, a killed resolver left ``resolving: True`` for ever; doctor finds those."""
    sample_id = ds.values("id")[2]
    answer = _answer_for(ds, sample_id)
    annotations.record_annotation(ds, sample_id, "alice", answer, 1.0, queue="q", field="ground_truth",
                                  queue_id=str(lq.get_queue(ds, "q")["_id"]))
    annotations.collection(ds, lq.ITEMS).update_one({"sample_id": sample_id},
                                                    {"$set": {"answered_by": ["alice"], "resolving": True}})
    assert lq.stuck(ds, "q", legacy=True) == [sample_id]
    assert [s.status for s in lq.settle(ds, "q")] == []  # the quick check (every touch) does not scan for them
    assert lq.queue_progress(ds, "q")["open"] == 6
    outcome = lq.settle(ds, "q", legacy=True)
    assert [(o.status, o.label) for o in outcome] == [("done", answer)]
    assert lq.stuck(ds, "q", legacy=True) == [] and ds[sample_id].ground_truth.label == answer


def test_a_lease_of_a_vanished_labeler_expires(ds):
    """Leases already expire: an item leased to someone who never came back goes to the next labeler."""
    first = lq.next_item(ds, "q", "carol")
    assert lq.next_item(ds, "q", "dave") != first  # leased to carol
    annotations.collection(ds, lq.ITEMS).update_one(
        {"sample_id": first}, {"$set": {"leases.0.until": datetime.now(timezone.utc) - timedelta(seconds=1)}})
    assert lq.next_item(ds, "q", "erin") == first
