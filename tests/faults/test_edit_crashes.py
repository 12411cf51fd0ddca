"""kill -9 inside the edit path: after the next open reconciles, data == audit log exactly, and undo works."""

from __future__ import annotations

import json

import fiftyone as fo
import fiftyone.core.odm as foo
import pytest

from sda2 import store
from sda2.curation import audit, edits, saved_thresholds
from tests.faults.audit_check import REOPEN, check, snapshot
from tests.faults.conftest import run_killed, run_python
from tests.conftest import private_copy

N = 40


@pytest.fixture
def small(digits, dataset_name):
    """40 digits of our own (the shared fixture is only read)."""
    private_copy(digits, dataset_name, N)
    return dataset_name


def reopen(name: str) -> int:
    """Open the dataset's log in a fresh process (it reconciles there); the pending entries left after."""
    proc = run_python(REOPEN.format(name=name))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return int(proc.stdout.split("PENDING")[-1])


SET_LABELS = """
import sda2
from sda2.curation import edits
edits.WRITE_CHUNK = 10
ds = sda2.open_dataset({name!r})
ids, labels = ds.values("id"), ds.values("ground_truth.label")
edits.set_labels(ds, {{i: str((int(l) + 1) % 10) for i, l in zip(ids, labels)}}, "Alice", "crash test",
                 on_conflict="skip")
print("DONE")
"""


@pytest.mark.parametrize("point, after", [("edits.after_record", 0), ("edits.after_chunk", 1),
                                          ("edits.after_write", 0), ("edits.before_settle", 0)])
def test_set_labels_killed_then_reconciled(small, point, after):
    before = snapshot(small)
    run_killed(SET_LABELS.format(name=small), point, after)
    raw = foo.get_db_conn()[audit.PREFIX + audit.dataset_id(store.open_dataset(small))]  # (no reconcile)
    assert raw.count_documents({"applied": False}) == N  # the write-ahead records, unconfirmed when it died
    assert reopen(small) == 0
    report = check(small, before)
    assert report["problems"] == []
    written = {"edits.after_record": 0, "edits.after_chunk": 20}.get(point, N)
    assert report["applied"] == report["changed_samples"] == written
    ds = store.open_dataset(small)
    result = edits.undo_last(ds, "alice")  # the same person, typed differently
    if written:
        assert len(result) == written
    else:
        assert result is None
    assert snapshot(small) == before
    assert check(small, before)["problems"] == []


def test_undo_killed_before_flagging_the_original(small):
    before = snapshot(small)
    ds = store.open_dataset(small)
    sid = ds.first().id
    first = edits.set_label(ds, sid, "3" if before[sid]["ground_truth"] != "3" else "4", "alice")
    run_killed(f"""
import sda2
from sda2.curation import edits
edits.undo_last(sda2.open_dataset({small!r}), "alice")
""", "edits.before_mark_undone")
    assert reopen(small) == 0
    assert check(small, before)["problems"] == []
    (entry,) = audit.find(ds, _id=__import__("bson").ObjectId(first))
    assert entry["undone"] and snapshot(small) == before
    assert edits.undo_last(ds, "alice") is None  # the undone batch is not offered again


AUTOLABEL = """
import sda2
from sda2.curation import autolabel, edits
edits.WRITE_CHUNK = 5
ds = sda2.open_dataset({name!r})
autolabel.apply(ds, scope="all", thresholds={{str(c): 0.5 for c in range(10)}})
print("DONE")
"""


def test_autolabel_killed_mid_batch(small):
    ds = store.open_dataset(small)
    truth = ds.values("ground_truth.label")
    ds.set_values("predictions", [fo.Classification(label=str((int(t) + 1) % 10), confidence=0.9) for t in truth])
    fields = ("ground_truth", "tags:auto_label", "auto_label_confidence")
    before = snapshot(small, fields)
    run_killed(AUTOLABEL.format(name=small), "edits.after_chunk", crash_after=2)
    assert reopen(small) == 0
    report = check(small, before)
    assert report["problems"] == []
    assert report["changed_samples"] == 15 and report["applied"] == 45  # 3 chunks of 5 samples, 3 changes each
    ds = store.open_dataset(small)
    tagged = ds.match_tags("auto_label")
    assert len(tagged) == 15 and None not in tagged.values("auto_label_confidence")
    assert len(edits.undo_last(ds, "auto-label")) == 45
    assert snapshot(small, fields) == before


@pytest.mark.parametrize("point", ["saved_thresholds.after_record", "saved_thresholds.before_settle"])
def test_threshold_save_killed(small, point):
    ds = store.open_dataset(small)
    saved_thresholds.save(ds, {"1": 0.5}, "alice")
    run_killed(f"""
import sda2
sda2.save_thresholds({small!r}, {{"2": 0.7}}, annotator="bob")
""", point)
    assert reopen(small) == 0
    log = audit.find(store.open_dataset(small), field="thresholds")
    stored = saved_thresholds.load(ds)
    assert log[0]["new"] == stored  # the newest applied entry holds what is stored
    assert stored == ({"1": 0.5} if point.endswith("after_record") else {"1": 0.5, "2": 0.7})
    assert len(log) == (1 if point.endswith("after_record") else 2)


def test_reconcile_leaves_a_live_writers_batch_alone(small):
    """A pending entry of a running process (lease valid) is not touched unless forced."""
    ds = store.open_dataset(small)
    sid = ds.first().id
    coll = audit.collection(ds)
    entry = {"_id": __import__("bson").ObjectId(), "sample_id": sid, "field": "ground_truth", "old": "0",
             "new": "5", "annotator": "x", "annotator_key": "x", "at": __import__("datetime").datetime.now(),
             "batch_id": "b", "kind": "label", "undone": False}
    audit.record(ds, [entry])
    counts = audit.reconcile(ds)
    assert counts["in_flight"] == 1 and coll.count_documents({"applied": False}) == 1
    counts = audit.reconcile(ds, force=True)
    assert counts["removed"] == 1 and coll.count_documents({}) == 0
    assert json.dumps(counts)
