"""The label version of a dataset: how many label edits it has had, read from its audit log.

**The version is the number of label writes that happened**: the audit entries (edits, reviews, auto-labels,
undos) of a label field whose write is on the sample. An entry counts when it is confirmed (``applied``) or,
still pending, when its id is already on the sample it changes (``sda2_edit_ids``): the same fact by which
:func:`sda2.curation.audit.reconcile` settles entries after a crash, so a kill -9 anywhere in an edit never
makes the number wrong (a write that happened counts, one that did not never does) and a later reconcile
does not move it. A separate counter bumped beside the edit could not promise that: the sample write and the
counter write are two documents, and a process killed between them leaves the counter off by one for good.

The version only grows: an undo is itself a label write, so one number never names two label states. How
stale a result is (:func:`changes_since`) is not the difference of two versions but the number of labels
that differ now from the ones the result saw: the entries after its version, per sample and field, the value
before the first against the value after the last. Edit then undo: 0 again; A→B→C on one sample: 1.
"""

from __future__ import annotations

from datetime import datetime

from bson import ObjectId

from sda2 import store  # (starts the database before FiftyOne connects)
from sda2.clock import as_utc

import fiftyone.core.odm as foo  # noqa: E402

AUDIT_PREFIX = "sda2_audit."  # the same as sda2.curation.audit.PREFIX (a test checks they agree)
EDIT_IDS_FIELD = "sda2_edit_ids"  # the same as sda2.curation.audit.EDIT_IDS_FIELD
ORDER = [("at", 1), ("_id", 1)]


def _root(dataset_or_name):
    return store.as_dataset(dataset_or_name)._root_dataset


def _log(root):
    return foo.get_db_conn()[AUDIT_PREFIX + store.dataset_id(root)]


def _query(root) -> dict:
    """Audit entries that change a label field of the dataset's samples (not tags, not other documents)."""
    fields = [f.name for f in store.label_fields(root)]
    return {"target": {"$exists": False}, "field": {"$in": fields}}


def _written_pending(root, query: dict) -> list[dict]:
    """Pending label entries whose write is on their sample already (counted as reconcile would confirm them)."""
    pending = list(_log(root).find({**query, "applied": False}, {"sample_id": 1, "field": 1, "old": 1, "new": 1,
                                                                  "at": 1}))
    if not pending:
        return []
    ids = [ObjectId(e["sample_id"]) for e in pending if ObjectId.is_valid(e.get("sample_id") or "")]
    on_samples = {str(d["_id"]): set(d.get(EDIT_IDS_FIELD) or [])
                  for d in root._sample_collection.find({"_id": {"$in": ids}}, {EDIT_IDS_FIELD: 1})}
    return [e for e in pending if str(e["_id"]) in on_samples.get(e["sample_id"], ())]


def label_version(dataset_or_name) -> int:
    """The dataset's label version: the number of label writes that happened (grows with every edit and undo)."""
    root = _root(dataset_or_name)
    query = _query(root)
    return _log(root).count_documents({**query, "applied": True}) + len(_written_pending(root, query))


def version_at(dataset_or_name, when) -> int:
    """The label version the dataset had at time ``when`` (a datetime or ISO text): writes logged until then."""
    root = _root(dataset_or_name)
    when = datetime.fromisoformat(when) if isinstance(when, str) else when
    when = as_utc(when)
    query = {**_query(root), "at": {"$lte": when.replace(tzinfo=None)}}
    return _log(root).count_documents({**query, "applied": True}) + len(_written_pending(root, query))


def changes_since(dataset_or_name, version: int) -> int:
    """How many labels (sample and field) differ now from the ones they had at label version ``version``."""
    root = _root(dataset_or_name)
    query = _query(root)
    written = _written_pending(root, query)
    total = _log(root).count_documents({**query, "applied": True}) + len(written)
    after = max(0, total - int(version))
    if not after:
        return 0
    newest = list(_log(root).find({**query, "applied": True}, {"sample_id": 1, "field": 1, "old": 1, "new": 1,
                                                                "at": 1}).sort([("at", -1), ("_id", -1)]).limit(after))
    entries = sorted(newest + written, key=lambda e: (e["at"], e["_id"]))[-after:]
    first: dict[tuple, object] = {}
    last: dict[tuple, object] = {}
    for entry in entries:
        where = (entry["sample_id"], entry["field"])
        first.setdefault(where, entry.get("old"))
        last[where] = entry.get("new")
    return sum(first[w] != last[w] for w in first)
