"""Gold items: samples a curator labeled with the known answer, to test labelers before and while they work.

    import sda2
    sda2.set_gold(ds, {sample_id: "cat", ...}, annotator="lead")
    sda2.create_qualification(ds, n_items=10, pass_mark=0.8, created_by="lead")
    sda2.qualification_status(ds, "alice")      # not taken / in progress / passed / failed, with the score
    sda2.gold_accuracy(ds)                      # per labeler: honeypot accuracy with its 95 % Wilson interval

Stored beside the dataset in MongoDB, per dataset: ``sda2_gold.<id>`` (the gold answers, attributed to the
curator who set them), ``sda2_gold_answers.<id>`` (every labeler's answer on a gold item, in a qualification
test or as a honeypot), ``sda2_gold_settings.<id>`` (the qualification test and the pause threshold) and
``sda2_labeler_pauses.<id>`` (who was paused, why, and who lifted it).

*Qualification*: a short test on gold items; a queue made with ``require_qualification=True`` gives work only to
labelers whose score reached the pass mark (:func:`check_access`, called by ``queue.next_item``).
*Honeypots*: a queue with ``honeypot_rate`` > 0 hands a labeler, at about that rate, a gold sample that is not in
the queue, looking exactly like any other item. The answer is kept here only: it never becomes a label, never
counts in agreement. After each honeypot answer the labeler's accuracy is updated; when the upper bound of its
95 % interval falls below the dataset's pause threshold (:func:`set_pause_threshold`), the labeler is paused
(no more items in any queue of the dataset) until a curator lifts it (:func:`lift_pause`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from bson import ObjectId
from pymongo import ASCENDING

from sda2 import store
from sda2.analysis.calibration import wilson_interval
from sda2.curation import annotations, audit

GOLD = "sda2_gold."
ANSWERS = "sda2_gold_answers."
SETTINGS = "sda2_gold_settings."
PAUSES = "sda2_labeler_pauses."
CONTEXTS = ("qualification", "honeypot")
GOLD_KINDS = ("classification", "multilabel")


class LabelerBlocked(PermissionError):
    """A labeler may not take work from a queue now (qualification missing or failed, or paused); the message
    says why and who can change it."""


def _gold(dataset):
    return annotations.collection(dataset, GOLD, (([("field", ASCENDING), ("sample_id", ASCENDING)],
                                                    {"unique": True}),))


def _answers(dataset):
    return annotations.collection(dataset, ANSWERS, (
        ([("labeler", ASCENDING), ("context", ASCENDING), ("queue_id", ASCENDING), ("sample_id", ASCENDING)],
         {"unique": True}),
        ([("context", ASCENDING), ("queue", ASCENDING)], {})))


def _settings(dataset):
    return annotations.collection(dataset, SETTINGS)


def _pauses(dataset):
    return annotations.collection(dataset, PAUSES, (([("labeler", ASCENDING), ("active", ASCENDING)], {}),))


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _person(name, what: str = "annotator") -> str:
    name = " ".join(str(name or "").split())
    if not name:
        raise ValueError(f"The {what} needs a name. Fix: pass {what}='your name' (in the app: type your name in "
                         "the sidebar).")
    return audit.annotator_key(name)


def _key(value) -> str:
    return json.dumps(value, sort_keys=True)


# --- gold items -------------------------------------------------------------------------------------------------

@store.dataset_or_name
def set_gold(dataset, answers: dict, annotator: str, field: str = "ground_truth") -> int:
    """Mark samples as gold with their known answer (``{sample_id: label}``), attributed to ``annotator``; the
    number set. The dataset's labels are not changed."""
    annotator = _person(annotator)
    kind = store.label_kind(dataset, field)
    if kind not in GOLD_KINDS:
        raise ValueError(f"Gold items need a classification or multi-label field; {field!r} holds {kind}. "
                         "Fix: pass field= a class field.")
    if not answers:
        raise ValueError("No gold answers given. Fix: pass {sample_id: label, ...}.")
    ids = [str(s) for s in answers]
    bad = [i for i in ids if not ObjectId.is_valid(i)]
    found = 0 if bad else dataset._sample_collection.count_documents({"_id": {"$in": [ObjectId(i) for i in ids]}})
    if bad or found != len(ids):
        raise ValueError(f"{len(ids) - found} of {len(ids)} gold ids are not samples of {dataset.name!r}. "
                         "Fix: pass ids from dataset.values('id').")
    now = _now()
    for sample_id, label in answers.items():
        plain = annotations.normalize(dataset, label, field)
        _gold(dataset).update_one({"field": field, "sample_id": str(sample_id)},
                                  {"$set": {"label": plain, "set_by": annotator, "set_at": now},
                                   "$setOnInsert": {"created_at": now}}, upsert=True)
    return len(answers)


@store.dataset_or_name
def unset_gold(dataset, sample_ids, annotator: str, field: str = "ground_truth") -> int:
    """Stop using samples as gold; the number removed (answers already given on them stay counted)."""
    _person(annotator)
    ids = [str(s) for s in ([sample_ids] if isinstance(sample_ids, str) else sample_ids)]
    return _gold(dataset).delete_many({"field": field, "sample_id": {"$in": ids}}).deleted_count


@store.dataset_or_name
def gold_items(dataset, field: str = "ground_truth") -> pd.DataFrame:
    """The dataset's gold items: sample_id, label (text), set_by, set_at; oldest first."""
    docs = _gold(dataset).find({"field": field}).sort([("created_at", 1), ("_id", 1)])
    return pd.DataFrame([{"sample_id": d["sample_id"], "label": annotations.text(d["label"]), "set_by": d["set_by"],
                          "set_at": d["set_at"]} for d in docs], columns=["sample_id", "label", "set_by", "set_at"])


def gold_answer(dataset, sample_id: str, field: str = "ground_truth"):
    """The known answer of a gold sample (plain label), or None when it is not gold."""
    doc = _gold(dataset).find_one({"field": field, "sample_id": str(sample_id)}, {"label": 1})
    return doc["label"] if doc else None


def _record(dataset, labeler: str, sample_id: str, label, seconds: float, context: str, field: str,
            queue: str = "", queue_id: str = "") -> bool:
    """Store a labeler's answer on a gold item; whether it was right."""
    truth = gold_answer(dataset, sample_id, field)
    if truth is None:
        raise ValueError(f"Sample {sample_id!r} is not a gold item of {dataset.name!r}.")
    plain = annotations.normalize(dataset, label, field)
    correct = _key(plain) == _key(truth)
    _answers(dataset).update_one(
        {"labeler": labeler, "context": context, "queue_id": queue_id, "sample_id": str(sample_id)},
        {"$set": {"label": plain, "correct": correct, "answered": True, "seconds": float(seconds), "at": _now(),
                  "queue": queue, "field": field}}, upsert=True)
    return correct


# --- qualification ----------------------------------------------------------------------------------------------

@store.dataset_or_name
def create_qualification(dataset, n_items: int, pass_mark: float, created_by: str = "", seed: int = 0,
                         field: str = "ground_truth") -> dict:
    """Make the dataset's qualification test: ``n_items`` gold items drawn with ``seed``; a labeler passes with a
    score (share right) of at least ``pass_mark`` (0..1). Replaces an earlier test; returns its definition."""
    if int(n_items) != n_items or n_items < 1:
        raise ValueError(f"n_items must be a whole number >= 1, not {n_items!r}.")
    if not 0.0 <= float(pass_mark) <= 1.0:
        raise ValueError(f"pass_mark is the share of test items a labeler must get right: a number in [0, 1], "
                         f"not {pass_mark!r}.")
    gold = list(gold_items(dataset, field)["sample_id"])
    if len(gold) < n_items:
        raise ValueError(f"The test needs {n_items} gold items but {dataset.name!r} has {len(gold)}. Fix: mark more "
                         "samples as gold (set_gold) or ask for fewer items.")
    picked = [gold[i] for i in sorted(np.random.default_rng(seed).permutation(len(gold))[:int(n_items)])]
    test = {"sample_ids": picked, "n_items": int(n_items), "pass_mark": float(pass_mark), "field": field,
            "created_by": str(created_by or ""), "created_at": _now(), "version": str(ObjectId())}
    _settings(dataset).update_one({"_id": "settings"}, {"$set": {"qualification": test}}, upsert=True)
    return test


def qualification(dataset) -> dict | None:
    """The dataset's qualification test (sample ids, pass mark, …), or None when there is none."""
    doc = _settings(dataset).find_one({"_id": "settings"}) or {}
    return doc.get("qualification")


def set_pass_mark(dataset, pass_mark: float, annotator: str) -> None:
    """Change the pass mark of the existing qualification test (scores already made are judged again)."""
    _person(annotator)
    if qualification(dataset) is None:
        raise ValueError("There is no qualification test yet. Fix: create_qualification() first.")
    if not 0.0 <= float(pass_mark) <= 1.0:
        raise ValueError(f"pass_mark must be a number in [0, 1], not {pass_mark!r}.")
    _settings(dataset).update_one({"_id": "settings"}, {"$set": {"qualification.pass_mark": float(pass_mark),
                                                                 "qualification.changed_by": audit.annotator_key(annotator)}})


def _test_answers(dataset, labeler: str, test: dict) -> dict[str, bool]:
    docs = _answers(dataset).find({"labeler": labeler, "context": "qualification", "queue_id": test["version"],
                                   "answered": True}, {"sample_id": 1, "correct": 1})
    return {d["sample_id"]: bool(d["correct"]) for d in docs}


@store.dataset_or_name
def qualification_status(dataset, labeler: str) -> dict:
    """Where ``labeler`` stands: status ("no test", "not taken", "in progress", "passed", "failed"), answered,
    n_items, and (when finished) correct, score and pass_mark."""
    labeler = _person(labeler, "labeler")
    test = qualification(dataset)
    if test is None:
        return {"status": "no test", "answered": 0, "n_items": 0, "correct": None, "score": None, "pass_mark": None}
    given = _test_answers(dataset, labeler, test)
    answered = sum(1 for s in test["sample_ids"] if s in given)
    status = "not taken" if answered == 0 else "in progress" if answered < test["n_items"] else None
    correct = sum(given.get(s, False) for s in test["sample_ids"])
    score = correct / test["n_items"] if status is None else None
    if status is None:
        status = "passed" if score >= test["pass_mark"] - 1e-12 else "failed"
    return {"status": status, "answered": answered, "n_items": test["n_items"],
            "correct": correct if score is not None else None, "score": score, "pass_mark": test["pass_mark"]}


@store.dataset_or_name
def qualification_next(dataset, labeler: str) -> str | None:
    """The next test item for ``labeler`` (a sample id), or None when the test is finished or there is none."""
    labeler = _person(labeler, "labeler")
    test = qualification(dataset)
    if test is None:
        return None
    given = _test_answers(dataset, labeler, test)
    return next((s for s in test["sample_ids"] if s not in given), None)


@store.dataset_or_name
def answer_qualification(dataset, labeler: str, sample_id: str, label, seconds: float = 0.0) -> dict:
    """Record ``labeler``'s answer to a test item; their :func:`qualification_status` afterwards (which items were
    wrong is not told)."""
    labeler = _person(labeler, "labeler")
    test = qualification(dataset)
    if test is None or str(sample_id) not in test["sample_ids"]:
        raise ValueError(f"Sample {sample_id!r} is not in {dataset.name!r}'s qualification test. Fix: answer the "
                         "items qualification_next() gives.")
    if qualification_status(dataset, labeler)["status"] in ("passed", "failed"):
        raise ValueError("The test is finished; answers cannot be changed. Fix: a curator can let you retake it "
                         "(reset_qualification).")
    _record(dataset, labeler, str(sample_id), label, seconds, "qualification", test["field"], "qualification",
            test["version"])
    return qualification_status(dataset, labeler)


@store.dataset_or_name
def reset_qualification(dataset, labeler: str, annotator: str) -> int:
    """Let ``labeler`` take the test again (a curator's decision, attributed); the answers removed."""
    annotator, labeler = _person(annotator), _person(labeler, "labeler")
    test = qualification(dataset)
    if test is None:
        return 0
    removed = _answers(dataset).delete_many({"labeler": labeler, "context": "qualification",
                                             "queue_id": test["version"]}).deleted_count
    _settings(dataset).update_one({"_id": "settings"}, {"$push": {"resets": {"labeler": labeler, "by": annotator,
                                                                             "at": _now()}}})
    return removed


# --- pauses and access --------------------------------------------------------------------------------------------

@store.dataset_or_name
def set_pause_threshold(dataset, threshold: float | None, annotator: str) -> None:
    """Pause a labeler when the upper bound of their honeypot accuracy's 95 % interval falls below ``threshold``
    (0..1; None: never pause)."""
    annotator = _person(annotator)
    if threshold is not None and not 0.0 < float(threshold) <= 1.0:
        raise ValueError(f"The pause threshold is an accuracy in (0, 1], not {threshold!r}.")
    _settings(dataset).update_one({"_id": "settings"}, {"$set": {
        "pause_below": None if threshold is None else float(threshold), "pause_set_by": annotator}}, upsert=True)


def pause_threshold(dataset) -> float | None:
    """The dataset's pause threshold (an accuracy), or None when labelers are never paused."""
    return (_settings(dataset).find_one({"_id": "settings"}) or {}).get("pause_below")


def pause(dataset, labeler: str) -> dict | None:
    """The active pause of ``labeler`` (reason, accuracy, interval, when), or None."""
    return _pauses(dataset).find_one({"labeler": _person(labeler, "labeler"), "active": True})


@store.dataset_or_name
def lift_pause(dataset, labeler: str, annotator: str) -> bool:
    """Let a paused labeler work again (a curator's decision, attributed); whether a pause was lifted.
    Only honeypot answers given after the lift count toward the next pause decision."""
    annotator, labeler = _person(annotator), _person(labeler, "labeler")
    done = _pauses(dataset).update_many({"labeler": labeler, "active": True},
                                        {"$set": {"active": False, "lifted_by": annotator, "lifted_at": _now()}})
    return bool(done.modified_count)


def _pause_message(doc: dict) -> str:
    return (f"You are paused: your accuracy on check items is {doc['accuracy']:.0%} (95 % interval "
            f"{doc['low']:.0%}–{doc['high']:.0%}, {doc['answers']} answers), below the {doc['threshold']:.0%} "
            "this dataset requires. A curator can lift the pause (Labeling page, curator controls, or "
            "sda2.lift_pause).")


def check_access(dataset, definition: dict, labeler: str) -> None:
    """Raise :class:`LabelerBlocked` (saying why and who can lift it) when ``labeler`` may not take items of the
    queue ``definition``: paused, or the queue requires a qualification they have not passed."""
    labeler = _person(labeler, "labeler")
    paused = _pauses(dataset).find_one({"labeler": labeler, "active": True})
    if paused:
        raise LabelerBlocked(_pause_message(paused))
    if not definition.get("require_qualification"):
        return
    status = qualification_status(dataset, labeler)
    if status["status"] == "no test":
        raise LabelerBlocked(f"Queue {definition['name']!r} requires a qualification test, but none is set up. Fix: "
                             "a curator creates one (sda2.create_qualification or the Labeling page).")
    if status["status"] == "failed":
        raise LabelerBlocked(f"Your qualification score is {status['score']:.0%}, below the pass mark of "
                             f"{status['pass_mark']:.0%}, so queue {definition['name']!r} gives you no work. "
                             "A curator can let you retake the test (sda2.reset_qualification).")
    if status["status"] != "passed":
        raise LabelerBlocked(f"Queue {definition['name']!r} requires the qualification test: take it first "
                             f"({status['answered']} of {status['n_items']} items answered).")


def _accuracy(dataset, labeler: str, since=None) -> tuple[int, int]:
    query = {"labeler": labeler, "context": "honeypot", "answered": True, "skipped": {"$ne": True}}
    if since is not None:
        query["at"] = {"$gt": since}
    docs = list(_answers(dataset).find(query, {"correct": 1}))
    return sum(bool(d["correct"]) for d in docs), len(docs)


def _check_pause(dataset, labeler: str) -> None:
    """Pause ``labeler`` when the upper bound of their honeypot accuracy is below the threshold."""
    threshold = pause_threshold(dataset)
    if threshold is None or _pauses(dataset).find_one({"labeler": labeler, "active": True}):
        return
    lifted = _pauses(dataset).find_one({"labeler": labeler, "active": False}, sort=[("lifted_at", -1)])
    correct, n = _accuracy(dataset, labeler, lifted["lifted_at"] if lifted else None)
    low, high = wilson_interval(correct, n)
    if n and high < threshold:
        _pauses(dataset).insert_one({"labeler": labeler, "active": True, "at": _now(), "accuracy": correct / n,
                                     "low": low, "high": high, "answers": n, "threshold": threshold,
                                     "reason": "gold accuracy below the threshold"})


# --- honeypots --------------------------------------------------------------------------------------------------

def _draw(queue_id: str, labeler: str, n: int) -> float:
    """A number in [0, 1) fixed by queue, labeler and how many items they had: whether the next is a honeypot."""
    digest = hashlib.sha256(f"{queue_id}:{labeler}:{n}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def held_honeypot(dataset, definition: dict, labeler: str) -> str | None:
    """The honeypot handed to ``labeler`` in this queue and not answered yet (sample id), or None."""
    doc = _answers(dataset).find_one({"labeler": labeler, "context": "honeypot",
                                      "queue_id": str(definition["_id"]), "answered": False}, {"sample_id": 1})
    return doc["sample_id"] if doc else None


def serve_honeypot(dataset, definition: dict, labeler: str, answered: int, exclude) -> str | None:
    """Hand ``labeler`` a honeypot (a gold sample id not among ``exclude``, the queue's items) at the queue's
    ``honeypot_rate``, given the number of queue items they ``answered``; None when this item is a normal one."""
    rate = float(definition.get("honeypot_rate") or 0.0)
    if rate <= 0:
        return None
    qid = str(definition["_id"])
    served = _answers(dataset).count_documents({"labeler": labeler, "context": "honeypot", "queue_id": qid})
    if _draw(qid, labeler, answered + served) >= rate:
        return None
    seen = set(_answers(dataset).distinct("sample_id", {"labeler": labeler, "context": "honeypot"}))
    candidates = [s for s in gold_items(dataset, definition["field"])["sample_id"] if s not in seen]
    candidates = [s for s in candidates if s not in exclude(candidates)] if candidates else []
    if not candidates:
        return None
    sample_id = candidates[int(_draw(qid, labeler, -1 - served) * len(candidates))]
    _answers(dataset).update_one({"labeler": labeler, "context": "honeypot", "queue_id": qid, "sample_id": sample_id},
                                 {"$setOnInsert": {"answered": False, "label": None, "correct": None,
                                                   "served_at": _now(), "queue": definition["name"],
                                                   "field": definition["field"]}}, upsert=True)
    return sample_id


def served_honeypot(dataset, definition: dict, sample_id: str, labeler: str) -> dict | None:
    """The honeypot record of ``sample_id`` handed to ``labeler`` in this queue (with their answer), or None."""
    return _answers(dataset).find_one({"labeler": _person(labeler, "labeler"), "context": "honeypot",
                                       "queue_id": str(definition["_id"]), "sample_id": str(sample_id)})


def answer_honeypot(dataset, definition: dict, labeler: str, sample_id: str, label, seconds: float) -> object:
    """Record ``labeler``'s answer on a honeypot of this queue (never a label); may pause the labeler. The answer
    as stored."""
    labeler = _person(labeler, "labeler")
    _record(dataset, labeler, str(sample_id), label, seconds, "honeypot", definition["field"], definition["name"],
            str(definition["_id"]))
    _check_pause(dataset, labeler)
    return annotations.normalize(dataset, label, definition["field"])


def skip_honeypot(dataset, definition: dict, labeler: str, sample_id: str) -> None:
    """The labeler passed a honeypot on: it is not offered again and does not count."""
    _answers(dataset).update_one({"labeler": _person(labeler, "labeler"), "context": "honeypot",
                                  "queue_id": str(definition["_id"]), "sample_id": str(sample_id),
                                  "answered": False}, {"$set": {"answered": True, "skipped": True, "at": _now()}})


def honeypots_answered(dataset, definition: dict, labeler: str) -> int:
    """How many honeypots ``labeler`` answered or skipped in this queue (counted as items in their progress)."""
    return _answers(dataset).count_documents({"labeler": _person(labeler, "labeler"), "context": "honeypot",
                                              "queue_id": str(definition["_id"]), "answered": True})


@store.dataset_or_name
def gold_accuracy(dataset, queue: str | None = None) -> pd.DataFrame:
    """Per labeler, from honeypot answers (of one queue when given): answers, correct, accuracy, its 95 % Wilson
    interval (low, high) and status: "ok", "warning" (accuracy below the pause threshold, interval not yet) or
    "paused"."""
    query = {"context": "honeypot", "answered": True, "skipped": {"$ne": True}, **({"queue": queue} if queue else {})}
    frame = pd.DataFrame(list(_answers(dataset).find(query, {"labeler": 1, "correct": 1})),
                         columns=["labeler", "correct"])
    threshold = pause_threshold(dataset)
    paused = {d["labeler"] for d in _pauses(dataset).find({"active": True}, {"labeler": 1})}
    rows = []
    for labeler, group in frame.groupby("labeler", sort=True):
        correct, n = int(group["correct"].astype(bool).sum()), len(group)
        low, high = wilson_interval(correct, n)
        status = "paused" if labeler in paused else (
            "warning" if threshold is not None and correct / n < threshold else "ok")
        rows.append({"labeler": labeler, "answers": n, "correct": correct, "accuracy": correct / n, "low": low,
                     "high": high, "status": status})
    return pd.DataFrame(rows, columns=["labeler", "answers", "correct", "accuracy", "low", "high", "status"])


def pooled_gold_accuracy(dataset, queue: str | None = None) -> tuple[float, float, float, int]:
    """All labelers' honeypot answers together (of one queue when given): accuracy, low, high, answers."""
    frame = gold_accuracy(dataset, queue)
    correct, n = int(frame["correct"].sum()), int(frame["answers"].sum())
    low, high = wilson_interval(correct, n)
    return (correct / n if n else float("nan")), low, high, n
