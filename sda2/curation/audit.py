"""The audit log of human decisions, kept with the dataset in the same MongoDB.

Each dataset has a collection of its own, ``sda2_audit.<dataset id>`` (the id survives renames; a clone
starts a fresh log). One document per change: who, when, which sample and field, old and new value,
why, the batch it belongs to, and whether it was undone. Logs of deleted datasets are dropped by
:func:`drop_orphans`, which runs whenever a log is first opened in a process.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sda2 import store  # noqa: F401  (starts the database before FiftyOne connects)

import fiftyone.core.odm as foo  # noqa: E402

PREFIX = "sda2_audit."
COLUMNS = ["edit_id", "at", "annotator", "sample_id", "field", "old", "new", "reason", "batch_id", "kind",
           "undoes", "undone", "undone_by"]
APPLIED = {"applied": True}  # entries are logged pending before their write, confirmed after it
_ready: set[str] = set()


def _dataset_id(dataset) -> str:
    return str(dataset._root_dataset._doc.id)


def collection(dataset):
    """The pymongo collection holding ``dataset``'s audit log (indexed on first use)."""
    name = PREFIX + _dataset_id(dataset)
    coll = foo.get_db_conn()[name]
    if name not in _ready:
        if not _ready:
            drop_orphans()
        coll.create_index([("sample_id", 1), ("field", 1), ("at", -1)])
        coll.create_index("batch_id")
        coll.create_index([("annotator", 1), ("at", -1)])
        _ready.add(name)
    return coll


def drop_orphans() -> list[str]:
    """Drop the audit logs of datasets that no longer exist; returns the dropped collection names."""
    conn = foo.get_db_conn()
    live = {str(d["_id"]) for d in conn.datasets.find({}, {"_id": 1})}
    dropped = [n for n in conn.list_collection_names() if n.startswith(PREFIX) and n[len(PREFIX):] not in live]
    for name in dropped:
        conn.drop_collection(name)
    return dropped


def record(dataset, entries: list[dict]) -> None:
    """Log ``entries`` as pending, before their write (so a write is never unlogged, even by a crash)."""
    if entries:
        collection(dataset).insert_many([{**e, "applied": False} for e in entries], ordered=True)


def settle(dataset, written: list, lost: list) -> None:
    """After the write: confirm the pending entries ``written`` (ids), delete those that ``lost``."""
    coll = collection(dataset)
    if written:
        coll.update_many({"_id": {"$in": written}}, {"$set": {"applied": True}})
    if lost:
        coll.delete_many({"_id": {"$in": lost}})


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


def mark_undone(dataset, edit_ids: list, undone_by: dict) -> None:
    """Flag the entries ``edit_ids`` as undone by the entries of ``undone_by`` (edit id -> undo entry id)."""
    from pymongo import UpdateOne

    ops = [UpdateOne({"_id": eid}, {"$set": {"undone": True, "undone_by": str(undone_by[eid])}}) for eid in edit_ids]
    if ops:
        collection(dataset).bulk_write(ops, ordered=False)


def last_batch(dataset, annotator: str | None = None) -> str | None:
    """Batch id of the newest change (not an undo, not undone), by ``annotator`` when given."""
    query = {"undone": False, "kind": {"$ne": "undo"}, **APPLIED}
    if annotator:
        query["annotator"] = annotator
    entry = collection(dataset).find_one(query, sort=[("at", -1), ("_id", -1)])
    return entry["batch_id"] if entry else None


def audit_log(dataset, sample_id: str | None = None, annotator: str | None = None,
              batch_id: str | None = None, limit: int = 0) -> pd.DataFrame:
    """The dataset's audit log as a DataFrame, newest first, optionally filtered."""
    query = {k: v for k, v in {"sample_id": sample_id and str(sample_id), "annotator": annotator,
                                "batch_id": batch_id}.items() if v} | APPLIED
    cursor = collection(dataset).find(query).sort([("at", -1), ("_id", -1)]).limit(limit)
    rows = [{**doc, "edit_id": str(doc["_id"])} for doc in cursor]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame


def as_text(value):
    """A logged old/new value as it reads in a table or CSV cell: scalars as they are, lists as JSON."""
    return value if value is None or isinstance(value, (str, bool, int, float)) else json.dumps(value)


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
