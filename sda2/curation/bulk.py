"""Act on many samples at once: relabel, tag, mark, exclude or queue a selection as ONE audited, undoable batch.

A selection comes from anywhere (grid multi-select, every sample matching a filter, a lasso on the map, a
confusion-matrix cell, a find-similar result). :func:`preview_bulk` reads the stored values first and says
what would change: how many samples, the counts per old → new label, and which samples are already in the
wanted state. :func:`apply_bulk` writes exactly that preview, through :mod:`sda2.curation.edits`, with the
values the preview saw as the expected ones: if another curator changed one of those samples since, nothing
is written and the :class:`~sda2.curation.edits.EditConflict` names the sample and who changed it. Each
apply is one batch of the audit log, so :func:`undo_bulk` (or ``sda2.undo(batch_id)``) reverses all of it.

"Add to a queue" makes a new labeling queue of the selection (queues live beside the dataset, not in
the samples); its undo deletes the queue while nobody has answered an item of it yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field as dc_field

import pandas as pd
from bson import ObjectId

from sda2 import store
from sda2.curation import audit, edits, queue as lq
from sda2.curation.kinds import Mark, tag_field

ACTIONS = ("relabel", "tag", "untag", "mark", "unmark", "exclude", "include", "queue", "accept")
TARGET_PRECISION = 0.95  # batch accept recommends the lowest confidence whose accepted suggestions reach this
NO_LABEL = "(no label)"
PREVIEW_IDS = 1000  # ids kept in a preview's lists shown to people (counts are always exact)


@dataclass
class BulkPreview:
    """What a bulk action would do to a selection, read from the stored values (counts exact)."""

    dataset: str
    action: str
    value: object
    field: str
    selected: int  # distinct samples in the selection
    change_ids: list[str]  # samples the action would change
    already_ids: list[str]  # samples already in the wanted state
    expected: dict = dc_field(default_factory=dict)  # sample id -> the stored value seen (relabel)
    transitions: pd.DataFrame = dc_field(default_factory=pd.DataFrame)  # old, new, count (samples that change)
    new_of: dict = dc_field(default_factory=dict)  # sample id -> its own new label (accept suggestions)

    @property
    def changes(self) -> int:
        """How many samples the action would change."""
        return len(self.change_ids)

    @property
    def already(self) -> int:
        """How many selected samples already are in the wanted state (left as they are)."""
        return len(self.already_ids)

    def summary(self) -> str:
        """One sentence: the action, how many change, how many are left as they are."""
        what = {"relabel": f"relabel as {_text(self.value)!r}", "tag": f"add tag {self.value!r}",
                "untag": f"remove tag {self.value!r}", "mark": f"mark {self.value!r}",
                "unmark": f"clear mark {self.value!r}", "exclude": "mark excluded", "include": "clear excluded",
                "queue": f"make labeling queue {self.value!r}",
                "accept": f"accept the suggested label where its confidence is at least {self.value}"}[self.action]
        if self.action == "queue":
            return f"{what} of {self.selected:,} selected sample(s)."
        return (f"{what}: {self.changes:,} of {self.selected:,} selected sample(s) change, "
                f"{self.already:,} already {'have it' if self.action != 'relabel' else 'have that label'}.")


@dataclass
class BulkResult:
    """What an applied bulk action wrote: the batch id to undo, how many samples changed, the preview."""

    batch_id: str | None  # the audit-log batch (None when nothing had to change, or for a queue)
    changed: int
    preview: BulkPreview
    queue: str | None = None

    def summary(self) -> str:
        """One sentence for the user: what was written and how to undo it."""
        if self.queue:
            return f"Made labeling queue {self.queue!r} of {self.preview.selected:,} sample(s)."
        if not self.changed:
            return f"Nothing to change: all {self.preview.selected:,} selected sample(s) were already so."
        return (f"Changed {self.changed:,} sample(s) ({self.preview.already:,} already were so); "
                f"batch {self.batch_id}, undo restores all of them.")


def _text(value) -> str:
    if value is None:
        return NO_LABEL
    if isinstance(value, list):
        return ", ".join(str(v.get("label", v)) if isinstance(v, dict) else str(v) for v in value) or NO_LABEL
    return str(value)


def _ids(sample_ids) -> list[str]:
    """Distinct sample ids in their order; a clear error for an empty selection or a malformed id."""
    if hasattr(sample_ids, "values") and hasattr(sample_ids, "_dataset"):  # a FiftyOne view
        sample_ids = sample_ids.values("id")
    ids = list(dict.fromkeys(str(i) for i in ([sample_ids] if isinstance(sample_ids, str) else sample_ids)))
    if not ids:
        raise ValueError("The selection is empty. Fix: select at least one sample (tick tiles in the grid, "
                         "select all matching the filters, or draw a box on the map).")
    bad = [i for i in ids if not ObjectId.is_valid(i)]
    if bad:
        raise ValueError(f"{len(bad)} selected id(s) are not sample ids (e.g. {bad[0]!r}). "
                         "Fix: pass the `id` values of samples.")
    return ids


def _docs(dataset, ids: list[str], fields: list[str]) -> dict[str, dict]:
    """The stored documents of ``ids`` (only ``fields``); a clear error naming ids that are not in the dataset."""
    coll = dataset._sample_collection
    found = {}
    oids = [ObjectId(i) for i in ids]
    for start in range(0, len(oids), 50_000):
        for doc in coll.find({"_id": {"$in": oids[start:start + 50_000]}}, {f: 1 for f in fields}):
            found[str(doc["_id"])] = doc
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValueError(f"{len(missing)} of {len(ids)} selected samples are not in {dataset.name!r} (e.g. "
                         f"{missing[0]}; deleted since the selection was made?). Nothing was written. "
                         "Fix: select again.")
    return found


def _tag_value(action: str, value) -> str:
    if action in ("exclude", "include"):
        return "excluded"
    if action in ("mark", "unmark"):
        if value not in edits.MARKS:
            raise ValueError(f"Unknown mark {value!r}. Fix: use one of {', '.join(edits.MARKS)}.")
        return value
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError(f"A tag needs a name, got {value!r}. Fix: type a tag name, e.g. 'check-later'.")
    return text


@store.dataset_or_name
def preview_bulk(dataset_or_name, sample_ids, action: str, value=None, field: str = "ground_truth",
                 allow_new_class: bool = False) -> BulkPreview:
    """What ``action`` (relabel, tag, untag, mark, unmark, exclude, include, queue) with ``value`` would change.

    ``value``: the new label (relabel), the tag name (tag/untag), the mark (mark/unmark), the queue name
    (queue); none for exclude/include. Counts are exact: per old → new label the samples that change, and
    the samples already in the wanted state, which are left alone.
    """
    if action not in ACTIONS:
        raise ValueError(f"Unknown bulk action {action!r}. Fix: use one of {', '.join(ACTIONS)}.")
    dataset = store.as_dataset(dataset_or_name)._root_dataset
    ids = _ids(sample_ids)
    if action == "queue":
        name = value.strip() if isinstance(value, str) else ""
        if not name:
            raise ValueError("The queue name is empty. Fix: type a name, e.g. 'recheck-7s'.")
        _docs(dataset, ids, ["_id"])
        return BulkPreview(dataset.name, action, name, field, len(ids), ids, [])
    kind = store.label_kind(dataset, field)
    label_of = {sid: edits.plain(doc.get(field), kind) for sid, doc in _docs(dataset, ids, [field, "tags"]).items()}
    if action == "relabel":
        if kind == "detection":
            raise ValueError(f"{field!r} holds boxes: a bulk relabel would replace every box. Fix: relabel a "
                             "classification or multi-label field, or edit boxes one sample at a time.")
        new = edits.normalize(value, kind)
        if new is None:
            raise ValueError("Relabel needs a label. Fix: pick the class to write.")
        edits.check_classes(dataset, field, kind, [new], allow_new_class)
        change = [i for i in ids if label_of[i] != new]
        already = [i for i in ids if label_of[i] == new]
        pairs = Counter((_text(label_of[i]), _text(new)) for i in change)
        transitions = pd.DataFrame([(o, n, c) for (o, n), c in sorted(pairs.items(), key=lambda kv: -kv[1])],
                                   columns=["old", "new", "count"])
        return BulkPreview(dataset.name, action, new, field, len(ids), change, already,
                           {i: label_of[i] for i in change}, transitions)
    tag = _tag_value(action, value)
    want = action in ("tag", "mark", "exclude")
    docs = _docs(dataset, ids, ["tags"])
    has = {i: tag in (docs[i].get("tags") or []) for i in ids}
    change = [i for i in ids if has[i] != want]
    already = [i for i in ids if has[i] == want]
    counts = Counter(_text(label_of[i]) for i in change)
    state = ("tagged " if action in ("tag", "untag") else "") + tag
    transitions = pd.DataFrame([(f"{o} · {'not ' if want else ''}{state}", f"{o} · {'' if want else 'not '}{state}", c)
                                for o, c in sorted(counts.items(), key=lambda kv: -kv[1])],
                               columns=["old", "new", "count"])
    return BulkPreview(dataset.name, action, tag, field, len(ids), change, already, {}, transitions)


def suggestions(dataset_or_view, field: str = "ground_truth") -> pd.DataFrame:
    """The unreviewed label suspects of a dataset or view with the confidence of their suggested label:
    sample_id, label, suggested_label, confidence (the stored calibrated probability), most confident first."""
    from sda2.curation import queries

    collection = store.as_dataset(dataset_or_view)
    frame = queries.suspects_frame(queries.review_queue(collection), field)
    frame = frame[frame["suggested_label"].notna() & (frame["suggested_label"] != frame["label"])]
    stored = queries.probabilities(collection._root_dataset, frame["sample_id"]) if len(frame) else None
    if stored is None:
        confidence = [float("nan")] * len(frame)
    else:
        position = {c: i for i, c in enumerate(stored[0])}
        confidence = [float(row[position[s]]) if s in position else float("nan")
                      for row, s in zip(stored[1], frame["suggested_label"])]
    frame = frame.assign(confidence=confidence)[["sample_id", "label", "suggested_label", "confidence"]]
    return frame.sort_values("confidence", ascending=False, kind="stable").reset_index(drop=True)


def recommended_threshold(confidences, target: float = TARGET_PRECISION) -> float | None:
    """The lowest confidence t such that the suggestions at or above t are expected to be right at least
    ``target`` of the time (the mean of their calibrated confidences); None when no t reaches it."""
    values = sorted((float(c) for c in confidences if c == c), reverse=True)
    best, total = None, 0.0
    for n, value in enumerate(values, start=1):
        total += value
        if total / n >= target:
            best = value
    return best


def preview_accept(dataset_or_view, threshold: float, field: str = "ground_truth") -> BulkPreview:
    """What accepting every suggested label with confidence >= ``threshold`` would change (each suspect
    relabeled to its own suggestion and marked reviewed); counts per old -> new label exact."""
    if not 0.0 <= float(threshold) <= 1.0:
        raise ValueError(f"The confidence threshold is a number in [0, 1], not {threshold!r}.")
    collection = store.as_dataset(dataset_or_view)
    dataset = collection._root_dataset
    frame = suggestions(collection, field)
    if frame["confidence"].isna().all() and len(frame):
        raise ValueError("No class probabilities are stored, so no suggestion has a confidence. Fix: compute "
                         "predictions (Evaluation page, or sda2.compute_predictions) and detect label issues again.")
    chosen = frame[frame["confidence"] >= float(threshold)]
    ids = list(chosen["sample_id"])
    pairs = Counter(zip(chosen["label"].map(_text), chosen["suggested_label"].map(_text)))
    transitions = pd.DataFrame([(o, n, c) for (o, n), c in sorted(pairs.items(), key=lambda kv: -kv[1])],
                               columns=["old", "new", "count"])
    return BulkPreview(dataset.name, "accept", float(threshold), field, len(frame), ids, [],
                       dict(zip(ids, chosen["label"])), transitions, dict(zip(ids, chosen["suggested_label"])))


def apply_bulk(dataset_or_name, preview: BulkPreview, annotator: str, reason: str = "",
               allow_new_class: bool = False, labels_per_sample: int = 1, overlap: float = 0.0) -> BulkResult:
    """Write exactly what ``preview`` showed, as one audited batch; conflict-checked against the values it saw.

    A sample changed by someone else since the preview makes it raise :class:`~sda2.curation.edits.EditConflict`
    and write nothing: preview again and decide again.
    """
    dataset = store.as_dataset(dataset_or_name)._root_dataset
    name = audit.annotator_name(annotator)
    if preview.dataset != dataset.name:
        raise ValueError(f"This preview is of dataset {preview.dataset!r}, not {dataset.name!r}. Fix: preview "
                         "the action on this dataset first.")
    if preview.action == "queue":
        lq.create_queue(dataset, preview.value, preview.change_ids, labels_per_sample, overlap, field=preview.field,
                        created_by=name, source=reason or f"bulk selection of {preview.selected:,}")
        return BulkResult(None, 0, preview, queue=preview.value)
    if not preview.change_ids:
        return BulkResult(None, 0, preview)
    reason = reason or f"bulk {preview.action}" + (f" {_text(preview.value)}" if preview.value is not None else "")
    meta = {"bulk": preview.action, "selected": preview.selected}
    if preview.action == "accept":
        changes = [change for i in preview.change_ids for change in (
            edits.Change(ObjectId(i), preview.field, preview.expected[i], preview.new_of[i]),
            edits.Change(ObjectId(i), Mark.REVIEWED.field, edits.UNSET, True, kind="mark"))]
    elif preview.action == "relabel":
        kind = store.label_kind(dataset, preview.field)
        edits.check_classes(dataset, preview.field, kind, [preview.value], allow_new_class)
        changes = [edits.Change(ObjectId(i), preview.field, preview.expected[i], preview.value)
                   for i in preview.change_ids]
    else:
        want = preview.action in ("tag", "mark", "exclude")
        kind = "tag" if preview.action in ("tag", "untag") else "mark"
        changes = [edits.Change(ObjectId(i), tag_field(preview.value), not want, want, kind=kind)
                   for i in preview.change_ids]
    result = edits.apply_changes(dataset, changes, name, reason, "raise", meta)
    return BulkResult(result.batch_id, len(result.edit_ids), preview)


def undo_bulk(dataset_or_name, result: BulkResult | str, annotator: str) -> int:
    """Undo an applied bulk action (its :class:`BulkResult` or batch id); how many samples were restored.

    A queue made from a selection is deleted, while nobody has answered an item of it yet.
    """
    dataset = store.as_dataset(dataset_or_name)._root_dataset
    if isinstance(result, BulkResult) and result.queue:
        progress = lq.queue_progress(dataset, result.queue)
        if progress["answers"]:
            raise ValueError(f"Queue {result.queue!r} has {progress['answers']:,} answer(s) already: deleting it "
                             "would lose them. Fix: delete it on purpose with sda2.delete_queue, or keep it.")
        return lq.delete_queue(dataset, result.queue)
    batch_id = result.batch_id if isinstance(result, BulkResult) else result
    if batch_id is None:
        return 0
    return len(edits.undo(dataset, batch_id, annotator, reason=f"undo bulk batch {batch_id}").edit_ids)


def _apply(dataset_or_name, sample_ids, action, value, annotator, reason, field="ground_truth",
           allow_new_class=False) -> BulkResult:
    preview = preview_bulk(dataset_or_name, sample_ids, action, value, field, allow_new_class)
    return apply_bulk(dataset_or_name, preview, annotator, reason, allow_new_class)


def bulk_relabel(dataset_or_name, sample_ids, new_label, annotator: str, field: str = "ground_truth",
                 reason: str = "", allow_new_class: bool = False) -> BulkResult:
    """Give every sample of a selection the label ``new_label`` as one audited, undoable batch."""
    return _apply(dataset_or_name, sample_ids, "relabel", new_label, annotator, reason, field, allow_new_class)


def bulk_tag(dataset_or_name, sample_ids, tag: str, annotator: str, reason: str = "",
             remove: bool = False) -> BulkResult:
    """Add (or with ``remove`` take off) sample tag ``tag`` on a selection, as one audited, undoable batch."""
    return _apply(dataset_or_name, sample_ids, "untag" if remove else "tag", tag, annotator, reason)


def bulk_mark(dataset_or_name, sample_ids, mark: str, annotator: str, reason: str = "",
              on: bool = True) -> BulkResult:
    """Set (or clear) a curation mark (reviewed / ambiguous / excluded) on a selection as one undoable batch."""
    return _apply(dataset_or_name, sample_ids, "mark" if on else "unmark", mark, annotator, reason)


def bulk_exclude(dataset_or_name, sample_ids, annotator: str, reason: str = "") -> BulkResult:
    """Mark a selection excluded (left out of the training view, never deleted) as one undoable batch."""
    return _apply(dataset_or_name, sample_ids, "exclude", None, annotator, reason)


def bulk_queue(dataset_or_name, sample_ids, queue: str, annotator: str, field: str = "ground_truth",
               labels_per_sample: int = 1, overlap: float = 0.0) -> BulkResult:
    """Make labeling queue ``queue`` of a selection (undo deletes it while it has no answers)."""
    preview = preview_bulk(dataset_or_name, sample_ids, "queue", queue, field)
    return apply_bulk(dataset_or_name, preview, annotator, labels_per_sample=labels_per_sample, overlap=overlap)


def preview_frame(preview: BulkPreview) -> pd.DataFrame:
    """The preview's old → new counts as a table (a row "already so" for the samples left alone)."""
    rows = preview.transitions.copy()
    if preview.already:
        rows = pd.concat([rows, pd.DataFrame([{"old": "already so", "new": "unchanged", "count": preview.already}])],
                         ignore_index=True)
    return rows

