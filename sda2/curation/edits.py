"""The one write path for human decisions: label edits, tags and curation marks, logged and undoable.

Every write is a conditional update: the sample's field is replaced only if it still holds exactly the
stored value the change was based on, so two curators editing the same sample never silently overwrite
each other: the second write is rejected with an :class:`EditConflict` that shows the current value and
who set it. A change made without an expected value (``UNSET``) never conflicts: if the value moved
between the read and the write, it is read again and written over, and the log keeps the value it replaced.

Each change appends an entry to the audit log (:mod:`sda2.curation.audit`); changes made together share
a batch id, and :func:`undo` reverses an edit or a batch (itself logged and conflict-checked).

Write-ahead, exactly: the entries are logged *pending* first; the one conditional update per sample that
makes a sample's changes also pushes their entry ids onto the sample (``sda2_edit_ids``); then an entry
is confirmed if its id is on the sample and deleted if not. A process killed anywhere in between leaves
pending entries that :func:`sda2.curation.audit.reconcile` settles by the same rule the next time the
log is opened, so every change in the data has its entry and no entry claims a write that did not happen.
All of a sample's changes in one batch (e.g. a label, its tag and its confidence) are one update: they
happen together or not at all. Writes use journaled acknowledgement (:func:`sda2.store.durable`).
Marks (reviewed / ambiguous / excluded) and free tags are sample tags written the same way.
The sample's ``last_modified_at`` is set on every write, so caches keyed on it see the change at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

from bson import ObjectId
from pymongo import UpdateOne

from sda2 import faults, label_documents, store
from sda2.curation import audit
from sda2.curation.kinds import TAG_PREFIX, Decision, Mark, parse, tag_field, tag_name

import fiftyone.core.odm as foo  # noqa: E402  (sda2.store has started the database)

MARKS = tuple(m.value for m in Mark)  # the plain strings, for pickers
EDIT_IDS = audit.EDIT_IDS_FIELD
WRITE_CHUNK = 1000  # samples per bulk write (the lease of the pending entries is renewed between chunks)
MAX_ROUNDS = 20  # how often a change without an expected value is re-read and retried when it keeps losing
DECISIONS = tuple(d.value for d in Decision)


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

    def __init__(self, conflicts: list[Conflict], applied: int = 0, batch_id: str | None = None,
                 context: str = "", fix: str = ""):
        self.conflicts = conflicts
        self.applied = applied
        self.batch_id = batch_id
        lines = "; ".join(c.describe() for c in conflicts[:5])
        more = f" (and {len(conflicts) - 5} more)" if len(conflicts) > 5 else ""
        done = f" {applied} other change(s) of the batch were written." if applied else " Nothing was written."
        fix = fix or "reload the sample(s), look at the current value and decide again."
        super().__init__(f"{context}Edit conflict: {lines}{more}.{done} Fix: {fix}")


@dataclass
class BatchResult:
    """What one call wrote: its batch id, the ids of the log entries, and the changes skipped as conflicts."""

    batch_id: str
    edit_ids: list[str] = dc_field(default_factory=list)
    conflicts: list[Conflict] = dc_field(default_factory=list)

    def __len__(self) -> int:
        return len(self.edit_ids)


@dataclass
class Change:
    """One wanted change of one sample: a label field, a tag ("tags:<name>", new True/False) or a plain field."""

    sample_id: ObjectId
    field: str  # a label field, "tags:<name>" for a tag or mark, or a declared plain field (e.g. a confidence)
    expected: object  # plain value the caller saw, or UNSET
    new: object  # plain value wanted
    kind: str = "label"  # what the log calls it: label, mark, tag, value or undo
    undoes: str | None = None




# ---------------------------------------------------------------- plain values <-> stored documents

def plain(raw, kind: str):
    """The plain value of a stored label document: a class name, sorted tags, or boxes."""
    return label_documents.decode(raw, kind)


def normalize(value, kind: str):
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


def check_classes(dataset, field: str, kind: str, values, allow_new_class: bool) -> None:
    """Refuse class names ``field`` does not know (unless ``allow_new_class``), naming them and the classes."""
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


# ---------------------------------------------------------------- fields the write path needs declared

_declared: set[tuple[str, str]] = set()
_FTYPES = {"list_of_strings": ("fiftyone.core.fields.ListField", "fiftyone.core.fields.StringField"),
           "float": ("fiftyone.core.fields.FloatField", None)}


def declare_field(dataset, name: str, ftype: str, description: str = "") -> None:
    """Declare sample field ``name`` (``ftype`` "float" or "list_of_strings") on the root dataset if missing,
    atomically, so several processes doing it at once neither clash nor drop each other's fields."""
    root = dataset._root_dataset
    if (str(root._doc.id), name) in _declared:
        return
    if name not in root.get_field_schema():
        root.reload()
    if name not in root.get_field_schema():
        kind, sub = _FTYPES[ftype]
        doc = {"name": name, "ftype": kind, "embedded_doc_type": None, "subfield": sub, "fields": [],
               "db_field": name, "description": description or None, "info": None, "read_only": False,
               "created_at": datetime.now(timezone.utc).replace(tzinfo=None)}
        store.durable(foo.get_db_conn().datasets).update_one(
            {"_id": root._doc.id, "sample_fields.name": {"$ne": name}}, {"$push": {"sample_fields": doc}})
        root.reload()
    _declared.add((str(root._doc.id), name))


def _field_kinds(dataset, fields) -> dict[str, str]:
    """field -> "tag", a label kind, or "value" (a declared plain field)."""
    labels = {f.name: f.kind for f in store.label_fields(dataset)}
    schema = dataset.get_field_schema()
    kinds = {}
    for field in fields:
        if field.startswith(TAG_PREFIX):
            kinds[field] = "tag"
        elif field in labels:
            kinds[field] = labels[field]
        elif field in schema and field not in ("id", "filepath", "tags", EDIT_IDS):
            kinds[field] = "value"
        else:
            raise KeyError(f"Dataset {dataset.name!r} has no editable field {field!r} (label fields: "
                           f"{', '.join(labels) or 'none'}).")
    return kinds


# ---------------------------------------------------------------- the write path

def _conflict(dataset, change: Change, current, batch_id: str) -> Conflict:
    entry = audit.last_setter(dataset, str(change.sample_id), change.field, current, exclude_batch=batch_id)
    return Conflict(str(change.sample_id), change.field, change.expected, current, change.new,
                    entry and entry["annotator"], entry and entry["at"], entry and entry.get("reason"))


def _current(doc: dict, field: str, kind: str):
    if kind == "tag":
        return tag_name(field) in (doc.get("tags") or [])
    return doc.get(field) if kind == "value" else plain(doc.get(field), kind)


def _plan(doc: dict, group: list[Change], kinds: dict, now: datetime):
    """(update filter, update, [(change, old value)], [(change, current value)] conflicts) for one sample."""
    filt, sets, conds, adds, pulls, planned, conflicts = {"_id": doc["_id"]}, {}, [], [], [], [], []
    for change in group:
        kind = kinds[change.field]
        current = _current(doc, change.field, kind)
        wanted = change.new
        if change.expected is not UNSET:
            expected = change.expected if kind in ("tag", "value") else normalize(change.expected, kind)
            if expected != current:
                conflicts.append((change, current))
                continue
        if wanted == current:
            continue
        if kind == "tag":
            tag = tag_name(change.field)
            (adds if wanted else pulls).append(tag)
            conds.append({"tags": {"$ne": tag}} if wanted else {"tags": tag})
        else:
            old_raw = doc.get(change.field)
            sets[change.field] = wanted if kind == "value" else label_documents.encode(wanted, kind, old_raw)
            conds.append({change.field: old_raw})
        planned.append((change, current))
    if conflicts or not planned:
        return None, None, [], conflicts
    update = {"$set": {**sets, "last_modified_at": now}}
    if adds and pulls:  # one path cannot take $addToSet and $pull at once: write the whole list, conditionally
        old_tags = list(doc.get("tags") or [])
        update["$set"]["tags"] = [t for t in old_tags if t not in pulls] + [t for t in adds if t not in old_tags]
        conds = [c for c in conds if "tags" not in c] + [{"tags": old_tags}]
    elif adds:
        update["$addToSet"] = {"tags": {"$each": adds}}
    elif pulls:
        update["$pull"] = {"tags": {"$in": pulls}}
    filt["$and"] = conds
    return filt, update, planned, []


def _write(dataset, coll, ops: list, batch_id: str) -> int:
    """Bulk-write ``ops`` in chunks (journaled), renewing the lease of the batch's pending entries; matched."""
    matched, renewed = 0, time.monotonic()
    durable = store.durable(coll)
    for start in range(0, len(ops), WRITE_CHUNK):
        if time.monotonic() - renewed > audit.LEASE_S / 4:
            audit.renew(dataset, batch_id)
            renewed = time.monotonic()
        matched += durable.bulk_write(ops[start:start + WRITE_CHUNK], ordered=False).matched_count
        faults.point("edits.after_chunk")
    return matched


def apply_changes(dataset, changes: list[Change], annotator: str, reason: str, on_conflict: str = "raise",
                  meta: dict | None = None, batch_id: str | None = None) -> BatchResult:
    """Write ``changes`` as one logged batch (write-ahead, one conditional update per sample), report conflicts.

    ``on_conflict="raise"`` writes nothing when a conflict is seen before writing; "skip" writes the rest.
    Changes without an expected value that lose a race are read again and retried, never reported.
    """
    if on_conflict not in ("raise", "skip"):
        raise ValueError(f"on_conflict must be 'raise' or 'skip', not {on_conflict!r}.")
    name = audit.annotator_name(annotator)
    result = BatchResult(batch_id or str(ObjectId()))
    if not changes:
        return result
    root = dataset._root_dataset
    seen = set()
    for change in changes:
        if (change.sample_id, change.field) in seen:
            raise ValueError(f"Sample {change.sample_id} appears twice for {change.field!r} in one batch. Nothing "
                             "was written. Fix: pass one change per sample and field.")
        seen.add((change.sample_id, change.field))
    kinds = _field_kinds(root, {c.field for c in changes})
    declare_field(root, EDIT_IDS, "list_of_strings",
                  "sda2: ids of the audit-log entries that wrote this sample, newest last")
    coll = root._sample_collection
    groups: dict[ObjectId, list[Change]] = {}
    for change in changes:
        groups.setdefault(change.sample_id, []).append(change)
    fields = {f: 1 for f in kinds if not f.startswith(TAG_PREFIX)} | {"tags": 1}
    for round_ in range(MAX_ROUNDS):
        docs = {d["_id"]: d for d in coll.find({"_id": {"$in": list(groups)}}, fields)}
        missing = [str(i) for i in groups if i not in docs]
        if missing:
            if round_ == 0:
                raise ValueError(f"No sample(s) {missing[:5]} in dataset {root.name!r}. Nothing was written. "
                                 "Fix: pass ids of this dataset's samples.")
            groups = {k: v for k, v in groups.items() if k in docs}  # deleted meanwhile: nothing to change
        now = datetime.now(timezone.utc)
        ops, entries_of, conflicts = [], {}, []
        for sid, group in groups.items():
            filt, update, planned, lost = _plan(docs[sid], group, kinds, now)
            conflicts += [_conflict(root, c, current, result.batch_id) for c, current in lost]
            if not planned:
                continue
            entries = [{"_id": ObjectId(), "sample_id": str(sid), "field": c.field, "old": old, "new": c.new,
                        "annotator": name, "annotator_key": name.casefold(), "at": now, "reason": reason,
                        "batch_id": result.batch_id, "kind": c.kind, "undoes": c.undoes, "undone": False,
                        "undone_by": None, **({"linked": False} if c.kind == "undo" else {}),
                        **({"meta": meta} if meta else {})} for c, old in planned]
            update["$push"] = {EDIT_IDS: {"$each": [str(e["_id"]) for e in entries], "$slice": -audit.KEEP_IDS}}
            ops.append(UpdateOne(filt, update))
            entries_of[sid] = entries
        if conflicts and on_conflict == "raise" and round_ == 0:
            raise EditConflict(conflicts)
        result.conflicts += conflicts
        if not ops:
            groups = {}
            break
        audit.record(root, [e for entries in entries_of.values() for e in entries])
        faults.point("edits.after_record")
        matched = _write(root, coll, ops, result.batch_id)
        faults.point("edits.after_write")
        if matched == len(ops):
            won = set(entries_of)
        else:  # some lost a race: the entry ids on the samples say exactly which writes happened
            stored = {d["_id"]: set(d.get(EDIT_IDS) or [])
                      for d in coll.find({"_id": {"$in": list(entries_of)}}, {EDIT_IDS: 1})}
            won = {sid for sid, entries in entries_of.items() if str(entries[0]["_id"]) in stored.get(sid, ())}
        faults.point("edits.before_settle")
        audit.settle(root, [e for sid in won for e in entries_of[sid]],
                     [e["_id"] for sid, entries in entries_of.items() if sid not in won for e in entries])
        result.edit_ids += [str(e["_id"]) for sid in entries_of if sid in won for e in entries_of[sid]]
        groups = {sid: groups[sid] for sid in entries_of if sid not in won}  # read again, decide again
        if not groups:
            break
    if groups:  # kept losing for MAX_ROUNDS rounds: report them rather than loop on
        docs = {d["_id"]: d for d in coll.find({"_id": {"$in": list(groups)}}, fields)}
        result.conflicts += [_conflict(root, c, _current(docs[sid], c.field, kinds[c.field]), result.batch_id)
                             for sid, group in groups.items() if sid in docs for c in group[:1]]
    if result.conflicts and on_conflict == "raise":
        raise EditConflict(result.conflicts, applied=len(result.edit_ids), batch_id=result.batch_id)
    return result




@store.dataset_or_name
def set_label(dataset, sample_id, new_label, annotator: str, reason: str = "", expected_old=UNSET,
              field: str = "ground_truth", allow_new_class: bool = False, meta: dict | None = None) -> str | None:
    """Set one sample's label; returns the edit id (None when it already had that label).

    ``expected_old`` is the value the decision was based on; when the stored value differs, nothing is
    written and :class:`EditConflict` says what is stored and who set it. Without it the label is written
    over whatever is stored (the log keeps the value it replaced).
    """
    result = set_labels(dataset, [(sample_id, new_label, expected_old)], annotator, reason, field=field,
                        allow_new_class=allow_new_class, meta=meta)
    return result.edit_ids[0] if result.edit_ids else None


@store.dataset_or_name
def set_labels(dataset, changes, annotator: str, reason: str = "", field: str = "ground_truth",
               on_conflict: str = "raise", allow_new_class: bool = False, meta: dict | None = None) -> BatchResult:
    """Set many labels as one batch: ``changes`` is a dict {sample_id: label}, (id, label[, expected_old])
    tuples, or a DataFrame with columns sample_id, new_label[, expected_old].

    ``on_conflict="raise"`` writes nothing when a conflict is seen before writing; "skip" writes the rest
    and lists the conflicts in the result.
    """
    audit.annotator_name(annotator)
    if hasattr(changes, "to_dict") and hasattr(changes, "columns"):
        cols = ["sample_id", "new_label"] + (["expected_old"] if "expected_old" in changes.columns else [])
        changes = list(changes[cols].itertuples(index=False, name=None))
    elif isinstance(changes, dict):
        changes = list(changes.items())
    kind = store.label_kind(dataset, field)
    rows = [(sid, new, rest[0] if rest else UNSET) for sid, new, *rest in changes]
    news = [normalize(new, kind) for _, new, _ in rows]
    check_classes(dataset, field, kind, news, allow_new_class)
    oids = _object_ids(sid for sid, _, _ in rows)
    return apply_changes(dataset, [Change(oid, field, exp, new) for oid, (_, _, exp), new in zip(oids, rows, news)],
                         annotator, reason, on_conflict, meta)


def _ids(sample_ids) -> list[ObjectId]:
    return _object_ids([sample_ids] if isinstance(sample_ids, str) else sample_ids)


@store.dataset_or_name
def mark(dataset, sample_ids, name: str, annotator: str, reason: str = "", on: bool = True) -> BatchResult:
    """Set (``on``) or clear a curation mark (reviewed / ambiguous / excluded) on samples, as one batch."""
    field = parse(Mark, name, "mark").field
    changes = [Change(oid, field, UNSET, bool(on), kind="mark") for oid in _ids(sample_ids)]
    return apply_changes(dataset, changes, annotator, reason, "raise")


def _checked_tag(name) -> str:
    """A tag name given by a user, stripped (ValueError when empty); :func:`kinds.tag_name` reads one from a field."""
    text = str(name).strip() if isinstance(name, str) else ""
    if not text:
        raise ValueError(f"A tag needs a name, got {name!r}. Fix: pass a non-empty tag name, e.g. 'check-later'.")
    return text


@store.dataset_or_name
def tag(dataset, sample_ids, name: str, annotator: str, reason: str = "") -> BatchResult:
    """Add sample tag ``name`` to ``sample_ids`` as one logged, undoable batch (samples already tagged are left)."""
    name = _checked_tag(name)
    return apply_changes(dataset, [Change(oid, tag_field(name), UNSET, True, kind="tag") for oid in _ids(sample_ids)],
                         annotator, reason or f"tag {name}", "raise")


@store.dataset_or_name
def untag(dataset, sample_ids, name: str, annotator: str, reason: str = "") -> BatchResult:
    """Remove sample tag ``name`` from ``sample_ids`` as one logged, undoable batch."""
    name = _checked_tag(name)
    return apply_changes(dataset, [Change(oid, tag_field(name), UNSET, False, kind="tag") for oid in _ids(sample_ids)],
                         annotator, reason or f"untag {name}", "raise")


@store.dataset_or_name
def review(dataset, sample_id, decision: str, annotator: str, new_label=None, expected_old=UNSET,
           field: str = "ground_truth", reason: str = "") -> BatchResult:
    """Record a curator's decision on a suspect, as one undoable batch that also marks it reviewed.

    ``decision``: "accept" / "relabel" (write ``new_label``), "keep" (leave it), "ambiguous" or "exclude".
    """
    decision = parse(Decision, decision, "decision")
    (oid,) = _object_ids([sample_id])
    kind = store.label_kind(dataset, field)
    changes = [Change(oid, Mark.REVIEWED.field, UNSET, True, kind="mark")]
    if decision in (Decision.ACCEPT, Decision.RELABEL):
        if new_label is None:
            raise ValueError(f"Decision {decision!r} needs new_label. Fix: pass the label to write.")
        new = normalize(new_label, kind)
        check_classes(dataset, field, kind, [new], allow_new_class=False)
        changes.insert(0, Change(oid, field, expected_old, new))
    elif decision in (Decision.AMBIGUOUS, Decision.EXCLUDE):
        mark_ = {Decision.AMBIGUOUS: Mark.AMBIGUOUS, Decision.EXCLUDE: Mark.EXCLUDED}[decision]
        changes.append(Change(oid, mark_.field, UNSET, True, kind="mark"))
    return apply_changes(dataset, changes, annotator, reason or decision.value, "raise")


@store.dataset_or_name
def resolve_group(dataset, member_ids, keep_ids, annotator: str, reason: str = "") -> BatchResult:
    """Settle a duplicate group as one batch: members not in ``keep_ids`` are marked excluded, all reviewed.

    Exclusion is a mark, not a deletion: :func:`sda2.curation.queries.training_view` leaves them out.
    """
    members, keep = _object_ids(member_ids), set(_object_ids(keep_ids))
    if not keep <= set(members):
        raise ValueError("keep_ids must be members of the group. Fix: pick samples shown in the group.")
    changes = [Change(oid, Mark.REVIEWED.field, UNSET, True, kind="mark") for oid in members]
    changes += [Change(oid, Mark.EXCLUDED.field, UNSET, True, kind="mark") for oid in members if oid not in keep]
    changes += [Change(oid, Mark.EXCLUDED.field, UNSET, False, kind="mark") for oid in members if oid in keep]
    return apply_changes(dataset, changes, annotator,
                         reason or f"duplicate group: keep {len(keep)} of {len(members)}", "raise")


@store.dataset_or_name
def undo(dataset, edit_or_batch_id: str, annotator: str, reason: str = "") -> BatchResult:
    """Undo one edit or a whole batch: restore the old values (conflict-checked, logged as a new batch)."""
    annotator = audit.annotator_name(annotator)
    key = str(edit_or_batch_id)
    entries = audit.find(dataset, batch_id=key) or (audit.find(dataset, _id=ObjectId(key))
                                                    if ObjectId.is_valid(key) else [])
    if not entries:
        raise ValueError(f"No edit or batch {key!r} in the audit log of {dataset.name!r}. "
                         "Fix: take an edit_id or batch_id from sda2.audit_log(dataset).")
    if any(e.get("target") for e in entries):
        raise ValueError(f"{key!r} changed {entries[0]['field']!r}, which is not a sample field; undo does not "
                         "apply. Fix: save the old value again (it is in the entry's 'old').")
    todo = [e for e in entries if not e["undone"]]
    if not todo:
        raise ValueError(f"{key!r} was undone already (by {entries[0]['undone_by']}). Nothing to do.")
    labels = {f.name for f in store.label_fields(dataset._root_dataset)}
    changes = [Change(ObjectId(e["sample_id"]), e["field"], e["new"] if e["field"] in labels else UNSET,
                      e["old"], kind="undo", undoes=str(e["_id"])) for e in todo]
    try:
        result = apply_changes(dataset, changes, annotator, reason or f"undo {key}", "raise")
    except EditConflict as exc:
        if exc.applied:
            _link(dataset, exc.batch_id)
        raise
    faults.point("edits.before_mark_undone")
    _link(dataset, result.batch_id)
    return result


def _link(dataset, undo_batch: str) -> None:
    """Flag the entries undone by the entries of batch ``undo_batch`` (reconcile does it after a crash)."""
    audit.mark_undone(dataset, {ObjectId(e["undoes"]): e["_id"] for e in audit.find(dataset, batch_id=undo_batch)
                                if e.get("undoes")})


@store.dataset_or_name
def undo_last(dataset, annotator: str, skip=()) -> BatchResult | None:
    """Undo ``annotator``'s newest batch that is not itself an undo (batch ids in ``skip`` passed over); None
    if none. A batch that cannot be undone (its samples changed since) raises :class:`EditConflict` naming it."""
    annotator = audit.annotator_name(annotator)
    skip = tuple(skip)
    batch_id = audit.last_batch(dataset, annotator, skip)
    if batch_id is None:
        return None
    try:
        return undo(dataset, batch_id, annotator)
    except EditConflict as exc:
        raise EditConflict(
            exc.conflicts, exc.applied, batch_id,
            context=f"Cannot undo {annotator}'s last batch {batch_id}: its samples changed since. ",
            fix=(f"undo the later change(s) first, or pass skip={[*skip, batch_id]!r} to undo_last to undo the "
                 "batch before it.")) from None
