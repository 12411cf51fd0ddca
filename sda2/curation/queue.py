"""Labeling queues: who labels which sample next, blind multi-labeling, and when answers become labels.

A queue is a list of samples stored in MongoDB beside the dataset (``sda2_queues.<dataset id>`` for the
definitions, ``sda2_queue_items.<dataset id>`` for the items). A share ``overlap`` of its items needs
``labels_per_sample`` answers from different labelers, the rest one. :func:`next_item` hands each labeler
an item they have not answered, leasing it for a while so two labelers are not given the same
single-answer item; an item leaves the pool once its answers plus open leases reach what it needs.
Labelers never see each other's answers. When an item has all its answers, :func:`submit` resolves it:
the single answer, or the strict majority of the answers, is written to the label field through
:func:`sda2.curation.edits.set_label` (audit log, undo, conflict check against the label the item had
when the queue was made); a tie or split is left unwritten as ``disputed`` for adjudication. A labeler
may go back and change an answer; the item is then resolved again.

Review queues (``mode="review"``) show a proposed label (e.g. an auto-label) that the reviewer accepts
or fixes; the same rules apply, so an accepted proposal writes nothing.

Crash safety: an answer and the item's ``due`` mark (it must be resolved again) are written in one update.
Resolving claims the item with ``resolving`` = {until, owner}: a claim expires after ``RESOLVING`` or as
soon as its owner process is dead. The next touch of the queue (:func:`next_item`, :func:`queue_progress`,
:func:`disagreements`, :func:`adjudicate`) resolves every due item whose claim is free, idempotently: a
label the killed resolver had already written is recognised, not written twice or taken for a conflict.
Leases expire after ``LEASE`` (a labeler who vanishes frees the item).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
from bson import ObjectId
from pymongo import ASCENDING, ReturnDocument

from sda2 import faults, liveness, store
from sda2.clock import as_utc
from sda2.curation import annotations, audit, edits, gold
from sda2.curation.kinds import ItemStatus, QueueMode

from fiftyone import ViewField as F  # noqa: E402  (sda2.store has started the database)

QUEUES = "sda2_queues."
ITEMS = "sda2_queue_items."
LEASE = timedelta(minutes=15)  # an item handed to a labeler is kept for them this long
RESOLVING = timedelta(minutes=2)  # a claim to resolve an item expires after this (sooner if its owner dies)
MODES = tuple(m.value for m in QueueMode)
STATUSES = tuple(s.value for s in ItemStatus)
REVIEW_WAIT = "waiting for review"  # the message of an item whose answer a reviewer accepts first


@dataclass(frozen=True)
class Submission:
    """The outcome of one answer: "recorded" (more answers needed), "done", "disputed", "conflict" or "changed"
    (the answers agree on a label other than the one the sample had: waiting for a curator to confirm)."""

    sample_id: str
    status: str
    label: object = None  # the label written (done) or None
    edit_id: str | None = None
    message: str = ""


def _queues(dataset):
    return annotations.collection(dataset, QUEUES, (([("name", ASCENDING)], {"unique": True}),))


def _items(dataset):
    return annotations.collection(dataset, ITEMS, (
        ([("queue_id", ASCENDING), ("sample_id", ASCENDING)], {"unique": True}),
        ([("queue_id", ASCENDING), ("status", ASCENDING), ("order", ASCENDING)], {}),
        ([("queue_id", ASCENDING), ("due", ASCENDING)], {"sparse": True})))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def get_queue(dataset, name: str) -> dict:
    """The stored definition of queue ``name`` (a dict); KeyError naming the existing queues if absent."""
    doc = _queues(dataset).find_one({"name": name})
    if doc is None:
        names = ", ".join(repr(n) for n in queue_names(dataset)) or "none"
        raise KeyError(f"{dataset.name!r} has no labeling queue {name!r} (queues: {names}). "
                       "Fix: create it first with create_queue().")
    return doc


def queue_names(dataset, mode: str | None = None) -> list[str]:
    """Names of the dataset's queues (of one mode when given), newest first."""
    query = {"mode": mode} if mode else {}
    return [d["name"] for d in _queues(dataset).find(query, {"name": 1}).sort("created_at", -1)]


def _sample_ids(dataset, samples) -> list[str]:
    if hasattr(samples, "values") and hasattr(samples, "_dataset"):  # a FiftyOne view or dataset
        ids = samples.values("id")
    else:
        ids = [str(s) for s in ([samples] if isinstance(samples, str) else samples)]
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValueError("The queue would be empty. Fix: pick a view, tag or selection with samples in it.")
    bad = [i for i in ids if not ObjectId.is_valid(i)]
    if bad:
        raise ValueError(f"{len(bad)} id(s) are not sample ids (e.g. {bad[0]!r}). Fix: pass dataset.values('id').")
    found = dataset._sample_collection.count_documents({"_id": {"$in": [ObjectId(i) for i in ids]}})
    if found != len(ids):
        raise ValueError(f"{len(ids) - found} of {len(ids)} samples are not in {dataset.name!r}. "
                         "Fix: pass ids of this dataset's samples.")
    return ids


def _current_labels(dataset, ids: list[str], field: str) -> dict[str, object]:
    kind = store.label_kind(dataset, field)
    docs = dataset._sample_collection.find({"_id": {"$in": [ObjectId(i) for i in ids]}}, {field: 1})
    return {str(d["_id"]): edits.plain(d.get(field), kind) for d in docs}


@store.dataset_or_name
def create_queue(dataset, name: str, samples, labels_per_sample: int = 1, overlap: float = 0.0, seed: int = 0,
                 field: str = "ground_truth", created_by: str = "", source: str = "", mode: str = "label",
                 meta: dict | None = None, review_changes: bool = False, review: str | float | None = None,
                 require_qualification: bool = False, honeypot_rate: float = 0.0) -> dict:
    """Make queue ``name`` of ``samples`` (ids or a view, kept in that order); returns its definition.

    A share ``overlap`` (0..1, drawn with ``seed``) of the items needs ``labels_per_sample`` answers from
    different labelers (blind multi-labeling); the others need one. With ``review_changes``, answers that
    would replace a label the sample already had are not written: the item waits as "changed" for a
    curator (:func:`disagreements` lists it, :func:`adjudicate` confirms the change or keeps the old label).
    ``review`` ("all" or a share in (0, 1]) sends resolved answers (of every item, or of that share drawn with
    ``seed``) to a reviewer before they are written (:mod:`sda2.curation.review_stage`);
    ``require_qualification`` gives work only to labelers who passed the qualification test and
    ``honeypot_rate`` mixes that share of gold items into each labeler's stream (:mod:`sda2.curation.gold`).
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("The queue name is empty. Fix: type a name, e.g. 'batch-1'.")
    if _queues(dataset).find_one({"name": name}, {"_id": 1}):
        raise ValueError(f"{dataset.name!r} already has a labeling queue {name!r}. Fix: choose another name, "
                         "or delete the old queue first.")
    if mode not in MODES:
        raise ValueError(f"Unknown queue mode {mode!r}. Fix: use one of {', '.join(MODES)}.")
    if int(labels_per_sample) != labels_per_sample or labels_per_sample < 1:
        raise ValueError(f"labels_per_sample must be a whole number >= 1, not {labels_per_sample!r}.")
    if not 0.0 <= float(overlap) <= 1.0:
        raise ValueError(f"overlap is the share of samples labeled by several labelers: a number in [0, 1], "
                         f"not {overlap!r}.")
    kind = store.label_kind(dataset, field)
    ids = _sample_ids(dataset, samples)
    n_multi = int(round(float(overlap) * len(ids))) if labels_per_sample > 1 else 0
    multi = set(np.random.default_rng(seed).permutation(len(ids))[:n_multi].tolist())
    base = _current_labels(dataset, ids, field)
    share = _review_share(review)
    reviewed = set(np.random.default_rng(seed + 1).permutation(len(ids))[:int(round(share * len(ids)))].tolist())
    if not 0.0 <= float(honeypot_rate) < 1.0 or (honeypot_rate and mode != QueueMode.LABEL):
        raise ValueError(f"honeypot_rate is the share of gold items mixed into a labeling queue: a number in [0, 1) "
                         f"for mode='label', not {honeypot_rate!r} ({mode}).")
    queue_id = ObjectId()
    definition = {"_id": queue_id, "name": name, "mode": mode, "field": field, "kind": kind,
                  "labels_per_sample": int(labels_per_sample), "overlap": float(overlap), "seed": int(seed),
                  "n_items": len(ids), "n_multi": n_multi, "created_by": created_by, "source": source,
                  "created_at": _now(), "meta": meta or {}, "review_changes": bool(review_changes),
                  "review": review if review == "all" else (share or None),
                  "require_qualification": bool(require_qualification), "honeypot_rate": float(honeypot_rate)}
    items = [{"queue_id": str(queue_id), "sample_id": sid, "order": i,
              "required": int(labels_per_sample) if i in multi else 1, "base": base[sid], "written": base[sid],
              "answered_by": [], "skipped_by": [], "leases": [], "status": ItemStatus.OPEN.value, "resolving": False,
              "resolved": None, "edit_id": None, "message": "", "review_sample": i in reviewed}
             for i, sid in enumerate(ids)]
    _items(dataset).insert_many(items, ordered=False)
    _queues(dataset).insert_one(definition)
    return definition


def _review_share(review) -> float:
    """The share of items a reviewer checks: 1.0 for "all", 0 for None, else the number given (0..1)."""
    if review is None or review is False:
        return 0.0
    if review == "all" or review is True:
        return 1.0
    if isinstance(review, str) or not 0.0 < float(review) <= 1.0:
        raise ValueError(f"review is 'all' or the share of items a reviewer checks (a number in (0, 1]), "
                         f"not {review!r}.")
    return float(review)


QUEUE_OPTIONS = ("require_qualification", "honeypot_rate")


@store.dataset_or_name
def update_queue(dataset, name: str, annotator: str, **options) -> dict:
    """Change a queue's qualification requirement or honeypot rate (attributed to ``annotator``); the definition."""
    annotator = _labeler(annotator)
    unknown = sorted(set(options) - set(QUEUE_OPTIONS))
    if unknown:
        raise ValueError(f"Unknown queue option(s) {unknown}. Fix: use {', '.join(QUEUE_OPTIONS)}.")
    definition = get_queue(dataset, name)
    if "honeypot_rate" in options:
        rate = float(options["honeypot_rate"])
        if not 0.0 <= rate < 1.0 or (rate and definition["mode"] != QueueMode.LABEL):
            raise ValueError(f"honeypot_rate must be in [0, 1) and only for labeling queues, not {rate!r}.")
        options["honeypot_rate"] = rate
    if "require_qualification" in options:
        options["require_qualification"] = bool(options["require_qualification"])
    return _queues(dataset).find_one_and_update({"_id": definition["_id"]}, {"$set": {**options, "changed_by": annotator}},
                                                return_document=ReturnDocument.AFTER)


@store.dataset_or_name
def delete_queue(dataset, name: str, keep_answers: bool = True) -> int:
    """Delete queue ``name`` and its items (labels already written stay); the number of items deleted.

    The labelers' answers are kept for agreement and throughput figures unless ``keep_answers=False``.
    """
    queue = get_queue(dataset, name)
    deleted = _items(dataset).delete_many({"queue_id": str(queue["_id"])}).deleted_count
    if not keep_answers:
        annotations.delete(dataset, queue_id=str(queue["_id"]))
    _queues(dataset).delete_one({"_id": queue["_id"]})
    return deleted


def _open_for(annotator: str, queue_id: str, now: datetime) -> dict:
    """Filter: open items this labeler has not answered or skipped, with room for one more answer."""
    return {"queue_id": queue_id, "status": ItemStatus.OPEN.value, "answered_by": {"$ne": annotator},
            "skipped_by": {"$ne": annotator}, "leases.annotator": {"$ne": annotator},
            "$expr": {"$lt": [{"$add": [{"$size": "$answered_by"}, {"$size": {"$filter": {
                "input": "$leases", "cond": {"$gte": ["$$this.until", now]}}}}]}, "$required"]}}


def _labeler(annotator: str) -> str:
    """The labeler's identity: the name matched case-insensitively ("Alice" and "alice" are one person)."""
    annotator = " ".join(str(annotator or "").split())
    if not annotator:
        raise ValueError("The labeler needs a name. Fix: pass annotator='your name' (in the app: type your "
                         "name in the sidebar).")
    return audit.annotator_key(annotator)


@store.dataset_or_name
def next_item(dataset, queue: str, annotator: str) -> str | None:
    """The sample id this labeler should label next (leased to them), or None when nothing is left for them.

    The item they hold already comes back first, so a reload does not skip it. Raises
    :class:`sda2.curation.gold.LabelerBlocked` when the labeler is paused or lacks the queue's qualification;
    honeypots (gold items) come mixed in at the queue's ``honeypot_rate``.
    """
    annotator = _labeler(annotator)
    definition = get_queue(dataset, queue)
    gold.check_access(dataset, definition, annotator)
    settle(dataset, definition)
    qid, now, items = str(definition["_id"]), _now(), _items(dataset)
    held = items.find_one_and_update(
        {"queue_id": qid, "status": ItemStatus.OPEN.value,
         "leases": {"$elemMatch": {"annotator": annotator, "until": {"$gte": now}}}},
        {"$set": {"leases.$.until": now + LEASE}}, sort=[("order", 1)], projection={"sample_id": 1})
    if held:
        return held["sample_id"]
    items.update_many({"queue_id": qid, "leases.until": {"$lt": now}}, {"$pull": {"leases": {"until": {"$lt": now}}}})
    honeypot = gold.held_honeypot(dataset, definition, annotator)
    if honeypot is None and definition.get("honeypot_rate") and items.count_documents(
            _open_for(annotator, qid, now), limit=1):
        honeypot = gold.serve_honeypot(
            dataset, definition, annotator, items.count_documents({"queue_id": qid, "answered_by": annotator}),
            lambda ids: set(items.distinct("sample_id", {"queue_id": qid, "sample_id": {"$in": ids}})))
    if honeypot is not None:
        return honeypot
    doc = items.find_one_and_update(_open_for(annotator, qid, now),
                                    {"$push": {"leases": {"annotator": annotator, "until": now + LEASE}}},
                                    sort=[("order", 1)], projection={"sample_id": 1})
    return doc["sample_id"] if doc else None


def upcoming(dataset, queue: str, annotator: str, n: int = 1, exclude=()) -> list[str]:
    """The ids this labeler would most likely get after the current one (not leased: for preloading)."""
    qid = str(get_queue(dataset, queue)["_id"])
    query = {**_open_for(_labeler(annotator), qid, _now()), "sample_id": {"$nin": [str(e) for e in exclude]}}
    return [d["sample_id"] for d in _items(dataset).find(query, {"sample_id": 1}).sort("order", 1).limit(n)]


def item(dataset, queue: str, sample_id: str, annotator: str | None = None, pred_field: str | None = None) -> dict:
    """What a labeler may see of an item: sample id, filepath, field, kind, the proposal (review queues only),
    the model's prediction (only when ``pred_field`` is asked for) and their own earlier answer (never
    anyone else's)."""
    definition = get_queue(dataset, queue)
    doc = _items(dataset).find_one({"queue_id": str(definition["_id"]), "sample_id": str(sample_id)})
    honeypot = gold.served_honeypot(dataset, definition, sample_id, annotator) if doc is None and annotator else None
    if honeypot is not None:  # shown exactly like a queue item
        doc = {"sample_id": str(sample_id), "base": None, "required": 1}
    if doc is None:
        raise KeyError(f"Sample {sample_id!r} is not in queue {queue!r}.")
    own = annotations.find(dataset, queue_id=str(definition["_id"]), sample_id=str(sample_id),
                           annotator=annotator) if annotator else []
    fields = {"filepath": 1, **({pred_field: 1} if pred_field else {})}
    sample = dataset._sample_collection.find_one({"_id": ObjectId(str(sample_id))}, fields)
    prediction = edits.plain(sample.get(pred_field), store.label_kind(dataset, pred_field)) if pred_field else None
    return {"sample_id": doc["sample_id"], "filepath": sample["filepath"], "field": definition["field"],
            "kind": definition["kind"], "mode": definition["mode"],
            "proposal": doc["base"] if definition["mode"] == QueueMode.REVIEW else None, "prediction": prediction,
            "your_answer": own[0]["label"] if own else honeypot["label"] if honeypot else None,
            "required": doc["required"]}


def queue_source(dataset, split: str | None = None, tag: str | None = None, saved_view: str | None = None,
                 unlabeled_only: bool = False, field: str = "ground_truth"):
    """The samples a new queue would hold: a saved view, else samples with ``tag``, else the dataset; within
    ``split`` when given; only those without a label in ``field`` when ``unlabeled_only``."""
    view = dataset.load_saved_view(saved_view) if saved_view else dataset
    if tag:
        view = view.match_tags(tag)
    if split:
        view = view.match(F("split") == split)
    if unlabeled_only:
        view = view.exists(field, False)
    return view


def _key(value) -> str:
    return json.dumps(value, sort_keys=True)


def _majority(answers: list) -> object | None:
    """The answer given by more than half of the answers; None when there is none (a tie or a split)."""
    counts = Counter(_key(a) for a in answers)
    key, top = counts.most_common(1)[0]
    return json.loads(key) if top * 2 > len(answers) else None


def _claim_free(now: datetime) -> dict:
    """Filter: nobody holds the item's resolving claim (never claimed, released, expired, or an old ``True``)."""
    return {"$or": [{"resolving": {"$in": [False, None, True]}}, {"resolving.until": {"$lt": now}}]}


def _claim(items, qid: str, sample_id: str) -> dict | None:
    """Claim the item for resolving (its answers all in); a claim whose owner died is taken over."""
    now = _now()
    query = {"queue_id": qid, "sample_id": sample_id, "$expr": {"$gte": [{"$size": "$answered_by"}, "$required"]}}
    claim = {"$set": {"resolving": {"until": now + RESOLVING, "owner": liveness.owner()}}}
    doc = items.find_one_and_update({**query, **_claim_free(now)}, claim, return_document=ReturnDocument.AFTER)
    if doc is None:
        held = items.find_one(query, {"resolving": 1})
        stale = held and isinstance(held.get("resolving"), dict) and not liveness.is_alive(held["resolving"].get("owner"))
        if stale:
            doc = items.find_one_and_update({**query, "resolving": held["resolving"]}, claim,
                                            return_document=ReturnDocument.AFTER)
    return doc


def _not_claimed(items, qid: str, sample_id: str) -> Submission:
    """The outcome when this call could not resolve the item: too few answers, or someone else resolves it."""
    doc = items.find_one({"queue_id": qid, "sample_id": sample_id})
    if doc is not None and len(doc["answered_by"]) < doc["required"]:  # nothing to resolve: clear the mark
        items.update_one({"_id": doc["_id"], "due": doc.get("due"),
                          "$expr": {"$lt": [{"$size": "$answered_by"}, "$required"]}}, {"$unset": {"due": ""}})
    if doc is None or doc["status"] == ItemStatus.OPEN:
        return Submission(sample_id, "recorded")
    return Submission(sample_id, doc["status"], doc["written"] if doc["status"] == ItemStatus.DONE else None,
                      doc.get("edit_id"), doc.get("message", ""))


def _write_decision(dataset, definition: dict, doc: dict, target, who: str, reason: str, meta: dict):
    """Write ``target`` as the item's label; (edit id, written). Idempotent: a label already stored (by a
    resolver killed before it could record so) is taken as written, with the edit that wrote it."""
    field, sample_id = definition["field"], doc["sample_id"]
    current = _current_labels(dataset, [sample_id], field)[sample_id]
    if _key(current) == _key(target):
        setter = audit.last_setter(dataset, sample_id, field, target)
        return (str(setter["_id"]) if setter else doc["edit_id"]), target
    edit_id = edits.set_label(dataset, sample_id, target, who, reason, expected_old=doc["written"], field=field,
                              meta=meta, allow_new_class=True)
    return edit_id, target


def _resolve(dataset, definition: dict, sample_id: str, annotator: str | None) -> Submission:
    """Write the label an item's answers decide (or restore its old label when they no longer agree)."""
    qid, items = str(definition["_id"]), _items(dataset)
    doc = _claim(items, qid, sample_id)
    if doc is None:
        return _not_claimed(items, qid, sample_id)
    update = {"resolving": False}
    try:
        docs = annotations.find(dataset, queue_id=qid, sample_id=sample_id)
        answers = {a["annotator"]: a["label"] for a in docs}
        winner = _majority(list(answers.values()))
        agreeing = sorted(a for a, label in answers.items() if winner is not None and _key(label) == _key(winner))
        target = doc["base"] if winner is None else winner
        status = ItemStatus.DONE if winner is not None else ItemStatus.DISPUTED
        edit_id, message = doc["edit_id"], ""
        if winner is not None and _changes_a_label(definition, doc, winner):  # a curator confirms it first
            target, status = doc["base"], ItemStatus.CHANGED
            message = (f"answers agree on {annotations.text(winner)}, the label was {annotations.text(doc['base'])}: "
                       "confirm the change or keep the old label")
        elif winner is not None and doc.get("review_sample") and _key(doc.get("accepted")) != _key(winner):
            target, status, message = doc["written"], ItemStatus.REVIEW, REVIEW_WAIT  # a reviewer accepts it first
        faults.point("queue.resolve.claimed")
        if _key(target) != _key(doc["written"]):
            who = " + ".join(agreeing) if winner is not None else (annotator or " + ".join(sorted(answers)))
            reason = f"labeling queue {definition['name']}" + (
                "" if winner is not None else ": answers now disagree, label from before the queue restored")
            meta = {"queue": definition["name"], "answers": len(answers),
                    "seconds": float(sum(a["seconds"] for a in docs)),
                    **({"reviewed_by": doc["reviews"][-1]["reviewer"]} if doc.get("accepted") is not None else {})}
            try:
                edit_id, update["written"] = _write_decision(dataset, definition, doc, target, who, reason, meta)
            except edits.EditConflict as exc:
                status, message = ItemStatus.CONFLICT, str(exc)
            faults.point("queue.resolve.written")
        annotations.set_decision(dataset, qid, sample_id, winner,
                                 agreeing if status in (ItemStatus.DONE, ItemStatus.CHANGED) else None)
        if status == ItemStatus.DISPUTED:
            message = "answers disagree: " + ", ".join(f"{a}: {annotations.text(v)}"
                                                       for a, v in sorted(answers.items()))
        update.update(status=status.value, resolved=winner, edit_id=edit_id, message=message)
    finally:  # the due mark goes only if no answer came in since the claim (else: resolved again)
        done = items.update_one({"_id": doc["_id"], "due": doc.get("due")}, {"$set": update, "$unset": {"due": ""}})
        if not done.matched_count:
            items.update_one({"_id": doc["_id"]}, {"$set": update})
    return Submission(sample_id, status, update.get("written", winner if status == ItemStatus.DONE else None),
                      edit_id, message)


def _changes_a_label(definition: dict, doc: dict, winner) -> bool:
    """Whether ``winner`` would replace a label the sample had when the queue was made, in a queue whose
    changes a curator confirms (``review_changes``); review queues' fixes are the reviewer's own decision."""
    return (bool(definition.get("review_changes")) and definition["mode"] == QueueMode.LABEL
            and doc["base"] not in (None, []) and _key(winner) != _key(doc["base"]))


@store.dataset_or_name
def submit(dataset, queue: str, annotator: str, sample_id: str, label, seconds: float) -> Submission:
    """Record a labeler's answer for an item of ``queue``; when the item has all its answers, resolve it."""
    annotator = _labeler(annotator)
    definition = get_queue(dataset, queue)
    qid, sample_id = str(definition["_id"]), str(sample_id)
    if _items(dataset).count_documents({"queue_id": qid, "sample_id": sample_id}, limit=1) == 0 and \
            gold.served_honeypot(dataset, definition, sample_id, annotator) is not None:  # looks like any answer
        label = gold.answer_honeypot(dataset, definition, annotator, sample_id, label, seconds)
        return Submission(sample_id, ItemStatus.REVIEW, None, None, REVIEW_WAIT) if definition.get("review") == "all" \
            else Submission(sample_id, ItemStatus.DONE, label)
    if _items(dataset).count_documents({"queue_id": qid, "sample_id": sample_id}, limit=1) == 0:
        raise ValueError(f"Sample {sample_id!r} is not in queue {queue!r}. Fix: label the items next_item() gives.")
    annotations.record_annotation(dataset, sample_id, annotator, label, seconds, queue=definition["name"],
                                  field=definition["field"], queue_id=qid)
    _items(dataset).update_one({"queue_id": qid, "sample_id": sample_id},
                               {"$addToSet": {"answered_by": annotator}, "$set": {"due": _now()},
                                "$pull": {"leases": {"annotator": annotator}, "skipped_by": annotator}})
    return _resolve(dataset, definition, sample_id, annotator)


def stuck(dataset, queue: str | dict, legacy: bool = False) -> list[str]:
    """Sample ids of items left unresolved by a resolver that died or whose claim expired (or never made).

    ``legacy`` also finds items stuck by versions before claims expired (``resolving: True``; a full scan).
    """
    definition = queue if isinstance(queue, dict) else get_queue(dataset, queue)
    qid, now = str(definition["_id"]), _now()
    query = {"queue_id": qid, **({"$or": [{"due": {"$type": "date"}}, {"resolving": True}]} if legacy
                                 else {"due": {"$type": "date"}})}
    found = []
    for doc in _items(dataset).find(query, {"sample_id": 1, "resolving": 1, "answered_by": 1, "required": 1}):
        claim = doc.get("resolving")
        if isinstance(claim, dict) and claim.get("until") and as_utc(claim["until"]) >= now \
                and liveness.is_alive(claim.get("owner")):
            continue  # someone is resolving it right now
        if len(doc["answered_by"]) >= doc["required"] or claim is True:
            found.append(doc["sample_id"])
    return found


def settle(dataset, queue: str | dict, legacy: bool = False) -> list[Submission]:
    """Resolve every item a killed or timed-out resolver left behind (idempotent); their outcomes.

    ``legacy`` also settles items stuck by versions before claims expired (a full scan; ``sda2 doctor``).
    """
    definition = queue if isinstance(queue, dict) else get_queue(dataset, queue)
    return [_resolve(dataset, definition, sample_id, None) for sample_id in stuck(dataset, definition, legacy)]


@store.dataset_or_name
def skip_item(dataset, queue: str, annotator: str, sample_id: str) -> None:
    """Pass an item on: it is not offered to this labeler again, and others can take it."""
    definition = get_queue(dataset, queue)
    qid = str(definition["_id"])
    gold.skip_honeypot(dataset, definition, _labeler(annotator), sample_id)
    _items(dataset).update_one({"queue_id": qid, "sample_id": str(sample_id)},
                               {"$addToSet": {"skipped_by": _labeler(annotator)},
                                "$pull": {"leases": {"annotator": annotator}}})


@store.dataset_or_name
def previous_item(dataset, queue: str, annotator: str, before: str | None = None) -> str | None:
    """The item this labeler answered before ``before`` (their last answer when None), to look at or change."""
    qid = str(get_queue(dataset, queue)["_id"])
    mine = [a["sample_id"] for a in annotations.find(dataset, queue_id=qid, annotator=_labeler(annotator))]
    if before is not None and str(before) in mine:
        mine = mine[:mine.index(str(before))]
    return mine[-1] if mine else None


@store.dataset_or_name
def adjudicate(dataset, queue: str, sample_id: str, label, annotator: str) -> Submission:
    """Settle a disputed (or conflicting) item: write ``label`` through the edit path; the item is done."""
    annotator = _labeler(annotator)
    definition = get_queue(dataset, queue)
    settle(dataset, definition)
    qid = str(definition["_id"])
    doc = _items(dataset).find_one({"queue_id": qid, "sample_id": str(sample_id)})
    if doc is None:
        raise ValueError(f"Sample {sample_id!r} is not in queue {queue!r}.")
    current = _current_labels(dataset, [str(sample_id)], definition["field"])[str(sample_id)]
    edit_id = edits.set_label(dataset, sample_id, label, annotator, f"adjudication in labeling queue {queue}",
                              expected_old=current, field=definition["field"], meta={"queue": queue})
    written = annotations.normalize(dataset, label, definition["field"])
    annotations.set_decision(dataset, qid, sample_id, written, [annotator])
    _items(dataset).update_one({"_id": doc["_id"]}, {"$set": {
        "status": ItemStatus.DONE.value, "resolved": written, "written": written, "edit_id": edit_id,
        "adjudicated_by": annotator,
        "message": f"adjudicated by {annotator}", "resolving": False}, "$unset": {"due": ""}})
    return Submission(str(sample_id), ItemStatus.DONE, written, edit_id)


@store.dataset_or_name
def queue_progress(dataset, queue: str) -> dict:
    """Counts for a queue: items, done, disputed, conflict, open, answers given and needed, share done."""
    definition = get_queue(dataset, queue)
    settle(dataset, definition)
    qid = str(definition["_id"])
    rows = list(_items(dataset).aggregate([
        {"$match": {"queue_id": qid}},
        {"$group": {"_id": "$status", "n": {"$sum": 1}, "answers": {"$sum": {"$size": "$answered_by"}},
                    "needed": {"$sum": "$required"}}}]))
    counts = {status: 0 for status in STATUSES}
    counts.update({r["_id"]: r["n"] for r in rows})
    items = sum(counts.values())
    answers = sum(r["answers"] for r in rows)
    needed = sum(r["needed"] for r in rows)
    return {"items": items, **counts, "answers": answers, "answers_needed": needed,
            "share_done": (items - counts["open"]) / items if items else 0.0}


@store.dataset_or_name
def labeler_progress(dataset, queue: str, annotator: str) -> dict:
    """One labeler's counts in a queue: answered, skipped, and still available to them (an estimate)."""
    annotator = _labeler(annotator)
    definition = get_queue(dataset, queue)
    qid = str(definition["_id"])
    items = _items(dataset)
    return {"answered": items.count_documents({"queue_id": qid, "answered_by": annotator})
            + gold.honeypots_answered(dataset, definition, annotator),
            "skipped": items.count_documents({"queue_id": qid, "skipped_by": annotator}),
            "available": items.count_documents(_open_for(annotator, qid, _now()))
            + items.count_documents({"queue_id": qid, "status": ItemStatus.OPEN.value, "leases.annotator": annotator})}


@store.dataset_or_name
def labelers(dataset, queue: str) -> pd.DataFrame:
    """Per labeler in a queue: answers, skipped items, median and total seconds per answer."""
    qid = str(get_queue(dataset, queue)["_id"])
    answers = pd.DataFrame(annotations.find(dataset, queue_id=qid), columns=["annotator", "seconds"])
    skips = Counter(a for d in _items(dataset).find({"queue_id": qid, "skipped_by.0": {"$exists": True}},
                                                     {"skipped_by": 1}) for a in d["skipped_by"])
    names = sorted(set(answers["annotator"]) | set(skips))
    seconds = answers.groupby("annotator")["seconds"]
    frame = pd.DataFrame({"annotator": names,
                          "answers": [int((answers["annotator"] == n).sum()) for n in names],
                          "skipped": [skips.get(n, 0) for n in names],
                          "median_seconds": seconds.median().reindex(names).to_numpy(dtype=float),
                          "total_seconds": seconds.sum().reindex(names).to_numpy(dtype=float)})
    return frame.sort_values("answers", ascending=False, kind="stable").reset_index(drop=True)


@store.dataset_or_name
def disagreements(dataset, queue: str) -> pd.DataFrame:
    """Items left for adjudication: disputed (answers disagree), in conflict (label changed meanwhile) or changed
    (the answers agree on a new label for a sample that had one: ``proposed``, waiting for a curator)."""
    definition = get_queue(dataset, queue)
    settle(dataset, definition)
    qid = str(definition["_id"])
    open_questions = [ItemStatus.DISPUTED.value, ItemStatus.CONFLICT.value, ItemStatus.CHANGED.value]
    docs = list(_items(dataset).find({"queue_id": qid, "status": {"$in": open_questions}})
                .sort("order", 1))
    answers = {}
    for a in annotations.find(dataset, queue_id=qid, sample_id={"$in": [d["sample_id"] for d in docs]}):
        answers.setdefault(a["sample_id"], {})[a["annotator"]] = annotations.text(a["label"])
    return pd.DataFrame([{"sample_id": d["sample_id"], "status": d["status"],
                          "answers": answers.get(d["sample_id"], {}),
                          "current_label": annotations.text(d["written"]), "message": d["message"],
                          "proposed": annotations.text(d["resolved"]) if d["status"] == ItemStatus.CHANGED else ""}
                         for d in docs],
                        columns=["sample_id", "status", "answers", "current_label", "message", "proposed"])


@store.dataset_or_name
def list_queues(dataset) -> pd.DataFrame:
    """The dataset's queues, newest first, with their settings and progress."""
    rows = []
    for d in _queues(dataset).find().sort("created_at", -1):
        counts = queue_progress(dataset, d["name"])
        rows.append({"name": d["name"], "mode": d["mode"], "items": d["n_items"],
                     "labels_per_sample": d["labels_per_sample"], "overlap": d["overlap"], "done": counts["done"],
                     "disputed": counts["disputed"], "conflict": counts["conflict"], "open": counts["open"],
                     "source": d.get("source", ""), "created_by": d.get("created_by", ""),
                     "created_at": d["created_at"]})
    return pd.DataFrame(rows, columns=["name", "mode", "items", "labels_per_sample", "overlap", "done", "disputed",
                                       "conflict", "open", "source", "created_by", "created_at"])


@store.dataset_or_name
def items_frame(dataset, queue: str) -> pd.DataFrame:
    """Every item of a queue in order: sample id, answers needed and given, status, proposal and resolved label."""
    qid = str(get_queue(dataset, queue)["_id"])
    docs = _items(dataset).find({"queue_id": qid}).sort("order", 1)
    return pd.DataFrame([{"sample_id": d["sample_id"], "required": d["required"], "answers": len(d["answered_by"]),
                          "status": d["status"], "base": d["base"], "resolved": d["resolved"]} for d in docs],
                        columns=["sample_id", "required", "answers", "status", "base", "resolved"])


def open_sample_ids(dataset) -> set[str]:
    """Ids of the samples that have an item still open (taking answers) in any of the dataset's labeling queues."""
    return set(_items(dataset).distinct("sample_id", {"status": ItemStatus.OPEN.value}))
