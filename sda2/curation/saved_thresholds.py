"""Per-class confidence thresholds saved with a dataset: one small document each, changed atomically, audited.

Stored in the collection ``sda2_thresholds`` (one document per dataset id: the pairs [class, threshold],
a version number, and the ids of the audit entries that wrote it), not in ``dataset.info``: a save is one
conditional update of that document (on its version), so two people saving at once never drop each
other's classes, and it follows the write-ahead protocol of :mod:`sda2.curation.audit` (field
``thresholds``, old and new as dicts, annotator required), so a kill -9 anywhere leaves the log exact.
Thresholds saved by older versions in ``dataset.info["sda2_thresholds"]`` are read until the first save.
Each save (and legacy thresholds, on first read) is also recorded as the FiftyOne run ``sda2_thresholds``
(:mod:`sda2.runs`): the thresholds as its parameters and the label version they were saved at, so
``sda2.list_runs`` shows them and how many labels were edited since. The run owns no field or array: deleting
it drops the record, never the thresholds (a human decision, changed only by another audited save).
"""

from __future__ import annotations

from datetime import datetime, timezone

from bson import ObjectId
from pymongo.errors import DuplicateKeyError

from sda2 import faults, runs, store
from sda2.curation import audit

import fiftyone.core.odm as foo  # noqa: E402  (sda2.store has started the database)

COLLECTION = "sda2_thresholds"
LEGACY_KEY = "sda2_thresholds"  # where older versions kept them: dataset.info
RUN_KEY = "sda2_thresholds"  # the FiftyOne run recording the saved thresholds
FIELD = "thresholds"  # the field name of their audit entries
MAX_ROUNDS = 20


def collection():
    """The collection holding every dataset's saved thresholds (one document per dataset id)."""
    return foo.get_db_conn()[COLLECTION]


def _stored(dataset) -> tuple[dict | None, dict]:
    """(the stored document or None, the thresholds it holds, or the legacy ones when there is none)."""
    doc = collection().find_one({"_id": audit.dataset_id(dataset)})
    if doc is not None:
        return doc, {str(c): float(t) for c, t in doc.get("pairs") or []}
    legacy = {str(c): float(t) for c, t in (dataset._root_dataset.info.get(LEGACY_KEY) or {}).items()}
    if legacy and runs.state(dataset, RUN_KEY) is None:  # saved before runs: recorded on first read
        runs.record(dataset._root_dataset, RUN_KEY, "thresholds", params={"thresholds": list(legacy.items())},
                    legacy=True)
    return None, legacy


def load(dataset) -> dict[str, float]:
    """The per-class confidence thresholds saved with ``dataset`` ({} when none were saved)."""
    return _stored(dataset)[1]


def save(dataset, thresholds: dict, annotator: str, reason: str = "") -> dict[str, float]:
    """Merge ``thresholds`` into the saved ones with one atomic, journaled, audited update; returns them all."""
    name = audit.annotator_name(annotator)
    root = dataset._root_dataset
    key = audit.dataset_id(root)
    wanted = {str(c): float(t) for c, t in thresholds.items()}
    batch_id = str(ObjectId())
    for _ in range(MAX_ROUNDS):
        doc, old = _stored(root)
        new = {**old, **wanted}
        if new == old:
            return new
        version = doc["version"] if doc else 0
        entry = {"_id": ObjectId(), "sample_id": None, "field": FIELD, "old": old, "new": new, "annotator": name,
                 "annotator_key": name.casefold(), "at": datetime.now(timezone.utc), "batch_id": batch_id,
                 "reason": reason or "saved confidence thresholds", "kind": "thresholds", "undoes": None,
                 "undone": False, "undone_by": None, "target": {"collection": COLLECTION, "_id": key}}
        audit.record(root, [entry])
        faults.point("saved_thresholds.after_record")
        try:
            outcome = store.durable(collection()).update_one(
                {"_id": key, "version": version},
                {"$set": {"pairs": [[c, t] for c, t in new.items()], "version": version + 1, "dataset": root.name},
                 "$push": {audit.EDIT_IDS_FIELD: {"$each": [str(entry["_id"])], "$slice": -audit.KEEP_IDS}}},
                upsert=True)
            won = outcome.matched_count == 1 or outcome.upserted_id is not None
        except DuplicateKeyError:  # another save created the document first
            won = False
        faults.point("saved_thresholds.before_settle")
        audit.settle(root, [entry] if won else [], [] if won else [entry["_id"]])
        if won:
            runs.record(root, RUN_KEY, "thresholds", params={"thresholds": list(new.items())}, annotator=name,
                        classes=len(new))
            return new
    raise RuntimeError(f"The thresholds of {root.name!r} kept changing under {MAX_ROUNDS} tries to save them. "
                       "Fix: save again when the other person is done.")
