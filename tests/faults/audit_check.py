"""The invariant "data == audit log", checked from the stored documents after whatever recovery ran."""

from __future__ import annotations

from sda2 import store
from sda2.curation import audit

REOPEN = """
import json, sda2
from sda2.curation import audit
ds = sda2.open_dataset({name!r})
audit.audit_log(ds)   # the first open of the log in this process reconciles it
print("PENDING", audit.collection(ds).count_documents({{"applied": False}}))
"""


def value_of(doc: dict, field: str):
    """The plain stored value of ``field`` ("tags:x" -> membership, a classification -> its label)."""
    if field.startswith("tags:"):
        return field[5:] in (doc.get("tags") or [])
    value = doc.get(field)
    return value.get("label") if isinstance(value, dict) else value


def check(name: str, before: dict[str, dict]) -> dict:
    """Compare every sample of dataset ``name`` with its log: ``before`` maps sample id -> {field: value at
    import}. Returns counts; ``problems`` lists each mismatch (empty when data == log exactly)."""
    ds = store.open_dataset(name)
    coll = audit.collection(ds)
    entries = {str(e["_id"]): e for e in coll.find({})}
    pending = [e for e in entries.values() if not e["applied"]]
    problems = [f"pending entry {e['_id']} left after reconcile" for e in pending]
    seen = set()
    fields = {f for values in before.values() for f in values}
    for doc in ds._sample_collection.find({}):
        sid = str(doc["_id"])
        ids = doc.get(audit.EDIT_IDS_FIELD) or []
        for eid in ids:
            if eid not in entries or not entries[eid]["applied"]:
                problems.append(f"sample {sid}: write {eid} in the data has no applied audit entry")
        for field in fields | {e["field"] for e in entries.values() if e["sample_id"] == sid}:
            chain = [entries[eid] for eid in ids if eid in entries and entries[eid]["field"] == field]
            value = before[sid].get(field, False if field.startswith("tags:") else None)
            for entry in chain:
                if entry["old"] != value:
                    problems.append(f"sample {sid} {field}: entry {entry['_id']} replaced {entry['old']!r} but "
                                    f"{value!r} was stored (a lost update or a gap)")
                value = entry["new"]
            if value != value_of(doc, field):
                problems.append(f"sample {sid} {field}: stored {value_of(doc, field)!r}, log says {value!r}")
            seen.update(str(e["_id"]) for e in chain)
    for eid, entry in entries.items():
        if entry["applied"] and entry.get("sample_id") and eid not in seen:
            problems.append(f"applied entry {eid} ({entry['field']} of {entry['sample_id']}) has no write in the data")
    return {"entries": len(entries), "applied": sum(e["applied"] for e in entries.values()),
            "changed_samples": sum(1 for d in ds._sample_collection.find({}, {audit.EDIT_IDS_FIELD: 1})
                                   if d.get(audit.EDIT_IDS_FIELD)), "problems": problems}


def snapshot(name: str, fields=("ground_truth",)) -> dict[str, dict]:
    """{sample id: {field: stored value}} of dataset ``name``, for :func:`check` later."""
    ds = store.open_dataset(name)
    return {str(d["_id"]): {f: value_of(d, f) for f in fields} for d in ds._sample_collection.find({})}

