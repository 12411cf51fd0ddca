"""kill -9 inside a bulk relabel / tag: after the next open reconciles, data == audit log, and undo restores."""

from __future__ import annotations

import pytest

from sda2 import store
from sda2.curation import audit, bulk
from tests.conftest import private_copy
from tests.faults.audit_check import REOPEN, check, snapshot
from tests.faults.conftest import run_killed, run_python

N = 30

BULK = """
import sda2
from sda2.curation import edits
edits.WRITE_CHUNK = 10
ds = sda2.open_dataset({name!r})
sda2.bulk_relabel(ds, ds.values("id"), "7", "Alice")
sda2.bulk_tag(ds, ds.values("id"), "check", "Alice")
print("DONE")
"""


@pytest.mark.parametrize("point, after", [("edits.after_chunk", 1), ("edits.before_settle", 1)])
def test_bulk_killed_then_reconciled_and_undone(digits, dataset_name, point, after):
    private_copy(digits, dataset_name, N)
    before = snapshot(dataset_name, ("ground_truth", "tags:check"))
    run_killed(BULK.format(name=dataset_name), point, after)
    proc = run_python(REOPEN.format(name=dataset_name))
    assert proc.returncode == 0 and int(proc.stdout.split("PENDING")[-1]) == 0, proc.stderr[-3000:]
    report = check(dataset_name, before)
    assert report["problems"] == []
    ds = store.open_dataset(dataset_name)
    for batch in audit.audit_log(ds)["batch_id"].unique():
        bulk.undo_bulk(ds, batch, "alice")
    assert snapshot(dataset_name, ("ground_truth", "tags:check")) == before
