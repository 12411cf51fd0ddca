"""Labelers' answers, each kept on its own: several answers for one sample coexist (blind multi-labeling).

Each dataset has a collection ``sda2_annotations.<dataset id>`` in the same MongoDB as the audit log:
one document per (queue, sample, labeler) holding the answer as a plain value (a class name, a sorted
list of tags, or boxes), the seconds spent on it, and when it was given. An answer is not a label yet:
the labeling queue (:mod:`sda2.curation.queue`) decides when answers become the sample's label and
writes it through the edit path. :func:`annotations_frame` is what agreement and efficiency figures read.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING

from sda2 import store
from sda2.analysis.agreement import TAG_SEP
from sda2.curation import audit, edits, guidelines


PREFIX = "sda2_annotations."
COLUMNS = ["sample_id", "annotator", "label", "seconds", "created_at", "queue", "changed_by_review"]


def collection(dataset, prefix: str = PREFIX, indexes: tuple = ()):
    """The pymongo collection ``<prefix><dataset id>`` of ``dataset`` (see :func:`sda2.store.dataset_collection`)."""
    return store.dataset_collection(dataset, prefix, indexes)


def drop_orphans(prefix: str = PREFIX) -> list[str]:
    """Drop the ``prefix`` collections of datasets that no longer exist; returns the dropped names."""
    return store.drop_orphan_collections(prefix)


def _annotations(dataset):
    return collection(dataset, PREFIX, (
        ([("queue_id", ASCENDING), ("sample_id", ASCENDING), ("annotator", ASCENDING)], {"unique": True}),
        ([("annotator", ASCENDING), ("created_at", DESCENDING)], {}),
        ([("queue", ASCENDING)], {})))


def normalize(dataset, value, field: str = "ground_truth", allow_new_class: bool = False):
    """``value`` as the plain label of ``field`` (class name, sorted tags or boxes), checked against its classes."""
    kind = store.label_kind(dataset, field)
    plain = edits.normalize(value, kind)
    edits.check_classes(dataset, field, kind, [plain], allow_new_class)
    return plain


def text(value) -> str | None:
    """A plain label as one string: the class name, tags (or box classes) sorted and joined by "|"."""
    if value is None or isinstance(value, str):
        return value
    names = [v["label"] if isinstance(v, dict) else str(v) for v in value]
    return TAG_SEP.join(sorted(names))


@store.dataset_or_name
def record_annotation(dataset, sample_id, annotator: str, label, seconds: float, queue: str = "",
                      field: str = "ground_truth", queue_id: str | None = None,
                      allow_new_class: bool = False, guideline_version: int | None = None) -> str:
    """Store one labeler's answer for a sample (replacing their earlier answer in the same queue); its id.

    The answer records ``guideline_version``: by default the dataset's current guideline version
    (0 when it has none), see :mod:`sda2.curation.guidelines`.

    ``label`` is a class name, a list of tags (multi-label) or boxes (detection); ``seconds`` the time
    spent on it. Recording an answer does not change the sample's label: see :mod:`sda2.curation.queue`.
    """
    annotator = " ".join(str(annotator or "").split()).casefold()  # "Alice" and "alice" are one labeler
    if not annotator:
        raise ValueError("Every answer needs the labeler's name. Fix: pass annotator='your name' "
                         "(in the app: type your name in the sidebar).")
    if not ObjectId.is_valid(str(sample_id)) or not dataset._sample_collection.count_documents(
            {"_id": ObjectId(str(sample_id))}, limit=1):
        raise ValueError(f"No sample {sample_id!r} in dataset {dataset.name!r}. Fix: pass an id from "
                         "dataset.values('id').")
    seconds = float(seconds)
    if not seconds >= 0:
        raise ValueError(f"seconds must be a time in seconds (>= 0), not {seconds!r}.")
    plain = normalize(dataset, label, field, allow_new_class)
    version = guidelines.current_version(dataset) if guideline_version is None else int(guideline_version)
    now = datetime.now(timezone.utc)
    key = {"queue_id": str(queue_id or queue or ""), "sample_id": str(sample_id), "annotator": annotator}
    doc = _annotations(dataset).find_one_and_update(
        key, {"$set": {"label": plain, "seconds": seconds, "updated_at": now, "queue": str(queue or ""),
                       "field": field, "guideline_version": version},
              "$setOnInsert": {"created_at": now}, "$inc": {"revisions": 1}},
        upsert=True, return_document=True, projection={"_id": 1})
    return str(doc["_id"])


def find(dataset, **query) -> list[dict]:
    """Stored answers matching ``query`` (a MongoDB filter on the answer fields), oldest first."""
    return list(_annotations(dataset).find(query).sort([("created_at", 1), ("_id", 1)]))


def set_decision(dataset, queue_id: str, sample_id: str, label, by: list[str] | None) -> None:
    """Note on every answer for a queue item the label it was decided to get and by whom (None: undecided)."""
    decided = None if by is None else {"label": label, "by": sorted(by), "at": datetime.now(timezone.utc)}
    _annotations(dataset).update_many({"queue_id": str(queue_id), "sample_id": str(sample_id)},
                                      {"$set": {"decided": decided}})


def delete(dataset, **query) -> int:
    """Delete the answers matching ``query``; the number deleted (used when a queue is deleted with its answers)."""
    return _annotations(dataset).delete_many(query).deleted_count


def _final_labels(dataset, docs) -> dict:
    """{(sample_id, field): current plain label} for the samples and fields of ``docs``, read in bulk."""
    by_field: dict[str, set] = {}
    for d in docs:
        by_field.setdefault(d.get("field", "ground_truth"), set()).add(d["sample_id"])
    final = {}
    for field, ids in by_field.items():
        kind = store.label_kind(dataset, field)
        for raw in dataset._sample_collection.find({"_id": {"$in": [ObjectId(i) for i in ids]}}, {field: 1}):
            final[(str(raw["_id"]), field)] = edits.plain(raw.get(field), kind)
    return final


def _setters(dataset, keys) -> dict:
    """{(sample_id, field): (annotator, at)} of the newest applied, not undone edit of each key."""
    if not keys:
        return {}
    ids = sorted({sid for sid, _ in keys})
    cursor = audit.collection(dataset).find(
        {"sample_id": {"$in": ids}, "field": {"$in": sorted({f for _, f in keys})}, "undone": False,
         **audit.APPLIED}, {"sample_id": 1, "field": 1, "annotator": 1, "at": 1, "new": 1}).sort(
        [("at", -1), ("_id", -1)])
    newest = {}
    for entry in cursor:
        newest.setdefault((entry["sample_id"], entry["field"]), (entry["annotator"], entry["at"], entry["new"]))
    return newest


@store.dataset_or_name
def annotations_frame(dataset, queue: str | None = None) -> pd.DataFrame:
    """All answers (of one queue when given) as a DataFrame, one row per answer, oldest first.

    Columns: sample_id, annotator, label (str; multi-tag as sorted "|"-joined tags), seconds (float),
    created_at (UTC datetime), queue (str), changed_by_review (bool: the sample's label now differs from
    the answer, and after the answer someone else set it, or the queue decided it by majority or adjudication).
    """
    docs = find(dataset, **({"queue": queue} if queue is not None else {}))
    if not docs:
        return pd.DataFrame({"sample_id": pd.Series(dtype=str), "annotator": pd.Series(dtype=str),
                             "label": pd.Series(dtype=str), "seconds": pd.Series(dtype=float),
                             "created_at": pd.to_datetime(pd.Series([], dtype=object), utc=True),
                             "queue": pd.Series(dtype=str), "changed_by_review": pd.Series(dtype=bool)})
    final = _final_labels(dataset, docs)
    setters = _setters(dataset, {(d["sample_id"], d.get("field", "ground_truth")) for d in docs})
    rows = []
    for d in docs:
        key = (d["sample_id"], d.get("field", "ground_truth"))
        now = final.get(key)
        setter = setters.get(key)
        decided = d.get("decided")
        overruled = bool(decided and decided["label"] == now and d["annotator"] not in decided["by"]
                         and decided["at"] >= d["updated_at"])
        edited = bool(setter and setter[2] == now and setter[0] != d["annotator"] and setter[1] >= d["updated_at"])
        changed = now != d["label"] and (overruled or edited)
        rows.append({"sample_id": d["sample_id"], "annotator": d["annotator"], "label": text(d["label"]),
                     "seconds": float(d["seconds"]), "created_at": d["created_at"], "queue": d.get("queue", ""),
                     "changed_by_review": changed})
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame
