"""The review stage of a labeling queue: a second person accepts or rejects an answer before it becomes a label.

    import sda2
    sda2.create_queue(ds, "batch-1", ids, review="all")        # or review=0.2: a fifth of the items, drawn
    sid = sda2.next_review(ds, "batch-1", "rita")               # an answer waiting for review (not her own)
    sda2.review_answer(ds, "batch-1", sid, "rita", "reject", reason="wrong class", note="it is a 7")
    sda2.rework_items(ds, "batch-1", "alice")                   # her rejected items, with the reason
    sda2.review_summary(ds, "batch-1")                          # share reviewed / rejected, delivered accuracy

A queue made with ``review`` keeps the resolved answer of each item drawn for review as status "review":
nothing is written. A reviewer (never one of the item's labelers) sees the answer and accepts it or rejects it
with a reason from :data:`REASONS` plus text. Accepting writes the label through the edit path
(:mod:`sda2.curation.edits`, audited, undoable). Rejecting returns the item to its labeler(s) as "rework" with
the reason; their new answer goes to review again. Every decision is kept on the item (``reviews``), so rework is
counted per labeler and per class from the same record.

Crash safety: a decision and the item's ``due`` mark are written in one update; the label write that follows is
the queue's idempotent resolve, so a process killed between the two leaves an item the next touch of the queue
(or ``sda2 doctor``) finishes.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pandas as pd

from sda2 import faults, store
from sda2.analysis.calibration import wilson_interval
from sda2.curation import annotations, audit, gold, queue as lq
from sda2.curation.kinds import ItemStatus, ReviewDecision, parse

REASONS = ("wrong class", "ambiguous image", "guideline not followed", "other")
DECISIONS = tuple(d.value for d in ReviewDecision)


def _items(dataset):
    return annotations.collection(dataset, lq.ITEMS)


def _reviewer(name) -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValueError("The reviewer needs a name. Fix: pass reviewer='your name' (in the app: type your name in "
                         "the sidebar).")
    return audit.annotator_key(name)


def _definition(dataset, queue: str) -> dict:
    definition = lq.get_queue(dataset, queue)
    if not definition.get("review"):
        raise ValueError(f"Queue {queue!r} has no review stage. Fix: create the queue with review='all' or a share, "
                         "e.g. review=0.2.")
    return definition


def review_items(dataset, queue: str, reviewer: str | None = None) -> pd.DataFrame:
    """Items waiting for review, in queue order (those ``reviewer`` may review when given: not their own):
    sample_id, answer (text), labelers, reviews so far."""
    definition = _definition(dataset, queue)
    lq.settle(dataset, definition)
    query = {"queue_id": str(definition["_id"]), "status": ItemStatus.REVIEW.value}
    if reviewer is not None:
        query["answered_by"] = {"$ne": _reviewer(reviewer)}
    docs = _items(dataset).find(query).sort("order", 1)
    return pd.DataFrame([{"sample_id": d["sample_id"], "answer": annotations.text(d["resolved"]),
                          "labelers": list(d["answered_by"]), "reviews": len(d.get("reviews", []))} for d in docs],
                        columns=["sample_id", "answer", "labelers", "reviews"])


@store.dataset_or_name
def next_review(dataset, queue: str, reviewer: str) -> str | None:
    """The next item ``reviewer`` should review (a sample id answered by others), or None."""
    frame = review_items(dataset, queue, reviewer)
    return None if frame.empty else frame["sample_id"].iloc[0]


def review_view(dataset, queue: str, sample_id: str) -> dict:
    """What a reviewer sees of an item: sample id, filepath, field, the answer (plain and text), its labelers, the
    earlier rejections."""
    definition = _definition(dataset, queue)
    doc = _items(dataset).find_one({"queue_id": str(definition["_id"]), "sample_id": str(sample_id)})
    if doc is None:
        raise KeyError(f"Sample {sample_id!r} is not in queue {queue!r}.")
    info = lq.item(dataset, queue, sample_id)
    return {"sample_id": str(sample_id), "filepath": info["filepath"], "field": definition["field"],
            "status": doc["status"], "answer": doc["resolved"], "answer_text": annotations.text(doc["resolved"]),
            "labelers": list(doc["answered_by"]),
            "rejections": [r for r in doc.get("reviews", []) if r["decision"] == ReviewDecision.REJECT]}


@store.dataset_or_name
def review_answer(dataset, queue: str, sample_id: str, reviewer: str, decision: str, reason: str | None = None,
                  note: str = "") -> lq.Submission:
    """Accept or reject the answer of an item waiting for review. Accept writes it as the label (audited);
    reject (``reason`` from :data:`REASONS`, ``note`` required for "other") returns it to its labeler(s).
    The item's outcome ("done", "rework", or "conflict" when the label changed meanwhile)."""
    reviewer = _reviewer(reviewer)
    decision = parse(ReviewDecision, decision, "review decision")
    note = " ".join(str(note or "").split())
    if decision == ReviewDecision.REJECT and reason not in REASONS:
        raise ValueError(f"A rejection needs a reason, one of {', '.join(REASONS)} (not {reason!r}). Fix: pass "
                         "reason='wrong class' and a note.")
    if decision == ReviewDecision.REJECT and reason == "other" and not note:
        raise ValueError("Reason 'other' needs a note saying what is wrong. Fix: pass note='…'.")
    definition = _definition(dataset, queue)
    lq.settle(dataset, definition)
    qid, sample_id = str(definition["_id"]), str(sample_id)
    doc = _items(dataset).find_one({"queue_id": qid, "sample_id": sample_id})
    if doc is None:
        raise KeyError(f"Sample {sample_id!r} is not in queue {queue!r}.")
    if reviewer in doc["answered_by"]:
        raise ValueError(f"{reviewer!r} answered sample {sample_id!r} and cannot review it: a reviewer checks "
                         "someone else's work. Fix: let another reviewer take it.")
    if doc["status"] != ItemStatus.REVIEW:
        raise ValueError(f"Sample {sample_id!r} is not waiting for review (it is {doc['status']!r}): another "
                         "reviewer may have decided it, or its labeler changed the answer. Fix: take the next item.")
    now = datetime.now(timezone.utc)
    labelers = sorted(a["annotator"] for a in annotations.find(dataset, queue_id=qid, sample_id=sample_id)
                      if json.dumps(a["label"], sort_keys=True) == json.dumps(doc["resolved"], sort_keys=True))
    entry = {"reviewer": reviewer, "decision": decision.value,
             "reason": reason if decision == ReviewDecision.REJECT else None,
             "note": note, "label": doc["resolved"], "labelers": labelers or list(doc["answered_by"]), "at": now}
    match = {"_id": doc["_id"], "status": ItemStatus.REVIEW.value, "resolved": doc["resolved"]}
    if decision == ReviewDecision.ACCEPT:
        update = {"$set": {"accepted": doc["resolved"], "due": now}, "$push": {"reviews": entry}}
    else:
        update = {"$set": {"status": ItemStatus.REWORK.value, "review_sample": True, "message": f"rejected: {reason}",
                           "rejected": entry}, "$push": {"reviews": entry}}
    if not _items(dataset).update_one(match, update).modified_count:
        raise ValueError(f"Sample {sample_id!r} changed while you reviewed it (another reviewer decided, or the "
                         "labeler changed the answer). Fix: take the next item.")
    faults.point("review.decided")
    if decision == ReviewDecision.REJECT:
        return lq.Submission(sample_id, ItemStatus.REWORK, None, None, f"rejected: {reason}")
    outcome = [s for s in lq.settle(dataset, definition) if s.sample_id == sample_id]
    if outcome:
        return outcome[0]
    final = _items(dataset).find_one({"_id": doc["_id"]})
    return lq.Submission(sample_id, final["status"], final["written"], final.get("edit_id"), final.get("message", ""))


@store.dataset_or_name
def rework_items(dataset, queue: str, labeler: str) -> pd.DataFrame:
    """``labeler``'s items a reviewer rejected, to fix: sample_id, your answer, reason, note, reviewer, when."""
    definition = lq.get_queue(dataset, queue)
    labeler = _reviewer(labeler)
    docs = _items(dataset).find({"queue_id": str(definition["_id"]), "status": ItemStatus.REWORK.value,
                                 "rejected.labelers": labeler}).sort("order", 1)
    return pd.DataFrame([{"sample_id": d["sample_id"], "answer": annotations.text(d["rejected"]["label"]),
                          "reason": d["rejected"]["reason"], "note": d["rejected"]["note"],
                          "reviewer": d["rejected"]["reviewer"], "at": d["rejected"]["at"]} for d in docs],
                        columns=["sample_id", "answer", "reason", "note", "reviewer", "at"])


def _reviews(dataset, qid: str) -> list[tuple[dict, dict]]:
    """(item, review entry) for every review decision in the queue."""
    return [(d, r) for d in _items(dataset).find({"queue_id": qid, "reviews.0": {"$exists": True}})
            for r in d["reviews"]]


@store.dataset_or_name
def review_summary(dataset, queue: str) -> dict:
    """The figures a client asks for: items, delivered (labels written), share of delivered items reviewed,
    share of reviewed items rejected at least once, first-pass acceptance, the estimated label accuracy of the
    delivered set with its 95 % interval (reviewed items count as right, the others at the first-pass acceptance
    rate), the gold (honeypot) accuracy of the queue, and rework per labeler, per class and per reason."""
    definition = _definition(dataset, queue)
    qid = str(definition["_id"])
    counts = lq.queue_progress(dataset, queue)
    pairs = _reviews(dataset, qid)
    items = _items(dataset)
    done = ItemStatus.DONE.value
    delivered = items.count_documents({"queue_id": qid, "status": done})
    delivered_reviewed = items.count_documents({"queue_id": qid, "status": done, "accepted": {"$exists": True}})
    reviewed = len({d["sample_id"] for d, _ in pairs})
    rejected = len({d["sample_id"] for d, r in pairs if r["decision"] == ReviewDecision.REJECT})
    firsts = [d["reviews"][0]["decision"] == ReviewDecision.ACCEPT
              for d in {d["sample_id"]: d for d, _ in pairs}.values()]
    first_ok, first_n = sum(firsts), len(firsts)
    p_low, p_high = wilson_interval(first_ok, first_n)
    p = first_ok / first_n if first_n else float("nan")
    unreviewed = delivered - delivered_reviewed
    if delivered and (first_n or not unreviewed):
        estimate = (delivered_reviewed + unreviewed * (p if first_n else 1.0)) / delivered
        low = (delivered_reviewed + unreviewed * (p_low if first_n else 1.0)) / delivered
        high = (delivered_reviewed + unreviewed * (p_high if first_n else 1.0)) / delivered
    else:
        estimate = low = high = float("nan")
    g_acc, g_low, g_high, g_n = gold.pooled_gold_accuracy(dataset, queue)
    rejections = [(d, r) for d, r in pairs if r["decision"] == ReviewDecision.REJECT]
    answered = pd.Series([a for d in items.find({"queue_id": qid, "status": {"$ne": "open"}}, {"answered_by": 1})
                          for a in d["answered_by"]], dtype=object).value_counts()
    by_labeler = pd.Series([who for _, r in rejections for who in r["labelers"]], dtype=object).value_counts()
    names = sorted(set(answered.index) | set(by_labeler.index))
    per_labeler = pd.DataFrame({"labeler": names, "answers": [int(answered.get(n, 0)) for n in names],
                                "rejections": [int(by_labeler.get(n, 0)) for n in names]},
                               columns=["labeler", "answers", "rejections"])
    per_labeler["rework_share"] = (per_labeler["rejections"] / per_labeler["answers"].where(per_labeler["answers"] > 0)
                                   ).astype(float)
    reviewed_class = pd.Series([annotations.text(r["label"]) for _, r in pairs], dtype=object).value_counts()
    rejected_class = pd.Series([annotations.text(r["label"]) for _, r in rejections], dtype=object).value_counts()
    classes = sorted(str(c) for c in reviewed_class.index)
    per_class = pd.DataFrame({"class": classes, "reviewed": [int(reviewed_class.get(c, 0)) for c in classes],
                              "rejections": [int(rejected_class.get(c, 0)) for c in classes]},
                             columns=["class", "reviewed", "rejections"])
    reasons = pd.Series([r["reason"] for _, r in rejections], dtype=object).value_counts()
    return {"queue": queue, "review": definition["review"], "items": counts["items"], "delivered": delivered,
            "delivered_reviewed": delivered_reviewed, "awaiting_review": counts["review"],
            "in_rework": counts["rework"], "reviewed": reviewed, "decisions": len(pairs),
            "share_reviewed": delivered_reviewed / delivered if delivered else float("nan"),
            "rejected": rejected, "share_rejected": rejected / reviewed if reviewed else float("nan"),
            "first_pass_acceptance": p, "first_pass_low": p_low, "first_pass_high": p_high,
            "accuracy": estimate, "accuracy_low": low, "accuracy_high": high,
            "gold_accuracy": g_acc, "gold_low": g_low, "gold_high": g_high, "gold_answers": g_n,
            "rework_by_labeler": per_labeler.sort_values("rejections", ascending=False, kind="stable")
            .reset_index(drop=True),
            "rework_by_class": per_class.sort_values("rejections", ascending=False, kind="stable")
            .reset_index(drop=True),
            "reasons": {str(k): int(v) for k, v in reasons.items()}}
