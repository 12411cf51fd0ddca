"""kill -9 find_issues after an issue check's fields are written but before its run completes: the next
process to open the dataset sees no half-finished result (fields and run cleared), and a rerun works."""

from __future__ import annotations

import json

from tests.conftest import private_copy
from tests.faults.conftest import run_killed, run_python

FIND = """
import sda2
sda2.find_issues({name!r}, ["dark", "grayscale"], progress=False)
print("finished")
"""

AFTER = """
import json
from sda2 import store
from sda2.curation import queries
from sda2.issues import writer
ds = store.open_dataset({name!r})
fields = ["is_dark_issue", "dark_score", "is_grayscale_issue", "grayscale_score"]
print("RESULT" + json.dumps({{
    "written": {{f: ds._sample_collection.count_documents({{f: {{"$exists": True}}}}) for f in fields}},
    "schema": sorted(set(fields) & set(ds.get_field_schema())),
    "status": {{n: writer.status(ds, n) for n in ("dark", "grayscale")}},
    "shown": queries.has_fields(ds, ["is_dark_issue", "dark_score"])}}))
"""


def _state(name: str) -> dict:
    proc = run_python(AFTER.format(name=name))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def test_kill_after_the_fields_before_the_run_completes(digits, dataset_name):
    private_copy(digits, dataset_name, 30)
    run_killed(FIND.format(name=dataset_name), "issues.writer.written")
    after = _state(dataset_name)
    assert after == {"written": dict.fromkeys(["is_dark_issue", "dark_score", "is_grayscale_issue",
                                               "grayscale_score"], 0),
                     "schema": [], "status": {"dark": None, "grayscale": None}, "shown": False}
    proc = run_python(FIND.format(name=dataset_name))
    assert "finished" in proc.stdout, proc.stderr[-3000:]
    after = _state(dataset_name)
    assert after["written"] == dict.fromkeys(after["written"], 30)
    assert after["status"] == {"dark": "complete", "grayscale": "complete"} and after["shown"]
