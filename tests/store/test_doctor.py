"""``sda2 doctor`` on a database of its own: real killed processes leave work unfinished; doctor lists every
kind, repairs it with ``--repair``, and exits 0 once nothing is left.

The database (``sda2_test_doctor``) is separate from the one other tests share, so the findings are only
those this test made.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

from sda2 import config
from tests import forked
from tests.conftest import TEST_DB

DB = TEST_DB + "_doctor"
ORPHAN = "0123456789abcdef01234567"  # an id no dataset has


def _run(code: str | None = None, cli: list[str] | None = None, crash_at: str | None = None,
         crash_after: int = 0) -> subprocess.CompletedProcess:
    """Run Python ``code`` (or the ``sda2`` CLI) in a fresh process on the doctor's database."""
    env = {**os.environ, "FIFTYONE_DATABASE_NAME": DB}
    env.pop("SDA2_CRASH_AT", None)
    if crash_at:
        env.update(SDA2_CRASH_AT=crash_at, SDA2_CRASH_AFTER=str(crash_after))
    argv = [sys.executable, "-m", "sda2.cli", *cli] if cli else [sys.executable, "-c", textwrap.dedent(code)]
    proc = forked.run(argv, env=env, timeout=300)
    if crash_at:
        assert proc.returncode == -9, f"expected a SIGKILL at {crash_at}: rc {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc


SETUP = """
import numpy as np
from PIL import Image
import fiftyone.core.odm as foo
from sda2 import arrays, config, store
from sda2.curation import queue as lq
from sda2.ingest import Record, writer
foo.get_db_conn().client.drop_database(config.database_name())
Image.new("L", (4, 3), 5).save({png!r})
for name in ("d1", "d2"):
    writer.write_dataset(name, [Record({png!r}, "a" if i % 2 else "b") for i in range(6)], "classification",
                         classes=["a", "b"])
ds = store.open_dataset("d2")
probs = np.array([[0.9, 0.1] if g == "a" else [0.1, 0.9] for g in ds.values("ground_truth.label")])
arrays.save(ds, "probabilities", ds.values("id"), probs[:, ::-1], classes=["a", "b"])
lq.create_queue(ds, "q", ds.values("id"), created_by="lead")
print("ready")
"""

HELD = "from sda2 import recovery\nrecovery.hold_automatic()  # leave earlier leftovers for the doctor to find\n"

KILLS = [  # (code run in a process killed at the point)
    (HELD + "from sda2.ingest import Record, writer\n"
     "writer.write_dataset('d1', [Record({png!r}, 'a')] * 9, 'classification', mode='overwrite')",
     "writer.commit.between_renames"),
    (HELD + "from sda2.ingest import Record, writer\n"
     "writer.write_dataset('d2', [Record({png!r}, 'a')] * 4, 'classification', mode='append')",
     "writer.insert.done"),
    (HELD + "from sda2.compute import label_issues\nlabel_issues.detect_label_issues('d2')",
     "compute.label_issues.written"),
    (HELD + "from sda2 import store\nfrom sda2.curation import queue as lq\nds = store.open_dataset('d2')\n"
     "lq.submit(ds, 'q', 'alice', ds.values('id')[0], 'a', seconds=1.0)", "queue.resolve.claimed"),
    (HELD + "from sda2 import store\nfrom sda2.curation import edits\nds = store.open_dataset('d2')\n"
     "edits.set_label(ds, ds.values('id')[2], 'a', 'bob', 'test')", "edits.after_write"),
]

STATE = """
import json
import fiftyone as fo
from sda2 import store
from sda2.curation import audit
from sda2.curation import queue as lq
d1, d2 = store.open_dataset("d1"), store.open_dataset("d2")
items = lq.items_frame(d2, "q")
print("RESULT" + json.dumps({
    "datasets": sorted(fo.list_datasets()), "d1": len(d1), "d1_labels": sorted(d1.distinct("ground_truth.label")),
    "d2": len(d2), "scored": "label_quality" in d2.get_field_schema(),
    "item0": items["status"][0], "label0": d2[items["sample_id"][0]].ground_truth.label,
    "label2": d2[items["sample_id"][2]].ground_truth.label,
    "pending_audit": audit.collection(d2).count_documents({"applied": False})}))
"""


def test_doctor_reports_every_kind_repairs_them_and_then_exits_clean(tmp_path):
    png = str(tmp_path / "one.png")
    arrays_root = config.home() / "arrays" / DB
    shutil.rmtree(arrays_root, ignore_errors=True)
    setup = _run(SETUP.format(png=png))
    assert "ready" in setup.stdout, setup.stderr[-3000:]
    for code, point in KILLS:
        _run(code.format(png=png), crash_at=point)
    (arrays_root / ORPHAN).mkdir(parents=True)
    (arrays_root / ORPHAN / "x.npy").write_bytes(b"0")

    report = _run(cli=["doctor"])
    assert report.returncode == 1, report.stderr[-3000:]
    rows = report.stdout.splitlines()
    assert rows[0].split()[:3] == ["what", "dataset", "finding"]
    table = rows[2:rows.index("")]
    assert sorted(row.split()[0] for row in table) == ["append", "arrays", "audit", "import", "queue", "run"], \
        report.stdout
    assert "killed during its commit" in report.stdout and "sda2 doctor --repair" in report.stdout
    hidden = [line for line in rows if "d1.__" in line]
    assert hidden, report.stdout  # the import's hidden copies are named in the report

    repaired = _run(cli=["doctor", "--repair"])
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr[-3000:]
    assert "Repaired 6 of 6 finding(s)." in repaired.stdout

    clean = _run(cli=["doctor"])
    assert clean.returncode == 0 and clean.stdout.startswith("No unfinished work found"), clean.stdout
    assert not (arrays_root / ORPHAN).exists()
    state = _run(STATE)
    assert state.returncode == 0, state.stderr[-3000:]
    found = json.loads(state.stdout.split("RESULT", 1)[1])
    assert found["datasets"] == ["d1", "d2"]  # no hidden copy left
    assert (found["d1"], found["d1_labels"]) == (9, ["a"])  # the overwrite was finished
    assert (found["d2"], found["scored"]) == (6, False)  # the append and the half-written run were removed
    assert (found["item0"], found["label0"]) == ("done", "a")  # the queue item was resolved
    assert found["pending_audit"] == 0 and found["label2"] == "a"  # the edit had reached the data: confirmed
