"""The audit log of human decisions, kept with the dataset in the same MongoDB, exact even across a kill -9.

Each dataset has a collection of its own, ``sda2_audit.<dataset id>`` (the id survives renames; a clone
starts a fresh log). One document per change: who, when, which sample and field, old and new value,
why, the batch it belongs to, and whether it was undone.

Write-ahead protocol (see :mod:`sda2.curation.edits`): an entry is inserted *pending* (``applied:
False``) before its write; the conditional update that makes the change also pushes the entry's id onto
the changed document (``sda2_edit_ids`` on a sample, the last :data:`KEEP_IDS` kept), so whether a write
happened is a fact stored with the data, not a guess. After the write the entry is confirmed when its id
is on the document and deleted when not. A process killed in between leaves pending entries;
:func:`reconcile` settles them by the same rule. It runs by itself the first time a process opens a
dataset's log (and again every :data:`RECHECK_S` seconds), and ``sda2 doctor`` calls it with ``force``.
A pending entry is left alone while its writer may still be running: its process is alive on this host
and its lease (:data:`LEASE_S`, renewed before every chunk written) has not run out.

All writes use journaled acknowledgement (:func:`sda2.store.durable`). Logs of deleted datasets are
dropped by :func:`drop_orphans`, which runs whenever a log is first opened in a process.
"""

from __future__ import annotations

import json
import os
import socket
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
from bson import ObjectId
from pymongo import UpdateOne

from sda2 import store  # (starts the database before FiftyOne connects)
from sda2.clock import as_utc

import fiftyone.core.odm as foo  # noqa: E402

PREFIX = "sda2_audit."
COLUMNS = ["edit_id", "at", "annotator", "sample_id", "field", "old", "new", "reason", "batch_id", "kind",
           "undoes", "undone", "undone_by"]
APPLIED = {"applied": True}  # entries are logged pending before their write, confirmed after it
EDIT_IDS_FIELD = "sda2_edit_ids"  # on each changed document: ids of the entries that wrote it, newest last
KEEP_IDS = 50  # how many entry ids a document keeps (a pending entry is settled long before 50 more writes)
LEASE_S = 60.0  # a pending entry of a live writer is in flight this long after its last renewal
RECHECK_S = 60.0  # a long-running process reconciles a log again after this many seconds
_ready: set[str] = set()
_checked_at: dict[str, float] = {}


def dataset_id(dataset) -> str:
    """The id of ``dataset``'s root dataset (what per-dataset collections are named after)."""
    return store.dataset_id(dataset)




# ---------------------------------------------------------------- who: one person, however typed

def annotator_name(name) -> str:
    """The display form of an annotator's name (trimmed, inner spaces collapsed); a blank name is refused."""
    text = " ".join(str(name).split()) if name is not None else ""
    if not text:
        raise ValueError("Every edit needs the annotator's name, and it is blank. Fix: pass annotator='your name' "
                         "(in the app: type your name in the sidebar).")
    return text


def annotator_key(name) -> str:
    """The form names are matched by: "Alice", " alice " and "ALICE" are one person."""
    return annotator_name(name).casefold()


# ---------------------------------------------------------------- the collection

def collection(dataset):
    """The pymongo collection holding ``dataset``'s audit log (indexed, and reconciled, on first use)."""
    name = PREFIX + dataset_id(dataset)
    coll = foo.get_db_conn()[name]
    if name not in _ready:
        if not _ready:
            drop_orphans()
        coll.create_index([("sample_id", 1), ("field", 1), ("at", -1)])
        coll.create_index("batch_id")
        coll.create_index([("annotator_key", 1), ("at", -1)])
        coll.create_index([("applied", 1), ("kind", 1)])
        _ready.add(name)
        _backfill_keys(coll)
    if time.monotonic() - _checked_at.get(name, -RECHECK_S) >= RECHECK_S:
        _checked_at[name] = time.monotonic()
        reconcile(dataset)
    return coll


def _backfill_keys(coll) -> None:
    """Give entries written before names were matched case-insensitively their ``annotator_key``."""
    ops = [UpdateOne({"_id": d["_id"]}, {"$set": {"annotator_key": " ".join(str(d.get("annotator") or "").split())
                                                 .casefold()}})
           for d in coll.find({"annotator_key": {"$exists": False}}, {"annotator": 1})]
    if ops:
        store.durable(coll).bulk_write(ops, ordered=False)


def drop_orphans() -> list[str]:
    """Drop the audit logs of datasets that no longer exist; returns the dropped collection names."""
    return store.drop_orphan_collections(PREFIX)


# ---------------------------------------------------------------- write-ahead: record, renew, settle

def _process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), None when it is gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return None if fields[0] in ("Z", "X") else fields[19]


_OWNER = {"host": socket.gethostname(), "pid": os.getpid(), "started": _process_start(os.getpid())}


def _owner() -> dict:
    if _OWNER["pid"] != os.getpid():  # forked
        _OWNER.update(pid=os.getpid(), started=_process_start(os.getpid()))
    return dict(_OWNER)


def _owner_alive(owner: dict | None) -> bool | None:
    """Whether the process that logged an entry still runs: True / False on this host, None elsewhere."""
    if not owner or owner.get("host") != socket.gethostname():
        return None
    started = _process_start(int(owner["pid"]))
    return started is not None and started == owner.get("started")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def record(dataset, entries: list[dict]) -> None:
    """Log ``entries`` as pending, before their write (journaled), with this process as owner and a lease."""
    if entries:
        stamp = {"applied": False, "owner": _owner(), "lease_until": _now() + timedelta(seconds=LEASE_S)}
        store.durable(collection(dataset)).insert_many([{**e, **stamp} for e in entries], ordered=True)


def renew(dataset, batch_id: str) -> None:
    """Extend the lease of this process's pending entries of ``batch_id`` (between the chunks it writes)."""
    store.durable(collection(dataset)).update_many(
        {"batch_id": batch_id, "applied": False, "owner.pid": os.getpid()},
        {"$set": {"lease_until": _now() + timedelta(seconds=LEASE_S)}})


def settle(dataset, written: list[dict], lost: list) -> None:
    """After the write: confirm the entries ``written`` (documents; re-inserted if a reconcile removed them
    meanwhile) and delete the pending entries ``lost`` (ids)."""
    coll = store.durable(collection(dataset))
    if written:
        ids = [e["_id"] for e in written]
        done = coll.update_many({"_id": {"$in": ids}}, {"$set": {"applied": True}, "$unset": {"lease_until": ""}})
        if done.matched_count < len(ids):
            there = set(coll.distinct("_id", {"_id": {"$in": ids}}))
            missing = [{k: v for k, v in e.items() if k != "lease_until"} | {"applied": True}
                       for e in written if e["_id"] not in there]
            if missing:
                coll.insert_many(missing, ordered=False)
    if lost:
        coll.delete_many({"_id": {"$in": list(lost)}, "applied": False})


def _target(dataset, entry: dict):
    """(collection, document id) the write of ``entry`` changes: its sample, or the document it names."""
    target = entry.get("target")
    if target:
        return foo.get_db_conn()[target["collection"]], target["_id"]
    return dataset._root_dataset._sample_collection, ObjectId(entry["sample_id"])


@store.dataset_or_name
def reconcile(dataset, force: bool = False) -> dict:
    """Settle the pending entries left by writers that died (or whose lease ran out): confirm each whose id
    is on the document it changes, delete each whose write did not happen; also finish undos whose
    originals were not yet flagged undone. ``force`` settles in-flight entries too (use it only when no
    other process is writing, e.g. ``sda2 doctor --force``). Returns counts: checked, confirmed, removed,
    in_flight (left alone), undo_links (originals flagged undone)."""
    _checked_at[PREFIX + dataset_id(dataset)] = time.monotonic()  # (collection() would call this again)
    coll = collection(dataset)
    now = _now()
    counts = {"checked": 0, "confirmed": 0, "removed": 0, "in_flight": 0, "undo_links": 0}
    todo = []
    for entry in coll.find({"applied": False}):
        counts["checked"] += 1
        lease = entry.get("lease_until") or entry["at"]
        lease = as_utc(lease)
        if not force and _owner_alive(entry.get("owner")) is not False and lease > now:
            counts["in_flight"] += 1
            continue
        todo.append(entry)
    by_target: dict[str, tuple] = {}
    for entry in todo:
        target, key = _target(dataset, entry)
        by_target.setdefault(target.full_name, (target, {}))[1].setdefault(key, []).append(entry)
    written, lost = [], []
    for target, docs in by_target.values():
        stored = {d["_id"]: set(d.get(EDIT_IDS_FIELD) or [])
                  for d in target.find({"_id": {"$in": list(docs)}}, {EDIT_IDS_FIELD: 1})}
        for key, entries in docs.items():
            for entry in entries:
                (written if str(entry["_id"]) in stored.get(key, ()) else lost).append(entry)
    settle(dataset, written, [e["_id"] for e in lost])
    counts["confirmed"], counts["removed"] = len(written), len(lost)
    links = list(coll.find({"kind": "undo", "linked": False, **APPLIED}, {"undoes": 1}))
    if links:
        mark_undone(dataset, {ObjectId(e["undoes"]): e["_id"] for e in links if e.get("undoes")})
        counts["undo_links"] = len(links)
    return counts


# ---------------------------------------------------------------- reading the log

def find(dataset, **query) -> list[dict]:
    """Applied log entries matching ``query`` (MongoDB filter on the entry fields), newest first."""
    return list(collection(dataset).find({**query, **APPLIED}).sort([("at", -1), ("_id", -1)]))


def last_setter(dataset, sample_id: str, field: str, value, exclude_batch: str | None = None) -> dict | None:
    """The newest entry that wrote ``value`` into ``field`` of ``sample_id``, a write in flight included
    (None when sda2 did not write it)."""
    query = {"sample_id": str(sample_id), "field": field, "new": value}
    if exclude_batch:
        query["batch_id"] = {"$ne": exclude_batch}
    return collection(dataset).find_one(query, sort=[("at", -1), ("_id", -1)])


def mark_undone(dataset, undone_by: dict) -> None:
    """Flag each entry (id key) as undone by the undo entry (value), then mark those undo entries linked."""
    if not undone_by:
        return
    coll = store.durable(collection(dataset))
    coll.bulk_write([UpdateOne({"_id": eid}, {"$set": {"undone": True, "undone_by": str(by)}})
                     for eid, by in undone_by.items()], ordered=False)
    coll.update_many({"_id": {"$in": [by for by in undone_by.values() if isinstance(by, ObjectId)]}},
                     {"$set": {"linked": True}})


def last_batch(dataset, annotator: str | None = None, skip: tuple = ()) -> str | None:
    """Batch id of the newest change (not an undo, not undone), by ``annotator`` when given (matched
    case-insensitively), passing over the batch ids in ``skip``."""
    query = {"undone": False, "kind": {"$ne": "undo"}, "target": {"$exists": False}, **APPLIED}
    if annotator is not None:
        query["annotator_key"] = annotator_key(annotator)
    if skip:
        query["batch_id"] = {"$nin": [str(b) for b in skip]}
    entry = collection(dataset).find_one(query, sort=[("at", -1), ("_id", -1)])
    return entry["batch_id"] if entry else None


@store.dataset_or_name
def audit_log(dataset, sample_id: str | None = None, annotator: str | None = None,
              batch_id: str | None = None, limit: int = 0) -> pd.DataFrame:
    """The dataset's audit log as a DataFrame, newest first, optionally filtered (names case-insensitively)."""
    query = {k: v for k, v in {"sample_id": sample_id and str(sample_id), "batch_id": batch_id}.items() if v}
    if annotator:
        query["annotator_key"] = annotator_key(annotator)
    cursor = collection(dataset).find(query | APPLIED).sort([("at", -1), ("_id", -1)]).limit(limit)
    rows = [{**doc, "edit_id": str(doc["_id"])} for doc in cursor]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def as_text(value):
    """A logged old/new value as it reads in a table or CSV cell: scalars as they are, lists as JSON."""
    return value if value is None or isinstance(value, (str, bool, int, float)) else json.dumps(value)


@store.dataset_or_name
def export_log(dataset, path: str | Path | None = None, fmt: str | None = None) -> str:
    """The log as CSV or JSON text (``fmt`` or the suffix of ``path``); also written to ``path`` if given."""
    fmt = (fmt or (Path(path).suffix.lstrip(".") if path else "csv")).lower()
    if fmt not in ("csv", "json"):
        raise ValueError(f"Cannot export the audit log as {fmt!r}: use 'csv' or 'json' (e.g. audit.csv).")
    frame = audit_log(dataset)
    frame["at"] = frame["at"].map(lambda t: t.isoformat())
    if fmt == "csv":
        for column in ("old", "new"):
            frame[column] = frame[column].map(as_text)
        text = frame.to_csv(index=False)
    else:
        text = json.dumps(frame.to_dict(orient="records"), indent=1, default=str)
    if path:
        Path(path).write_text(text)
    return text
