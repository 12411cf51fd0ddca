"""The database dies under the user: kill -9 of the project's mongod, a dead URI, a replica-set failover.

Each test runs its own throw-away mongod(s) (never the suite's shared one) and real sda2 processes that
edit labels and print every acknowledged edit; afterwards every acknowledged edit must be in the data
and in the audit log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests import forked
from tests.faults.mongod_cluster import ReplicaSet, free_port, kill9, server_pid, wait_until

ROOT = Path(__file__).resolve().parents[2]
RECORD: list[dict] = []  # what each killed run saw, written to tests/artifacts/database_faults.json

EDIT_LOOP = """
import json, sys, time
import pymongo.errors
import sda2
from sda2 import database
sda2.load_default("{name}")
ds = sda2.open_dataset("{name}")
ids = ds.values("id")[:50]
classes = sda2.classes(ds)
print("READY", flush=True)
done = 0
while done < {edits}:
    sid = ids[done % 50]
    label = classes[(done // 50 + done) % len(classes)]
    try:
        edit_id = sda2.set_label(ds, sid, label, annotator="loop", reason="fault test")
    except (pymongo.errors.PyMongoError, database.DatabaseError) as exc:
        print("ERR", type(exc).__name__, flush=True)
        try:
            database.ensure_database()  # restarts the project's own mongod when it is the one that died
        except database.DatabaseError:
            time.sleep(0.5)
        continue
    print("ACK", json.dumps([edit_id, sid, label]), flush=True)
    done += 1
print("DONE", flush=True)
"""

VERIFY = """
import json
import sda2
from sda2.curation import audit
ds = sda2.open_dataset("{name}")
log = audit.audit_log(ds)
labels = dict(zip(ds.values("id"), ds.values("ground_truth.label")))
print(json.dumps({{"count": len(ds), "labels": labels, "edits": log["edit_id"].tolist()}}))
"""


def _env(home: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in ("FIFTYONE_DATABASE_URI", "SDA2_OWN_DB_URI", "SDA2_CRASH_AT", "SDA2_HOME", "SDA2_DB_PORT")}
    return {**env, "SDA2_HOME": str(home), "FIFTYONE_DATABASE_NAME": "sda2_faults", "PYTHONUNBUFFERED": "1",
            **extra}


def _run_loop_and_kill(env: dict, name: str, edits: int, kill_after: int, kill) -> list[list]:
    """Run the edit loop, call ``kill`` after ``kill_after`` acknowledged edits; the acknowledged edits."""
    code = textwrap.dedent(EDIT_LOOP.format(name=name, edits=edits))
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)
    acked, errors, killed = [], 0, False
    try:
        for line in proc.stdout:
            if line.startswith("ACK "):
                acked.append(json.loads(line[4:]))
                if len(acked) == kill_after and not killed:
                    kill()
                    killed = True
            elif line.startswith("ERR"):
                errors += 1
        proc.wait(300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, proc.stderr.read()[-4000:]
    assert killed and len(acked) == edits
    RECORD.append({"dataset": name, "acknowledged": len(acked), "errors_retried": errors})
    return acked


def _verify(env: dict, name: str) -> dict:
    out = forked.run([sys.executable, "-c", textwrap.dedent(VERIFY.format(name=name))], env=env, timeout=300,
                     cwd=ROOT)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True, scope="module")
def _write_record(artifacts):
    yield
    (artifacts / "database_faults.json").write_text(json.dumps(RECORD, indent=1))


def _check_nothing_lost(acked: list[list], state: dict) -> None:
    last = {}
    for edit_id, sid, label in acked:
        last[sid] = label
    lost_values = {sid: (label, state["labels"][sid]) for sid, label in last.items() if state["labels"][sid] != label}
    logged = set(state["edits"])
    lost_entries = [e for e, _, _ in acked if e is not None and e not in logged]
    assert not lost_values, f"acknowledged labels lost: {lost_values}"
    assert not lost_entries, f"{len(lost_entries)} acknowledged edits missing from the audit log"


def _sda2(env: dict, *args: str) -> subprocess.CompletedProcess:
    """Run the ``sda2`` command line in ``env``."""
    return forked.run([str(ROOT / ".venv/bin/sda2"), *args], env=env, timeout=300, cwd=ROOT)


@pytest.fixture
def own_db(tmp_path):
    """(environment, URI) of a project-style mongod of the test's own (own home, own port), stopped afterwards."""
    home, port = tmp_path / "home", free_port()
    env = _env(home, SDA2_DB_PORT=str(port))
    yield env, f"mongodb://127.0.0.1:{port}"
    forked.run([sys.executable, "-c", "from sda2 import database; database.stop()"], env=env, timeout=60)


def test_mongod_killed_mid_edits_restarts_and_loses_no_acknowledged_edit(own_db):
    env, uri = own_db
    acked = _run_loop_and_kill(env, "killed_db", edits=150, kill_after=60, kill=lambda: kill9(server_pid(uri)))
    state = _verify(env, "killed_db")
    assert state["count"] == 1797
    _check_nothing_lost(acked, state)
    listed = _sda2(env, "list")
    assert listed.returncode == 0 and "killed_db\t1,797 samples" in listed.stdout, listed.stdout + listed.stderr


def test_counts_are_repaired_after_mongod_is_killed(own_db):
    """After a kill -9 the stored fast counts can be stale (0 for 1,797 here); the restart validates them."""
    env, uri = own_db
    made = _sda2(env, "demo", "--name", "counted")
    assert made.returncode == 0, made.stderr
    kill9(server_pid(uri))
    assert (Path(env["SDA2_HOME"]) / "db" / "mongod.lock").stat().st_size > 0  # what marks the unclean shutdown
    listed = _sda2(env, "list")
    assert listed.returncode == 0 and "counted\t1,797 samples" in listed.stdout, listed.stdout + listed.stderr


def test_unreachable_database_gets_a_clear_message_not_a_traceback(tmp_path):
    dead = f"mongodb://127.0.0.1:{free_port()}/?serverSelectionTimeoutMS=1500"
    env = _env(tmp_path / "home", FIFTYONE_DATABASE_URI=dead)
    out = _sda2(env, "list")
    assert out.returncode != 0
    assert "is not answering" in out.stderr and "Fix:" in out.stderr and "FIFTYONE_DATABASE_URI" in out.stderr
    assert "Traceback" not in out.stderr


def test_replica_set_failover_loses_no_acknowledged_edit(tmp_path):
    """The scale-out path: a 3-member replica set through FIFTYONE_DATABASE_URI; the primary is killed mid-loop."""
    cluster = ReplicaSet(tmp_path / "rs")
    try:
        env = _env(tmp_path / "home", FIFTYONE_DATABASE_URI=cluster.uri)
        killed = []
        acked = _run_loop_and_kill(env, "replicated", edits=150, kill_after=60,
                                   kill=lambda: killed.append(cluster.kill_primary()))
        new_primary = wait_until(cluster.primary_port, 60, "a new primary")
        assert new_primary != killed[0]
        state = _verify(env, "replicated")
        assert state["count"] == 1797
        _check_nothing_lost(acked, state)
    finally:
        cluster.stop()
