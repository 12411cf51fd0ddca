"""Imports and appends that are complete or gone, and computed runs that are complete or absent.

Every import writes a journal entry (collection ``sda2_import_journal``) before it touches a dataset, naming
its owner process (``sda2.liveness``), and removes it only when the work is finished:

- a new or overwriting import builds ``<name>.__incoming_<S>``, marks its entry ``complete`` when every
  sample is in, then commits: the old dataset (if replaced) becomes ``<name>.__replaced_<S>``, the new one
  takes ``<name>``, the old one is deleted, the entry removed;
- an append records the ``_id`` ranges of the samples it will insert (all ids of one import share one
  9-byte prefix, so a range holds exactly its own samples) before inserting, and removes the entry after.

:func:`recover` (run the first time a process lists or opens datasets, and by ``sda2 doctor``) looks at the
entries whose owner is dead: a complete import is carried to its end, an incomplete one deleted, a killed
append's samples deleted. Hidden datasets without an entry (left by versions before the journal) are
handled after a grace period: ``__replaced_`` renamed back when its name is free, else deleted, and
``__incoming_`` deleted. :func:`recover_runs` clears the fields of compute runs whose writer died.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable

from bson import ObjectId

from sda2 import faults, liveness, runs, store

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)
import fiftyone.core.odm as foo  # noqa: E402

TEMP_MARKER, REPLACED_MARKER = store.WORK_IN_PROGRESS  # "<name>.__incoming_<S>", "<name>.__replaced_<S>"
JOURNAL = "sda2_import_journal"
LEGACY_GRACE = timedelta(minutes=10)  # hidden datasets without a journal entry are left alone this long
_auto: dict[str, bool] = {"imports": False}
_runs_checked: set[str] = set()


@dataclass
class Finding:
    """Something a crash left unfinished: what, where, and what repairing does (empty when nothing is due)."""

    kind: str  # "import", "append", "hidden dataset", "run", "queue", "audit", "arrays"
    dataset: str
    problem: str
    action: str = ""  # what --repair does; "" = nothing to do now (e.g. its owner is still running)
    repair: Callable[[], object] | None = field(default=None, repr=False, compare=False)


def _journal():
    return store.durable(foo.get_db_conn()[JOURNAL])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def is_hidden(name: str) -> bool:
    """True for the temporary names an import uses while it runs."""
    return TEMP_MARKER in name or REPLACED_MARKER in name


# --- the import protocol, used by sda2.ingest.writer ---------------------------------------------------------

def begin_import(name: str) -> str:
    """Journal a new import into ``name``; returns the temporary dataset name it must build."""
    suffix = str(ObjectId())
    temp = f"{name}{TEMP_MARKER}{suffix}"
    _journal().insert_one({"kind": "import", "target": name, "temp": temp, "suffix": suffix, "complete": False,
                           "replace": False, "owner": liveness.owner(), "started": _now()})
    return temp


def mark_complete(temp: str, replace: bool) -> None:
    """Record that the temporary dataset ``temp`` holds every sample: from now on it is committed, not dropped."""
    _journal().update_one({"temp": temp}, {"$set": {"complete": True, "replace": bool(replace), "at": _now()}})


def abandon_import(dataset: fo.Dataset) -> None:
    """Delete an import's temporary dataset and its journal entry (the import failed or was merged)."""
    temp = dataset.name
    if is_hidden(temp) and fo.dataset_exists(temp):
        dataset.delete()
    _journal().delete_one({"temp": temp})


def finish_import(temp: str) -> None:
    """Commit the complete import ``temp`` from wherever it stopped; each step runs only if still due."""
    entry = _journal().find_one({"temp": temp})
    if entry is None or not entry.get("complete"):
        raise RuntimeError(f"Import {temp!r} is not marked complete; it cannot be committed.")
    target, old_name = entry["target"], f"{entry['target']}{REPLACED_MARKER}{entry['suffix']}"
    if not fo.dataset_exists(temp) and not fo.dataset_exists(target):
        _rename(old_name, target)  # the new copy is gone (deleted since): keep the old one
    if fo.dataset_exists(temp):
        if fo.dataset_exists(target):
            if not entry.get("replace"):
                raise FileExistsError(target)
            fo.load_dataset(target).name = old_name
            faults.point("writer.commit.between_renames")
        try:
            fo.load_dataset(temp).name = target
        except Exception:
            if fo.dataset_exists(old_name) and not fo.dataset_exists(target):
                fo.load_dataset(old_name).name = target
            raise
        faults.point("writer.commit.renamed")
    if fo.dataset_exists(old_name):
        old = fo.load_dataset(old_name)
        old_id, old_media = store.dataset_id(old), store.owned_media(old)
        old.delete()
        store.remove_dataset_files(old_id, old_media)  # its arrays were aligned to the old samples' ids
    _journal().delete_one({"_id": entry["_id"]})


def id_ranges(ids: list[ObjectId]) -> list[list[ObjectId]]:
    """[first, last] of each run of ids sharing one 9-byte prefix (what ``writer`` generates per import)."""
    ranges: list[list[ObjectId]] = []
    for oid in ids:
        if ranges and ranges[-1][1].binary[:9] == oid.binary[:9]:
            ranges[-1][1] = max(ranges[-1][1], oid)
            ranges[-1][0] = min(ranges[-1][0], oid)
        else:
            ranges.append([oid, oid])
    return ranges


def begin_append(dataset: fo.Dataset, ids: list[ObjectId]) -> ObjectId:
    """Journal an append of samples with ``ids`` to ``dataset`` before inserting them; returns the entry id."""
    return _journal().insert_one({
        "kind": "append", "target": dataset.name, "dataset_id": dataset._doc.id,
        "collection": dataset._doc.sample_collection_name, "ranges": id_ranges(ids), "n": len(ids),
        "owner": liveness.owner(), "started": _now()}).inserted_id


def undo_append(entry_id: ObjectId) -> int:
    """Delete the samples an append inserted (its journal ranges), then its entry; the number deleted."""
    entry = _journal().find_one({"_id": entry_id})
    if entry is None:
        return 0
    collection = foo.get_db_conn()[entry["collection"]]
    deleted = sum(collection.delete_many({"_id": {"$gte": first, "$lte": last}}).deleted_count
                  for first, last in entry["ranges"])
    _journal().delete_one({"_id": entry_id})
    return deleted


def end_append(entry_id: ObjectId) -> None:
    """The append is complete: remove its journal entry."""
    _journal().delete_one({"_id": entry_id})


# --- finding and repairing leftovers -------------------------------------------------------------------------

def _drop(name: str) -> None:
    if fo.dataset_exists(name):
        fo.load_dataset(name).delete()


def _rename(name: str, new_name: str) -> None:
    if fo.dataset_exists(name) and not fo.dataset_exists(new_name):
        fo.load_dataset(name).name = new_name


def _forget(entry_id) -> None:
    _journal().delete_one({"_id": entry_id})


def _made_after(name: str, when: datetime) -> bool:
    """Whether dataset ``name`` was created after ``when`` (then a killed overwrite must not replace it)."""
    doc = foo.get_db_conn().datasets.find_one({"name": name}, {"created_at": 1})
    created = doc and doc.get("created_at")
    if not isinstance(created, datetime):
        return False
    return created.replace(tzinfo=None) > when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo \
        else created.replace(tzinfo=None) > when


def _owner_text(owner: dict | None) -> str:
    owner = owner or {}
    return f"pid {owner.get('pid')} on {owner.get('host')}"


def _entry_finding(entry: dict, names: set[str]) -> Finding:
    target, alive = entry["target"], liveness.is_alive(entry.get("owner"))
    who = _owner_text(entry.get("owner"))
    if entry["kind"] == "append":
        problem = f"append of {entry['n']:,} samples by {who} " + ("still running" if alive else "was killed")
        return Finding("append", target, problem, "" if alive else "delete the samples it added",
                       None if alive else lambda: undo_append(entry["_id"]))
    temp = entry["temp"]
    if alive:
        return Finding("import", target, f"import by {who} still running ({temp})")
    if not entry.get("complete"):
        return Finding("import", target, f"import killed before it was complete ({temp})",
                       "delete the incomplete copy", lambda: (_drop(temp), _forget(entry["_id"])))
    old_name = f"{target}{REPLACED_MARKER}{entry['suffix']}"
    if temp in names and target in names and old_name not in names and (
            not entry.get("replace") or _made_after(target, entry.get("at") or entry["started"])):
        return Finding("import", target, f"complete import killed before commit, but {target!r} was made meanwhile",
                       f"delete the copy (keep the newer {target!r})", lambda: (_drop(temp), _forget(entry["_id"])))
    hidden = ", ".join(n for n in (temp, old_name) if n in names) or "none"
    missing = "" if target in names else f"; {target!r} is missing until repaired"
    return Finding("import", target, f"complete import killed during its commit (hidden: {hidden}{missing})",
                   "finish the commit", lambda: finish_import(temp))


def _legacy_finding(name: str, names: set[str], now: datetime) -> Finding | None:
    marker = TEMP_MARKER if TEMP_MARKER in name else REPLACED_MARKER
    target, suffix = name.split(marker, 1)
    made = ObjectId(suffix).generation_time if ObjectId.is_valid(suffix) else None
    if made is not None and now - made < LEGACY_GRACE:
        return Finding("hidden dataset", target, f"{name} (no journal entry, made {made:%H:%M:%S})")
    if marker == TEMP_MARKER:
        return Finding("hidden dataset", target, f"{name}: an import's copy with no journal entry",
                       "delete it", lambda: _drop(name))
    if target not in names:
        return Finding("hidden dataset", target, f"{name}: the old copy of {target!r}, which is missing",
                       f"rename it back to {target!r}", lambda: _rename(name, target))
    return Finding("hidden dataset", target, f"{name}: an old copy replaced by {target!r}",
                   "delete it", lambda: _drop(name))


def scan_imports() -> list[Finding]:
    """Unfinished imports and appends (journal entries) and hidden datasets without an entry."""
    names = set(fo.list_datasets())
    entries = list(_journal().find({}))
    findings = [_entry_finding(e, names) for e in entries]
    claimed = {e["temp"] for e in entries if "temp" in e}
    claimed |= {f"{e['target']}{REPLACED_MARKER}{e['suffix']}" for e in entries if "suffix" in e}
    now = _now()
    for name in sorted(names):
        if is_hidden(name) and name not in claimed:
            finding = _legacy_finding(name, names, now)
            if finding is not None:
                findings.append(finding)
    return findings


def scan_runs(dataset) -> list[Finding]:
    """The dataset's compute runs that did not complete; those whose writer died can be cleared."""
    findings = []
    for run in runs.incomplete(dataset):
        fields = ", ".join(run["fields"]) or "no fields"
        if run["alive"]:
            findings.append(Finding("run", dataset.name, f"run {run['key']} still running ({fields})"))
        else:
            findings.append(Finding("run", dataset.name, f"run {run['key']} killed mid write-back ({fields})",
                                    "clear its half-written fields (recompute)",
                                    lambda key=run["key"]: runs.clear(dataset, key)))
    return findings


def repair(findings: list[Finding]) -> list[Finding]:
    """Repair every finding that has a repair, in order; returns those whose repair failed (with the reason)."""
    failed = []
    for finding in findings:
        if finding.repair is None:
            continue
        try:
            finding.repair()
        except Exception as exc:  # noqa: BLE001  (one leftover must not stop the others)
            failed.append(Finding(finding.kind, finding.dataset, f"{finding.problem}: repair failed ({exc})",
                                  finding.action))
    return failed


def recover() -> list[Finding]:
    """Repair every import leftover whose owner is dead; returns what was repaired."""
    findings = [f for f in scan_imports() if f.repair is not None]
    repair(findings)
    return findings


def recover_once() -> None:
    """Run :func:`recover` the first time this process lists or opens datasets (problems become warnings)."""
    if _auto["imports"]:
        return
    _auto["imports"] = True
    try:
        recover()
    except Exception as exc:  # noqa: BLE001  (recovery must never stop a read; doctor reports the rest)
        warnings.warn(f"Recovering unfinished imports failed ({exc}). Fix: run `sda2 doctor --repair`.",
                      stacklevel=3)


def recover_runs(dataset) -> None:
    """The first time this process opens ``dataset``: clear runs whose writer died mid write-back."""
    key = str(dataset._doc.id)
    if key in _runs_checked or "*" in _runs_checked:
        return
    _runs_checked.add(key)
    try:
        repair(scan_runs(dataset))
    except Exception as exc:  # noqa: BLE001
        warnings.warn(f"Recovering unfinished runs of {dataset.name!r} failed ({exc}). "
                      "Fix: run `sda2 doctor --repair`.", stacklevel=3)


def hold_automatic() -> None:
    """Stop this process from recovering on its own (``sda2 doctor`` reports before it repairs)."""
    _auto["imports"] = True
    _runs_checked.add("*")


def automatic_held() -> bool:
    """True after :func:`hold_automatic`."""
    return "*" in _runs_checked
