"""Releases: immutable, versioned snapshots of a dataset's samples, labels, splits and marks.

A release records, per sample: its id, image path, label (the plain value: a class name, sorted tags, or
boxes), split and sample tags (the marks ``excluded`` / ``ambiguous`` / ``reviewed`` among them), plus who
made it, when, the notes and the labeling guideline version (``None`` is stored and shown as "none
recorded"). Releases live beside the dataset in the same MongoDB, keyed by the dataset's id (renames keep
them, a deleted dataset's releases are dropped):

- ``sda2_releases``: one document per release (version, parent, who/when/notes, counts, ``committed``);
- ``sda2_release_rows.<dataset id>``: the rows. A release stores only the rows that differ from its parent
  (the previous release) and a tombstone (``gone``) per removed sample; every :data:`FULL_EVERY`-th
  release, or one whose delta would be over half the samples, stores all rows. Reading a release replays
  its chain (at most :data:`FULL_EVERY` releases).

Nothing ever updates or deletes the rows of a committed release: later edits of the dataset cannot change
it. A release is written rows first, then committed; one killed in between is never listed and its rows
are removed by the next :func:`create_release` (the write is journaled, :func:`sda2.store.durable`).

Open one read-only as a DataFrame (:func:`release_frame`), or as a FiftyOne dataset for the App, a
notebook or an exporter (:func:`release_dataset`: a non-persistent copy built on demand, named
``<name>@<version>``; edits made to that copy are not the release and are thrown away with it).
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
from bson import ObjectId

from sda2 import faults, label_documents, store
from sda2.clock import as_utc
from sda2.curation import audit

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)
import fiftyone.core.odm as foo  # noqa: E402

META = "sda2_releases"
ROWS_PREFIX = "sda2_release_rows."
FULL_EVERY = 10  # every n-th release in a chain stores all rows (bounds the replay)
CHUNK = 5000  # rows per insert
VERSION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
ROW_COLUMNS = ["sample_id", "filepath", "label", "split", "tags"]
NO_GUIDELINE = "none recorded"
_ready: set[str] = set()


class ReleaseNotFound(KeyError):
    """No release of that version; the message lists those that exist."""

    def __str__(self) -> str:
        return self.args[0]


@dataclass(frozen=True)
class ReleaseInfo:
    """What a release is: its version, who made it and when, notes, guideline version and counts."""

    dataset: str
    version: str
    created_at: datetime
    created_by: str
    notes: str
    guideline_version: str | None
    label_field: str
    label_kind: str
    classes: list[str]
    samples: int
    excluded: int
    ambiguous: int
    stored_rows: int  # rows this release stored itself (its delta, or all when full)
    full: bool
    parent: str | None  # version of the previous release
    release_id: str = ""
    counts_by_split: dict = dc_field(default_factory=dict)

    @property
    def guideline(self) -> str:
        """The guideline version, or "none recorded"."""
        return self.guideline_version or NO_GUIDELINE


# ---------------------------------------------------------------- names and references

def validate_version(version) -> str:
    """``version`` itself when it is a good release version ("v1", "2024-06.1"); else a ValueError with the fix."""
    if not isinstance(version, str) or not VERSION_PATTERN.fullmatch(version):
        raise ValueError(f"Invalid release version {version!r}: use 1-40 characters, Latin letters, digits, '.', "
                         "'_' or '-', starting with a letter or digit. Fix: e.g. --version v1 or 2024-06.")
    return version


def parse_ref(ref: str) -> tuple[str, str | None]:
    """Split ``NAME[@VERSION]`` into (dataset name, version or None), both checked."""
    from sda2 import names

    name, sep, version = str(ref).rpartition("@") if "@" in str(ref) else (str(ref), "", None)
    names.validate_dataset_name(name)
    if sep and not version:
        raise ValueError(f"{ref!r} ends with '@' but names no version. Fix: write NAME@VERSION, e.g. digits@v1, "
                         "or NAME alone for the dataset as it is now.")
    return name, (validate_version(version) if version else None)


def resolve_ref(ref_or_dataset, version: str | None = None):
    """(dataset, version or None) for ``NAME``, ``NAME@VERSION`` or a dataset; an explicit ``version`` wins."""
    if isinstance(ref_or_dataset, str):
        name, ref_version = parse_ref(ref_or_dataset)
        return store.open_dataset(name), version or ref_version
    return store.as_dataset(ref_or_dataset), version


# ---------------------------------------------------------------- collections

def _meta():
    coll = foo.get_db_conn()[META]
    if META not in _ready:
        coll.create_index([("dataset_id", 1), ("version", 1)], unique=True)
        _ready.add(META)
        drop_orphans()
    return coll


def _rows(dataset_id: str):
    name = ROWS_PREFIX + dataset_id
    coll = foo.get_db_conn()[name]
    if name not in _ready:
        coll.create_index([("release_id", 1), ("sample_id", 1)])
        _ready.add(name)
    return coll


def drop_orphans() -> list[str]:
    """Drop the releases of datasets that no longer exist; returns the dropped row collections."""
    dropped = store.drop_orphan_collections(ROWS_PREFIX)
    foo.get_db_conn()[META].delete_many({"dataset_id": {"$nin": list(store.live_dataset_ids())}})
    return dropped


def _alive(owner: dict | None) -> bool:
    """Whether the process that began an uncommitted release still runs (on this host)."""
    if not owner or owner.get("host") != socket.gethostname():
        return True  # cannot tell: leave it (it is never listed anyway)
    try:
        return Path(f"/proc/{int(owner['pid'])}").exists()
    except (TypeError, ValueError):
        return False


def _clean_uncommitted(dataset_id: str) -> int:
    """Remove releases of ``dataset_id`` begun by processes that died before committing; returns how many."""
    meta = store.durable(_meta())
    dead = [d for d in meta.find({"dataset_id": dataset_id, "committed": False}) if not _alive(d.get("owner"))]
    for doc in dead:
        store.durable(_rows(dataset_id)).delete_many({"release_id": doc["_id"]})
        meta.delete_one({"_id": doc["_id"], "committed": False})
    return len(dead)


# ---------------------------------------------------------------- reading the dataset as rows

def label_values(collection, label_field: str, kind: str) -> list:
    """The plain label of every sample of ``collection`` (class name, sorted tags, or boxes), in order."""
    if kind == "classification":
        return collection.values(f"{label_field}.label")
    if kind == "multilabel":
        return [sorted(set(t or [])) for t in collection.values(f"{label_field}.classifications.label")]
    labels, boxes = collection.values([f"{label_field}.detections.label", f"{label_field}.detections.bounding_box"])
    return [[{"label": lab, "bounding_box": [float(v) for v in box]} for lab, box in zip(ls or [], bs or [])]
            for ls, bs in zip(labels, boxes)]


def current_frame(dataset, label_field: str = "ground_truth") -> pd.DataFrame:
    """The dataset as it is now, as release rows: sample_id, filepath, label, split, tags (sorted)."""
    kind = store.label_kind(dataset, label_field)
    has_split = "split" in dataset.get_field_schema()
    fields = ["id", "filepath", "tags"] + (["split"] if has_split else [])
    values = dataset.values(fields)
    frame = pd.DataFrame({"sample_id": values[0], "filepath": values[1],
                          "label": label_values(dataset, label_field, kind),
                          "split": values[3] if has_split else [None] * len(values[0]),
                          "tags": [sorted(t or []) for t in values[2]]}, columns=ROW_COLUMNS)
    return frame


def _key(frame: pd.DataFrame) -> pd.Series:
    """One comparable text per row (label, split, tags, path), for finding what changed."""
    labels = frame["label"].map(lambda v: v if isinstance(v, str) or v is None else json.dumps(v, sort_keys=True))
    return (frame["filepath"].astype(str) + "\x1f" + labels.astype(str) + "\x1f" + frame["split"].astype(str)
            + "\x1f" + frame["tags"].map("\x1e".join))


# ---------------------------------------------------------------- releases

def _info(doc: dict, parent_version: str | None) -> ReleaseInfo:
    return ReleaseInfo(doc["dataset_name"], doc["version"], as_utc(doc["created_at"]),
                       doc["created_by"], doc.get("notes") or "", doc.get("guideline_version"), doc["label_field"],
                       doc["label_kind"], list(doc["classes"]), doc["samples"], doc["excluded"], doc["ambiguous"],
                       doc["stored_rows"], doc["full"], parent_version, str(doc["_id"]),
                       dict(doc.get("counts_by_split") or {}))


def _docs(dataset_id: str) -> list[dict]:
    return list(_meta().find({"dataset_id": dataset_id, "committed": True}).sort([("created_at", 1), ("_id", 1)]))


def list_releases(dataset_or_name) -> list[ReleaseInfo]:
    """The dataset's committed releases, oldest first."""
    dataset = store.as_dataset(dataset_or_name)
    docs = _docs(store.dataset_id(dataset))
    versions = {d["_id"]: d["version"] for d in docs}
    return [_info(d, versions.get(d.get("parent_id"))) for d in docs]


def _doc(dataset, version: str) -> dict:
    validate_version(version)
    doc = _meta().find_one({"dataset_id": store.dataset_id(dataset), "version": version, "committed": True})
    if doc is None:
        known = ", ".join(r.version for r in list_releases(dataset)) or "none yet"
        raise ReleaseNotFound(f"Dataset {store.dataset_name(dataset)!r} has no release {version!r} (releases: "
                              f"{known}). Fix: pick one of those, or make it with `sda2 release NAME --version "
                              f"{version}`.")
    return doc


def release_info(dataset_or_name, version: str) -> ReleaseInfo:
    """Who made release ``version``, when, with which notes and guideline version, and its counts."""
    dataset = store.as_dataset(dataset_or_name)
    doc = _doc(dataset, version)
    parent = _meta().find_one({"_id": doc.get("parent_id")}, {"version": 1}) if doc.get("parent_id") else None
    return _info(doc, parent["version"] if parent else None)


def _chain(doc: dict) -> list[dict]:
    """The release documents to replay for ``doc``: from its last full release to itself, oldest first."""
    chain = [doc]
    while not chain[-1]["full"]:
        chain.append(_meta().find_one({"_id": chain[-1]["parent_id"]}))
    return chain[::-1]


def _frame_of(dataset_id: str, doc: dict) -> pd.DataFrame:
    chain = _chain(doc)
    order = {d["_id"]: i for i, d in enumerate(chain)}
    rows = list(_rows(dataset_id).find({"release_id": {"$in": list(order)}}, {"_id": 0}))
    frame = pd.DataFrame(rows, columns=["release_id", *ROW_COLUMNS, "gone"])
    if frame.empty:
        return pd.DataFrame(columns=ROW_COLUMNS)
    frame["_order"] = frame["release_id"].map(order)
    frame = frame.sort_values("_order", kind="stable").drop_duplicates("sample_id", keep="last")
    frame = frame[frame["gone"] != True]  # noqa: E712  (NaN where absent)
    frame["tags"] = frame["tags"].map(lambda t: list(t) if isinstance(t, list) else [])
    return frame[ROW_COLUMNS].sort_values("sample_id").reset_index(drop=True)


def release_frame(dataset_or_name, version: str) -> pd.DataFrame:
    """Release ``version`` read-only as a DataFrame: sample_id, filepath, label, split, tags (one row a sample)."""
    dataset = store.as_dataset(dataset_or_name)
    return _frame_of(store.dataset_id(dataset), _doc(dataset, version))


def _counts(frame: pd.DataFrame) -> dict:
    tags = frame["tags"]
    return {"samples": len(frame), "excluded": int(tags.map(lambda t: "excluded" in t).sum()),
            "ambiguous": int(tags.map(lambda t: "ambiguous" in t).sum()),
            "counts_by_split": {str(k): int(v) for k, v in frame["split"].fillna("(none)").value_counts().items()}}


def _owner() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def create_release(dataset_or_name, version: str, created_by: str, notes: str = "",
                   guideline_version: str | None = None, label_field: str = "ground_truth") -> ReleaseInfo:
    """Snapshot the dataset as release ``version`` (stores only what changed since the previous release)."""
    dataset = store.as_dataset(dataset_or_name)
    validate_version(version)
    who = audit.annotator_name(created_by)
    dataset_id = store.dataset_id(dataset)
    kind = store.label_kind(dataset, label_field)
    _clean_uncommitted(dataset_id)
    if _meta().find_one({"dataset_id": dataset_id, "version": version}):
        raise ValueError(f"Dataset {dataset.name!r} already has a release {version!r}; a release never changes. "
                         "Fix: choose a new version, e.g. the next number.")
    now = datetime.now(timezone.utc)
    frame = current_frame(dataset, label_field)
    docs = _docs(dataset_id)
    parent = docs[-1] if docs else None
    depth = 0
    if parent is not None:
        chain = _chain(parent)
        depth = len(chain)
        before = _frame_of(dataset_id, parent)
    full = parent is None or depth >= FULL_EVERY
    if not full:
        old = pd.Series(_key(before).values, index=before["sample_id"].values)
        new_key = pd.Series(_key(frame).values, index=frame["sample_id"].values)
        changed = frame[~(new_key.reindex(frame["sample_id"]).values == old.reindex(frame["sample_id"]).values)]
        gone = sorted(set(before["sample_id"]) - set(frame["sample_id"]))
        full = len(changed) + len(gone) > len(frame) / 2
    if full:
        rows, gone = frame, []
    else:
        rows = changed
    counts = _counts(frame)
    oof_metrics = _oof_metrics(dataset, frame, kind)
    meta_doc = {"dataset_id": dataset_id, "dataset_name": dataset.name, "version": version, "created_at": now,
                "created_by": who, "notes": str(notes or ""), "guideline_version": guideline_version or None,
                "label_field": label_field, "label_kind": kind, "classes": store.classes(dataset, label_field),
                "parent_id": parent["_id"] if parent else None, "full": bool(full),
                "stored_rows": len(rows) + len(gone), "excluded": counts["excluded"],
                "ambiguous": counts["ambiguous"], "samples": counts["samples"],
                "counts_by_split": counts["counts_by_split"], "oof_metrics": oof_metrics, "committed": False,
                "owner": _owner()}
    try:
        release_id = store.durable(_meta()).insert_one(meta_doc).inserted_id
    except Exception as exc:
        if "duplicate key" in str(exc):
            raise ValueError(f"Dataset {dataset.name!r} already has a release {version!r} (made just now by another "
                             "process). Fix: choose a new version.") from None
        raise
    faults.point("releases.rows")
    coll = store.durable(_rows(dataset_id))
    records = [{"release_id": release_id, "sample_id": s, "filepath": p, "label": lab, "split": sp, "tags": t}
               for s, p, lab, sp, t in zip(rows["sample_id"], rows["filepath"], rows["label"], rows["split"],
                                           rows["tags"])]
    records += [{"release_id": release_id, "sample_id": s, "gone": True} for s in gone]
    for start in range(0, len(records), CHUNK):
        coll.insert_many(records[start:start + CHUNK], ordered=False)
        faults.point("releases.chunk")
    faults.point("releases.commit")
    store.durable(_meta()).update_one({"_id": release_id}, {"$set": {"committed": True}, "$unset": {"owner": ""}})
    return release_info(dataset, version)


def _oof_metrics(dataset, frame: pd.DataFrame, kind: str, pred_field: str = "predictions") -> dict | None:
    """Per-class recall / precision / F1 / support of the stored out-of-fold predictions on the release's
    labeled, not excluded samples; None without single-label predictions."""
    from sda2 import arrays
    from sda2.analysis.evaluation import per_class_table
    from sda2.compute.predictions import probabilities_key

    key = probabilities_key(pred_field)
    if kind != "classification" or not arrays.exists(dataset, key):
        return None
    rows = frame[~excluded_mask(frame) & frame["label"].notna()]
    classes = list(arrays.info(dataset, key).get("classes") or [])
    _, proba = arrays.load(dataset, key, ids=list(rows["sample_id"]))
    proba = np.asarray(proba, dtype=np.float64)
    has = np.isfinite(proba).all(axis=1)
    if not classes or not has.any():
        return None
    predicted = np.asarray(classes, dtype=object)[proba[has].argmax(axis=1)]
    truth = rows["label"].to_numpy(dtype=object)[has]
    table = per_class_table(truth, predicted, sorted(set(truth)))
    return {str(c): {m: float(table.loc[c, m]) for m in ("recall", "precision", "f1", "support")} for c in table.index}


def release_metrics(dataset_or_name, version: str) -> pd.DataFrame | None:
    """Per-class out-of-fold metrics stored with release ``version`` (None when it was made without predictions)."""
    dataset = store.as_dataset(dataset_or_name)
    metrics = _doc(dataset, version).get("oof_metrics")
    if not metrics:
        return None
    return pd.DataFrame.from_dict(metrics, orient="index").rename_axis("class")


def storage_bytes(dataset_or_name) -> dict:
    """Bytes MongoDB holds for the dataset's releases: rows (data and indexes) and the release documents."""
    dataset = store.as_dataset(dataset_or_name)
    dataset_id = store.dataset_id(dataset)
    db = foo.get_db_conn()
    stats = db.command("collStats", ROWS_PREFIX + dataset_id) if (ROWS_PREFIX + dataset_id) in \
        db.list_collection_names() else {}
    return {"rows_bytes": int(stats.get("size", 0)), "rows_storage_bytes": int(stats.get("storageSize", 0)),
            "index_bytes": int(stats.get("totalIndexSize", 0)),
            "rows": int(stats.get("count", 0))}


# ---------------------------------------------------------------- a FiftyOne dataset of a release

def release_dataset(dataset_or_name, version: str, name: str | None = None) -> fo.Dataset:
    """Release ``version`` as a non-persistent FiftyOne dataset (for the App, a notebook or an exporter).

    Named ``<name>@<version>`` by default (a name sda2 never opens for editing); it holds filepath, the
    label field, split, tags and metadata of each release sample, and ``sda2_sample_id`` (the sample's id in
    the dataset). It is a copy made now: edits to it change neither the release nor the dataset. An existing
    copy of the same release is reused. Built in bulk: the release rows become sample documents written
    with ``insert_many`` (no FiftyOne ``Sample`` object per row).
    """
    dataset = store.as_dataset(dataset_or_name)
    info = release_info(dataset, version)
    frame = release_frame(dataset, version)
    target = name or f"{dataset.name}@{version}"
    if fo.dataset_exists(target):
        old = fo.load_dataset(target)
        if (old.info or {}).get("sda2_release_id") == info.release_id and len(old) == len(frame) \
                and name is None:
            return old
        old.delete()
    kind, field = info.label_kind, info.label_field
    out = fo.Dataset(target, persistent=False)
    out.media_type = "image"
    out.add_sample_field(field, fo.EmbeddedDocumentField,
                         embedded_doc_type={"classification": fo.Classification, "multilabel": fo.Classifications,
                                            "detection": fo.Detections}[kind])
    out.add_sample_field("split", fo.StringField)
    out.add_sample_field("sda2_sample_id", fo.StringField)
    # metadata of the samples still in the dataset, read raw (no FiftyOne object per sample)
    metadata = {str(d["_id"]): d.get("metadata") for d in dataset._root_dataset._sample_collection.find(
        {"metadata": {"$ne": None}}, {"metadata": 1})}
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # FiftyOne stores naive UTC
    dataset_oid = ObjectId(out._doc.id)
    rand = np.random.default_rng().random(len(frame)) * 0.001 + 0.999  # FiftyOne's _rand range
    docs = [{"_id": ObjectId(), "filepath": p, "tags": list(t), "metadata": metadata.get(s), "created_at": now,
             "last_modified_at": now, "_media_type": "image", "_rand": float(r), "_dataset_id": dataset_oid,
             "split": sp, "sda2_sample_id": s, field: label_documents.encode(lab, kind)}
            for s, p, lab, sp, t, r in zip(frame["sample_id"], frame["filepath"], frame["label"], frame["split"],
                                           frame["tags"], rand)]
    coll = out._sample_collection
    for start in range(0, len(docs), CHUNK):
        coll.insert_many(docs[start:start + CHUNK], ordered=False)
    out.classes = {field: info.classes}
    out.info = {"sda2_release_id": info.release_id, "sda2_release": f"{dataset.name}@{version}",
                "sda2_label_kind": kind}
    out.save()
    return out


def excluded_mask(frame: pd.DataFrame) -> np.ndarray:
    """Which rows of a release or current frame carry the ``excluded`` mark."""
    return frame["tags"].map(lambda t: "excluded" in t).to_numpy(bool)
