"""kill -9 a computed write-back midway: readers never see half the samples scored, recovery clears them.

``detect_label_issues`` and ``detect_duplicates`` record a pending FiftyOne run before writing and
complete it after. A real subprocess is killed with SIGKILL between write batches or after the last field;
a fresh process then opens the dataset: the half-written fields are gone (values and schema), the run is
gone, pages' check (``queries.has_fields``) says "not computed", and a recompute works.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from sda2 import arrays, runs, store
from sda2.compute import duplicates, label_issues
from sda2.curation import queries
from sda2.ingest import Record, writer
from tests.faults.conftest import run_killed, run_python

N = 6_000  # more than label_issues.BATCH: the write-back takes two batches

COMPUTE = """
import numpy as np
from sda2 import store
from sda2.compute import duplicates, label_issues
ds = store.open_dataset({name!r})
if {what!r} == "label_issues":
    label_issues.detect_label_issues(ds)
else:
    duplicates.detect_duplicates(ds, np.random.default_rng(0).normal(size=(len(ds), 8)), exact=False,
                                 verify=False, progress=False)
print("finished")
"""

AFTER_RESTART = """
import json
from sda2 import runs, store
from sda2.compute import duplicates, label_issues
from sda2.curation import queries
ds = store.open_dataset({name!r})
fields = list(label_issues.FIELDS) + list(duplicates.FIELDS)
print("RESULT" + json.dumps({{
    "written": {{f: ds._sample_collection.count_documents({{f: {{"$exists": True}}}}) for f in fields}},
    "schema": sorted(set(fields) & set(ds.get_field_schema())),
    "runs": {{key: runs.state(ds, key) for key in (label_issues.RUN_KEY, duplicates.RUN_KEY)}},
    "info": sorted(set(ds.info) & {{label_issues.RUN_KEY, duplicates.RUN_KEY}}),
    "label_issues_shown": queries.has_fields(ds, queries.LABEL_ISSUE_FIELDS),
    "duplicates_shown": queries.has_fields(ds, queries.DUPLICATE_FIELDS)}}))
"""


@pytest.fixture
def scored(tmp_path, dataset_name):
    """N samples (one tiny PNG), labels a/b, and stored class probabilities that disagree with a tenth of them."""
    path = tmp_path / "one.png"
    Image.new("L", (4, 3), 9).save(path)
    labels = ["a" if i % 2 else "b" for i in range(N)]
    writer.write_dataset(dataset_name, [Record(str(path), label) for label in labels], "classification",
                         classes=["a", "b"])
    ds = store.open_dataset(dataset_name)
    ids, given = ds.values("id"), ds.values("ground_truth.label")
    probs = np.array([[0.9, 0.1] if g == "a" else [0.1, 0.9] for g in given])
    probs[::10] = probs[::10, ::-1]
    arrays.save(ds, "probabilities", ids, probs, classes=["a", "b"])
    return ds


def _after_restart(name: str) -> dict:
    proc = run_python(AFTER_RESTART.format(name=name))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


NOTHING = {"schema": [], "runs": {label_issues.RUN_KEY: None, duplicates.RUN_KEY: None}, "info": [],
           "label_issues_shown": False, "duplicates_shown": False}


def _nothing_left(found: dict) -> None:
    assert set(found["written"].values()) == {0}, found["written"]
    assert {k: found[k] for k in NOTHING} == NOTHING


@pytest.mark.parametrize("what,point", [
    ("label_issues", "compute.write_fields.batch"),
    ("label_issues", "compute.label_issues.written"),
    ("duplicates", "compute.write_fields.batch"),
    ("duplicates", "compute.duplicates.written"),
])
def test_write_back_killed_midway_is_cleared_on_the_next_open(scored, what, point):
    run_killed(COMPUTE.format(name=scored.name, what=what), point)
    key = label_issues.RUN_KEY if what == "label_issues" else duplicates.RUN_KEY
    assert runs.state(scored, key) == "interrupted"  # the run says so before anyone recovers
    assert not queries.has_fields(store.open_dataset(scored.name), queries.LABEL_ISSUE_FIELDS + queries.DUPLICATE_FIELDS)
    _nothing_left(_after_restart(scored.name))


def test_a_killed_rerun_also_clears_the_earlier_complete_result_and_a_recompute_restores_it(scored):
    label_issues.detect_label_issues(scored)
    assert runs.state(scored, label_issues.RUN_KEY) == "complete"
    run_killed(COMPUTE.format(name=scored.name, what="label_issues"), "compute.write_fields.batch")
    _nothing_left(_after_restart(scored.name))
    proc = run_python(COMPUTE.format(name=scored.name, what="label_issues"))
    assert proc.returncode == 0 and "finished" in proc.stdout, proc.stderr[-3000:]
    found = _after_restart(scored.name)
    assert found["runs"][label_issues.RUN_KEY] == "complete" and found["label_issues_shown"] is True
    assert {f: found["written"][f] for f in label_issues.FIELDS} == {f: N for f in label_issues.FIELDS}


def test_a_run_still_being_written_is_not_shown_and_not_cleared(scored):
    """Readers treat a pending run of a live writer as absent; recovery leaves it to its writer."""
    label_issues.detect_label_issues(scored)
    runs.begin(scored, label_issues.RUN_KEY, label_issues.FIELDS, info_key=label_issues.RUN_KEY)
    found = _after_restart(scored.name)
    assert found["runs"][label_issues.RUN_KEY] == "running" and found["label_issues_shown"] is False
    assert {f: found["written"][f] for f in label_issues.FIELDS} == {f: N for f in label_issues.FIELDS}
    runs.complete(scored, label_issues.RUN_KEY)
    assert _after_restart(scored.name)["label_issues_shown"] is True
