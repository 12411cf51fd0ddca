"""The one write path for human decisions: label edits and curation marks, logged and undoable.

Every write is a conditional update: the sample's field is replaced only if it still holds exactly the
stored value the change was based on, so two curators editing the same sample never silently overwrite
each other: the second write is rejected with an :class:`EditConflict` that shows the current value and
who set it. Each change appends an entry to the audit log (:mod:`sda2.curation.audit`); changes made
together share a batch id, and :func:`undo` reverses an edit or a batch (itself logged and
conflict-checked). Entries are logged before the write and confirmed after it, so no write goes unlogged.
Marks (reviewed / ambiguous / excluded) are sample tags written the same way.
The sample's ``last_modified_at`` is set on every write, so caches keyed on it see the change at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from bson import ObjectId
from pymongo import UpdateOne

from sda2 import store
from sda2.curation import audit

MARKS = ("reviewed", "ambiguous", "excluded")
DECISIONS = ("accept", "relabel", "keep", "ambiguous", "exclude")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET = _Unset()  # "no expectation": write over whatever is stored now (still race-safe)


@dataclass(frozen=True)
class Conflict:
    """A change that was not written because the stored value differs from the one it was based on."""

    sample_id: str
    field: str
    expected: object
    current: object
    wanted: object
    set_by: str | None
    set_at: datetime | None
    set_reason: str | None

    def describe(self) -> str:
        """One sentence: what is stored now, who set it, and what was not written."""
        who = (f"set by {self.set_by} at {self.set_at:%Y-%m-%d %H:%M:%S} UTC"
               + (f" ({self.set_reason})" if self.set_reason else "")) if self.set_by else \
            "set outside sda2's edit path (import or detection)"
        return (f"sample {self.sample_id}: {self.field} is now {self.current!r}, {who}; you expected "
                f"{self.expected!r}, so {self.wanted!r} was not written")


class EditConflict(RuntimeError):
    """The stored value changed under an edit; the message shows the current value and who set it."""

    def __init__(self, conflicts: list[Conflict], applied: int = 0):
        self.conflicts = conflicts
        self.applied = applied
        lines = "; ".join(c.describe() for c in conflicts[:5])
        more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
        done = f" {applied} other change(s) of the batch were written." if applied else " Nothing was written."
        super().__init__(f"Edit conflict: {lines}{more}.{done} Fix: reload the sample(s), look at the current "
                         "value and decide again.")


@dataclass
class BatchResult:
    """What one call wrote: its batch id, the ids of the log entries, and the changes skipped as conflicts."""

    batch_id: str
    edit_ids: list[str] = dc_field(default_factory=list)
    conflicts: list[Conflict] = dc_field(default_factory=list)

    def __len__(self) -> int:
        return len(self.edit_ids)


@dataclass
class _Change:
    sample_id: ObjectId
    field: str  # a label field, or "tags:<mark>" for a mark
    expected: object  # plain value the caller saw, or UNSET
    new: object  # plain value wanted
    kind: str = "label"
    undoes: str | None = None


# ---------------------------------------------------------------- plain values <-> stored documents

def _plain(raw, kind: str):
    """The plain value of a stored label document: a class name, sorted tags, or boxes."""
    if kind == "classification":
        return None if raw is None else raw.get("label")
    if kind == "multilabel":
        return sorted({c["label"] for c in (raw or {}).get("classifications") or []})
    return [{"label": d["label"], "bounding_box": [float(v) for v in d["bounding_box"]]}
            for d in (raw or {}).get("detections") or []]


def _normalize(value, kind: str):
    """``value`` as the plain value of ``kind`` (so comparisons do not depend on order or types)."""
    if value is None or kind == "classification":
        return None if value is None else str(value)
    if kind == "multilabel":
        if isinstance(value, str):
            raise ValueError(f"A multi-label value must be a list of tag names, not the string {value!r}.")
        return sorted({str(v) for v in value})
    boxes = []
    for box in value:
        label, bbox = (box["label"], box["bounding_box"]) if isinstance(box, dict) else (box.label, box.bounding_box)
        boxes.append({"label": str(label), "bounding_box": [float(v) for v in bbox]})
    return boxes


def _raw(new, old_raw, kind: str):
    """The stored document for plain value ``new``, keeping what ``old_raw`` had beside it; fresh ids."""
    if new is None:
        return None
    if kind == "classification":
        base = dict(old_raw) if old_raw else {"_cls": "Classification", "tags": []}
        return {**base, "_id": ObjectId(), "label": new}
    if kind == "multilabel":
        base = dict(old_raw) if old_raw else {"_cls": "Classifications"}
        return {**base, "classifications": [{"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": t}
                                            for t in new]}
    base = dict(old_raw) if old_raw else {"_cls": "Detections"}
    return {**base, "detections": [{"_id": ObjectId(), "_cls": "Detection", "attributes": {}, "tags": [],
                                    "label": b["label"], "bounding_box": b["bounding_box"]} for b in new]}


def _check_classes(dataset, field: str, kind: str, values, allow_new_class: bool) -> None:
    if allow_new_class or kind == "detection":
        return
    known = set(store.classes(dataset, field))
    names = {v for value in values if value is not None for v in ([value] if kind == "classification" else value)}
    unknown = sorted(names - known)
    if unknown:
        raise ValueError(f"Unknown class name(s) {unknown} for {field!r} (classes: {sorted(known)}). Fix: pick "
                         "one of the classes, or pass allow_new_class=True to add a class.")


def _object_ids(sample_ids) -> list[ObjectId]:
    try:
        return [ObjectId(str(s)) for s in sample_ids]
    except Exception as exc:  # bson raises InvalidId / TypeError
        raise ValueError(f"Not a sample id: {exc}. Fix: pass ids from dataset.values('id').") from None


# ---------------------------------------------------------------- the write path

def _conflict(dataset, change: _Change, current, batch_id: str) -> Conflict:
    entry = audit.last_setter(dataset, str(change.sample_id), change.field, current, exclude_batch=batch_id)
    return Conflict(str(change.sample_id), change.field, change.expected, current, change.new,
                    entry and entry["annotator"], entry and entry["at"], entry and entry.get("reason"))


def _apply(dataset, changes: list[_Change], annotator: str, reason: str, on_conflict: str,
           meta: dict | None = None, batch_id: str | None = None) -> BatchResult:
    """Write ``changes`` as one batch: log them pending, write with conditional updates, confirm the entries
    that won and delete those that lost, report conflicts."""
    if on_conflict not in ("raise", "skip"):
        raise ValueError(f"on_conflict must be 'raise' or 'skip', not {on_conflict!r}.")
    if not annotator or not str(annotator).strip():
        raise ValueError("Every edit needs the annotator's name. Fix: pass annotator='your name' "
                         "(in the app: type your name in the sidebar).")
    result = BatchResult(batch_id or str(ObjectId()))
    if not changes:
        return result
    coll = dataset._sample_collection
    label_fields = sorted({c.field for c in changes if not c.field.startswith("tags:")})
    kinds = {f: store.label_kind(dataset, f) for f in label_fields}
    ids = list({c.sample_id for c in changes})
    docs = {d["_id"]: d for d in coll.find({"_id": {"$in": ids}}, {**{f: 1 for f in label_fields}, "tags": 1})}
    missing = [str(i) for i in ids if i not in docs]
    if missing:
        raise ValueError(f"No sample(s) {missing[:5]} in dataset {dataset.name!r}. Nothing was written. "
                         "Fix: pass ids of this dataset's samples.")
    now = datetime.now(timezone.utc)
    ops, planned, conflicts = [], [], []
    for change in changes:
        doc = docs[change.sample_id]
        if change.field.startswith("tags:"):
            tag = change.field[5:]
            current = tag in (doc.get("tags") or [])
            if current == change.new:
                continue  # a mark is a set membership: already in the wanted state
            update = {"$addToSet" if change.new else "$pull": {"tags": tag}, "$set": {"last_modified_at": now}}
            ops.append(UpdateOne({"_id": change.sample_id, "tags": {"$ne": tag} if change.new else tag}, update))
            planned.append((change, current, lambda d, t=tag, want=change.new: (t in (d.get("tags") or [])) == want))
            continue
        kind = kinds[change.field]
        old_raw = doc.get(change.field)
        current = _plain(old_raw, kind)
        if change.expected is not UNSET and _normalize(change.expected, kind) != current:
            conflicts.append(_conflict(dataset, change, current, result.batch_id))
            continue
        if change.new == current:
            continue
        new_raw = _raw(change.new, old_raw, kind)
        ops.append(UpdateOne({"_id": change.sample_id, change.field: old_raw},
                             {"$set": {change.field: new_raw, "last_modified_at": now}}))
        planned.append((change, current, lambda d, f=change.field, want=new_raw: d.get(f) == want))
    if conflicts and on_conflict == "raise":
        raise EditConflict(conflicts)
    entries = [{"_id": ObjectId(), "sample_id": str(c.sample_id), "field": c.field, "old": old, "new": c.new,
                "annotator": str(annotator).strip(), "at": now, "reason": reason, "batch_id": result.batch_id,
                "kind": c.kind, "undoes": c.undoes, "undone": False, "undone_by": None,
                **({"meta": meta} if meta else {})} for c, old, _ in planned]
    audit.record(dataset, entries)
    won = [True] * len(planned)
    if ops:
        outcome = coll.bulk_write(ops, ordered=False)
        if outcome.matched_count < len(ops):  # someone wrote in between: find out which changes lost
            after = {d["_id"]: d for d in coll.find({"_id": {"$in": [c.sample_id for c, _, _ in planned]}})}
            won = [check(after[c.sample_id]) for c, _, check in planned]
    audit.settle(dataset, [e["_id"] for e, ok in zip(entries, won) if ok],
                 [e["_id"] for e, ok in zip(entries, won) if not ok])
    for (change, _, _), ok in zip(planned, won):
        if not ok:
            field, doc = change.field, after[change.sample_id]
            now_value = ((field[5:] in (doc.get("tags") or [])) if field.startswith("tags:")
                         else _plain(doc.get(field), kinds[field]))
            conflicts.append(_conflict(dataset, change, now_value, result.batch_id))
    result.edit_ids = [str(e["_id"]) for e, ok in zip(entries, won) if ok]
    result.conflicts = conflicts
    if conflicts and on_conflict == "raise":
        raise EditConflict(conflicts, applied=len(result.edit_ids))
    return result


def set_label(dataset, sample_id, new_label, annotator: str, reason: str = "", expected_old=UNSET,
              field: str = "ground_truth", allow_new_class: bool = False, meta: dict | None = None) -> str | None:
    """Set one sample's label; returns the edit id (None when it already had that label).

    ``expected_old`` is the value the decision was based on; when the stored value differs, nothing is
    written and :class:`EditConflict` says what is stored and who set it.
    """
    result = set_labels(dataset, [(sample_id, new_label, expected_old)], annotator, reason, field=field,
                        allow_new_class=allow_new_class, meta=meta)
    return result.edit_ids[0] if result.edit_ids else None


def set_labels(dataset, changes, annotator: str, reason: str = "", field: str = "ground_truth",
               on_conflict: str = "raise", allow_new_class: bool = False, meta: dict | None = None) -> BatchResult:
    """Set many labels as one batch: ``changes`` is a dict {sample_id: label}, (id, label[, expected_old])
    tuples, or a DataFrame with columns sample_id, new_label[, expected_old].

    ``on_conflict="raise"`` writes nothing when a conflict is seen before writing; "skip" writes the rest
    and lists the conflicts in the result.
    """
    if hasattr(changes, "to_dict") and hasattr(changes, "columns"):
        cols = ["sample_id", "new_label"] + (["expected_old"] if "expected_old" in changes.columns else [])
        changes = list(changes[cols].itertuples(index=False, name=None))
    elif isinstance(changes, dict):
        changes = list(changes.items())
    kind = store.label_kind(dataset, field)
    rows = [(sid, new, rest[0] if rest else UNSET) for sid, new, *rest in changes]
    news = [_normalize(new, kind) for _, new, _ in rows]
    _check_classes(dataset, field, kind, news, allow_new_class)
    oids = _object_ids(sid for sid, _, _ in rows)
    return _apply(dataset, [_Change(oid, field, exp, new) for oid, (_, _, exp), new in zip(oids, rows, news)],
                  annotator, reason, on_conflict, meta)


def mark(dataset, sample_ids, name: str, annotator: str, reason: str = "", on: bool = True) -> BatchResult:
    """Set (``on``) or clear a curation mark (reviewed / ambiguous / excluded) on samples, as one batch."""
    if name not in MARKS:
        raise ValueError(f"Unknown mark {name!r}. Fix: use one of {', '.join(MARKS)}.")
    if isinstance(sample_ids, str):
        sample_ids = [sample_ids]
    changes = [_Change(oid, f"tags:{name}", UNSET, bool(on), kind="mark") for oid in _object_ids(sample_ids)]
    return _apply(dataset, changes, annotator, reason, "raise")


def review(dataset, sample_id, decision: str, annotator: str, new_label=None, expected_old=UNSET,
           field: str = "ground_truth", reason: str = "") -> BatchResult:
    """Record a curator's decision on a suspect, as one undoable batch that also marks it reviewed.

    ``decision``: "accept" / "relabel" (write ``new_label``), "keep" (leave it), "ambiguous" or "exclude".
    """
    if decision not in DECISIONS:
        raise ValueError(f"Unknown decision {decision!r}. Fix: use one of {', '.join(DECISIONS)}.")
    (oid,) = _object_ids([sample_id])
    kind = store.label_kind(dataset, field)
    changes = [_Change(oid, "tags:reviewed", UNSET, True, kind="mark")]
    if decision in ("accept", "relabel"):
        if new_label is None:
            raise ValueError(f"Decision {decision!r} needs new_label. Fix: pass the label to write.")
        new = _normalize(new_label, kind)
        _check_classes(dataset, field, kind, [new], allow_new_class=False)
        changes.insert(0, _Change(oid, field, expected_old, new))
    elif decision in ("ambiguous", "exclude"):
        changes.append(_Change(oid, "tags:" + {"ambiguous": "ambiguous", "exclude": "excluded"}[decision],
                               UNSET, True, kind="mark"))
    return _apply(dataset, changes, annotator, reason or decision, "raise")


def resolve_group(dataset, member_ids, keep_ids, annotator: str, reason: str = "") -> BatchResult:
    """Settle a duplicate group as one batch: members not in ``keep_ids`` are marked excluded, all reviewed.

    Exclusion is a mark, not a deletion: :func:`sda2.curation.views.training_view` leaves them out.
    """
    members, keep = _object_ids(member_ids), set(_object_ids(keep_ids))
    if not keep <= set(members):
        raise ValueError("keep_ids must be members of the group. Fix: pick samples shown in the group.")
    changes = [_Change(oid, "tags:reviewed", UNSET, True, kind="mark") for oid in members]
    changes += [_Change(oid, "tags:excluded", UNSET, True, kind="mark") for oid in members if oid not in keep]
    changes += [_Change(oid, "tags:excluded", UNSET, False, kind="mark") for oid in members if oid in keep]
    return _apply(dataset, changes, annotator, reason or f"duplicate group: keep {len(keep)} of {len(members)}",
                  "raise")


def undo(dataset, edit_or_batch_id: str, annotator: str, reason: str = "") -> BatchResult:
    """Undo one edit or a whole batch: restore the old values (conflict-checked, logged as a new batch)."""
    key = str(edit_or_batch_id)
    entries = audit.find(dataset, batch_id=key) or (audit.find(dataset, _id=ObjectId(key))
                                                    if ObjectId.is_valid(key) else [])
    if not entries:
        raise ValueError(f"No edit or batch {key!r} in the audit log of {dataset.name!r}. "
                         "Fix: take an edit_id or batch_id from sda2.audit_log(dataset).")
    todo = [e for e in entries if not e["undone"]]
    if not todo:
        raise ValueError(f"{key!r} was undone already (by {entries[0]['undone_by']}). Nothing to do.")
    changes = [_Change(ObjectId(e["sample_id"]), e["field"], UNSET if e["kind"] == "mark" else e["new"],
                       e["old"], kind="undo", undoes=str(e["_id"])) for e in todo]
    result = _apply(dataset, changes, annotator, reason or f"undo {key}", "raise")
    by_sample = {(e["sample_id"], e["undoes"]): e for e in audit.find(dataset, batch_id=result.batch_id)}
    audit.mark_undone(dataset, [e["_id"] for e in todo],
                      {e["_id"]: by_sample.get((e["sample_id"], str(e["_id"])), {}).get("_id", result.batch_id)
                       for e in todo})
    return result


def undo_last(dataset, annotator: str | None = None) -> BatchResult | None:
    """Undo the newest batch (by ``annotator`` when given) that is not itself an undo; None if none."""
    batch_id = audit.last_batch(dataset, annotator)
    return None if batch_id is None else undo(dataset, batch_id, annotator or "anonymous")
