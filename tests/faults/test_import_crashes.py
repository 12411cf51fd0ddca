"""kill -9 an import, an overwrite or an append at each named step: the next process finds it whole or gone.

Each case runs the import in a real subprocess killed with SIGKILL at a ``faults.point``; a second, fresh
process then lists the datasets (which runs recovery) and reports what it sees: the dataset has the old
or the new full sample count (never a part), no hidden ``.__incoming_`` / ``.__replaced_`` dataset and no
journal entry is left.
"""

from __future__ import annotations

import json

import pytest
from PIL import Image

from sda2 import store
from sda2.ingest import Record, writer
from tests.faults.conftest import run_killed, run_python

OLD, NEW = 30, 5_000  # NEW > 2 * writer.BATCH: a kill after the first batch leaves a partial insert behind

IMPORT = """
from sda2 import store
from sda2.ingest import Record, writer
records = [Record({path!r}, {label!r}) for _ in range({n})]
writer.write_dataset({name!r}, records, "classification", mode={mode!r})
print("finished")
"""

AFTER_RESTART = """
import json
import fiftyone as fo
import fiftyone.core.odm as foo
from sda2 import recovery, store
listed = store.list_datasets()
name = {name!r}
found = {{"listed": name in listed,
          "hidden": [n for n in fo.list_datasets() if n.startswith(name + ".__")],
          "journal": foo.get_db_conn()[recovery.JOURNAL].count_documents({{"target": name}})}}
if name in listed:
    ds = store.open_dataset(name)
    found["count"] = len(ds)
    found["labels"] = sorted(ds.distinct("ground_truth.label"))
    found["ids_unique"] = len(set(ds.values("id"))) == len(ds)
print("RESULT" + json.dumps(found))
"""


@pytest.fixture
def image(tmp_path) -> str:
    """One tiny PNG, used for every record (header checks are real, the file is read each time)."""
    path = tmp_path / "one.png"
    Image.new("L", (4, 3), 7).save(path)
    return str(path)


def _old_dataset(name: str, image: str) -> None:
    writer.write_dataset(name, [Record(image, "old") for _ in range(OLD)], "classification")


def _after_restart(name: str) -> dict:
    proc = run_python(AFTER_RESTART.format(name=name))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.split("RESULT", 1)[1])


def _kill_import(name: str, image: str, mode: str, point: str, after: int = 0) -> None:
    run_killed(IMPORT.format(path=image, label="new", n=NEW, name=name, mode=mode), point, after)


NEW_IMPORT_CASES = [  # (point, crash_after, expected count after restart: None = no dataset)
    ("writer.insert.batch", 1, None),
    ("writer.insert.done", 0, None),
    ("writer.commit.complete", 0, NEW),
]


@pytest.mark.parametrize("point,after,expected", NEW_IMPORT_CASES)
def test_new_import_killed_is_complete_or_gone(dataset_name, image, point, after, expected):
    _kill_import(dataset_name, image, "error", point, after)
    found = _after_restart(dataset_name)
    assert found["hidden"] == [] and found["journal"] == 0
    if expected is None:
        assert found["listed"] is False
    else:
        assert (found["count"], found["labels"], found["ids_unique"]) == (expected, ["new"], True)


OVERWRITE_CASES = [
    ("writer.insert.batch", 1, OLD, "old"),
    ("writer.insert.done", 0, OLD, "old"),
    ("writer.commit.complete", 0, NEW, "new"),
    ("writer.commit.between_renames", 0, NEW, "new"),
    ("writer.commit.renamed", 0, NEW, "new"),
]


@pytest.mark.parametrize("point,after,expected,label", OVERWRITE_CASES)
def test_overwrite_killed_keeps_the_old_or_the_new_dataset_whole(dataset_name, image, point, after, expected,
                                                                   label):
    _old_dataset(dataset_name, image)
    _kill_import(dataset_name, image, "overwrite", point, after)
    found = _after_restart(dataset_name)
    assert found["hidden"] == [] and found["journal"] == 0
    assert found["listed"] is True
    assert (found["count"], found["labels"], found["ids_unique"]) == (expected, [label], True)


@pytest.mark.parametrize("point,after", [("writer.insert.batch", 1), ("writer.insert.done", 0)])
def test_append_killed_leaves_no_part_of_it(dataset_name, image, point, after):
    _old_dataset(dataset_name, image)
    _kill_import(dataset_name, image, "append", point, after)
    found = _after_restart(dataset_name)
    assert found["journal"] == 0 and found["hidden"] == []
    assert (found["count"], found["labels"]) == (OLD, ["old"])


def test_append_that_finishes_keeps_every_sample_and_no_journal(dataset_name, image):
    _old_dataset(dataset_name, image)
    proc = run_python(IMPORT.format(path=image, label="new", n=NEW, name=dataset_name, mode="append"))
    assert proc.returncode == 0 and "finished" in proc.stdout, proc.stderr[-3000:]
    found = _after_restart(dataset_name)
    assert (found["count"], found["labels"], found["journal"]) == (OLD + NEW, ["new", "old"], 0)


def test_killed_import_of_a_live_process_is_left_alone(dataset_name, image):
    """Recovery takes over only from dead owners: an import in progress here is not touched by another process."""
    temp = writer.new_temp_dataset(dataset_name)
    try:
        found = _after_restart(dataset_name)
        assert found["hidden"] == [temp.name] and found["journal"] == 1
    finally:
        writer.discard_temp(temp)
    assert _after_restart(dataset_name)["hidden"] == []


def test_killed_overwrite_never_replaces_a_dataset_made_after_it(dataset_name, image):
    """A process that had already recovered (e.g. a running app) makes ``name`` anew after the kill: the
    killed overwrite's copy is dropped by the next recovery, the newer dataset kept."""
    _old_dataset(dataset_name, image)
    _kill_import(dataset_name, image, "overwrite", "writer.commit.complete")
    store.delete_dataset(dataset_name)  # this process recovered at its start, before the kill: no recovery now
    writer.write_dataset(dataset_name, [Record(image, "newer") for _ in range(3)], "classification")
    found = _after_restart(dataset_name)
    assert found["hidden"] == [] and found["journal"] == 0
    assert (found["count"], found["labels"]) == (3, ["newer"])


FIFTYONE_APPEND = """
from sda2.ingest import import_fiftyone
import_fiftyone({source!r}, {name!r}, mode="append")
print("finished")
"""


@pytest.mark.parametrize("crash", [True, False])
def test_append_from_a_fiftyone_dataset_is_complete_or_gone(dataset_name, image, crash):
    """``sda2 ingest fiftyone --append`` copies through the journaled writer: killed midway, nothing of it stays."""
    source = dataset_name + "_src"
    _old_dataset(dataset_name, image)
    writer.write_dataset(source, [Record(image, "new") for _ in range(NEW)], "classification")
    try:
        code = FIFTYONE_APPEND.format(source=source, name=dataset_name)
        if crash:
            run_killed(code, "writer.append_documents.batch", 1)
        else:
            proc = run_python(code)
            assert proc.returncode == 0 and "finished" in proc.stdout, proc.stderr[-3000:]
        found = _after_restart(dataset_name)
        assert found["journal"] == 0 and found["hidden"] == [] and found["ids_unique"]
        expected = (OLD, ["old"]) if crash else (OLD + NEW, ["new", "old"])
        assert (found["count"], found["labels"]) == expected
    finally:
        store.delete_dataset(source)
