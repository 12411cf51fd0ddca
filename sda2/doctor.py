"""``sda2 doctor``: find what killed processes left unfinished, in every dataset, and repair it on request.

It looks for: hidden datasets and journal entries of imports and appends (``sda2.recovery``), compute runs
that never completed (``sda2.runs``), labeling-queue items stuck while being resolved
(``sda2.curation.queue``), audit entries still pending (``sda2.curation.audit``), and array folders whose
dataset is gone. Work whose owner process is still running is listed but left alone. The automatic
recovery that opening a dataset runs is held in this process, so the report shows what was found.
"""

from __future__ import annotations

from sda2 import config, recovery, store
from sda2.curation import audit, queue
from sda2.recovery import Finding

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)
import fiftyone.core.odm as foo  # noqa: E402

COLUMNS = ("what", "dataset", "finding", "repair")


def _queue_findings(dataset) -> list[Finding]:
    findings = []
    for name in queue.queue_names(dataset):
        stuck = queue.stuck(dataset, name, legacy=True)
        if stuck:
            findings.append(Finding("queue", dataset.name, f"queue {name!r}: {len(stuck)} item(s) stuck while being "
                                    "resolved (all answers in, label not decided)", "resolve them now",
                                    lambda name=name: queue.settle(dataset, name, legacy=True)))
    return findings


def _audit_findings(dataset) -> list[Finding]:
    pending = foo.get_db_conn()[audit.PREFIX + store.dataset_id(dataset)].count_documents({"applied": False})
    if not pending:
        return []
    return [Finding("audit", dataset.name, f"{pending} audit entr{'y' if pending == 1 else 'ies'} pending (a write "
                    "whose log entry was never confirmed)", "reconcile them with the data",
                    lambda: audit.reconcile(dataset, force=True))]


def _array_findings() -> list[Finding]:
    root = config.home() / "arrays" / config.database_name()
    if not root.is_dir():
        return []
    docs = list(foo.get_db_conn().datasets.find({}, {"name": 1}))
    known = {str(d["_id"]) for d in docs} | {d["name"] for d in docs}
    return [Finding("arrays", folder.name, f"array folder {folder} belongs to no dataset", "delete the folder",
                    lambda folder=folder: config.remove_owned(folder))
            for folder in sorted(root.iterdir()) if folder.is_dir() and folder.name not in known]


def examine() -> list[Finding]:
    """Everything unfinished, across all datasets (nothing is changed)."""
    recovery.hold_automatic()
    findings = recovery.scan_imports()
    for name in sorted(n for n in fo.list_datasets() if not recovery.is_hidden(n)):
        dataset = fo.load_dataset(name)
        dataset.reload()
        findings += recovery.scan_runs(dataset) + _queue_findings(dataset) + _audit_findings(dataset)
    return findings + _array_findings()


def table(findings: list[Finding]) -> str:
    """The findings as a plain text table (one row each), or a line saying all is well."""
    if not findings:
        return "No unfinished work found: every import, run, queue item, audit entry and array folder is whole."
    rows = [COLUMNS] + [(f.kind, f.dataset, f.problem, f.action or "none now: still in progress")
                        for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths) + "  ------", *lines[1:]])


def run(repair: bool = False, out=print) -> int:
    """Report what is unfinished; with ``repair``, repair it and report again. Exit status: 0 when nothing is
    left to repair, 1 otherwise."""
    findings = examine()
    out(table(findings))
    due = [f for f in findings if f.repair is not None]
    if not repair:
        if due:
            out(f"\n{len(due)} finding(s) can be repaired. Fix: run `sda2 doctor --repair`.")
        return 1 if due else 0
    if not due:
        return 0
    failed = recovery.repair(due)
    out(f"\nRepaired {len(due) - len(failed)} of {len(due)} finding(s).")
    for f in failed:
        out(f"  failed: {f.kind} {f.dataset}: {f.problem}")
    left = [f for f in examine() if f.repair is not None]
    if left:
        out("Still to repair:\n" + table(left))
    return 1 if left else 0
