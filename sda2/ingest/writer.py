"""The one writer every importer uses: check the images, then write all samples in bulk, atomically.

A new dataset is built under a temporary name and renamed only when complete, so a failed import never
leaves a half-made dataset and an overwrite never loses the old one before the new one is whole.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from bson import ObjectId
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.ingest.base import Box, IngestError, IngestReport, Mode, Record, Skipped

BATCH = 20_000


def _image_size(path: str) -> tuple[int, int] | str:
    """(width, height) from the image header, or the reason it cannot be read."""
    try:
        with Image.open(path) as im:
            return im.size
    except FileNotFoundError:
        return "file not found; fix the path or add the file"
    except Exception as exc:  # PIL raises many types for unreadable files
        return f"not a readable image ({type(exc).__name__}); replace or remove the file"


def _label_problem(label, kind: str) -> str | None:
    if kind == "classification":
        return None if isinstance(label, str) and label.strip() else "empty label; give the sample a class name"
    if kind == "multilabel":
        if not isinstance(label, list) or not all(isinstance(t, str) and t.strip() for t in label):
            return "tags must be a list of non-empty names"
        return None
    for box in label or []:
        if not (isinstance(box, Box) and box.label and len(box.bounding_box) == 4):
            return "each box needs a class name and [x, y, w, h]"
    return None


def _label_doc(label, kind: str) -> dict:
    if kind == "classification":
        return {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": label}
    if kind == "multilabel":
        return {"_id": ObjectId(), "_cls": "Classifications", "classifications": [
            {"_id": ObjectId(), "_cls": "Classification", "tags": [], "label": t} for t in label]}
    return {"_id": ObjectId(), "_cls": "Detections", "detections": [
        {"_id": ObjectId(), "_cls": "Detection", "tags": [], "label": b.label,
         "bounding_box": [float(v) for v in b.bounding_box]} for b in label]}


def check_records(records: Iterable[Record], kind: str, check_images: bool = True) -> tuple[list, list[Skipped]]:
    """Split records into (good records with image sizes, skipped items with reasons)."""
    records = list(records)
    sizes = (ThreadPoolExecutor(8).map(_image_size, (r.filepath for r in records), chunksize=256)
             if check_images else ((None, None) for _ in records))
    good, skipped = [], []
    for record, size in zip(records, sizes):
        problem = size if isinstance(size, str) else _label_problem(record.label, kind)
        if problem:
            skipped.append(Skipped(record.filepath, problem))
        else:
            good.append((record, size))
    return good, skipped


def _declare_fields(dataset: fo.Dataset, kind: str, extra: dict) -> None:
    label_type = {"classification": fo.Classification, "multilabel": fo.Classifications,
                  "detection": fo.Detections}[kind]
    if "ground_truth" not in dataset.get_field_schema():
        dataset.add_sample_field("ground_truth", fo.EmbeddedDocumentField, embedded_doc_type=label_type)
    if "split" not in dataset.get_field_schema():
        dataset.add_sample_field("split", fo.StringField)
    for name, value in extra.items():
        if name in dataset.get_field_schema():
            continue
        ftype = (fo.BooleanField if isinstance(value, bool) else fo.IntField if isinstance(value, int)
                 else fo.FloatField if isinstance(value, float) else fo.StringField)
        dataset.add_sample_field(name, ftype)


def _sample_doc(dataset_id: ObjectId, record: Record, size, kind: str, now: datetime) -> dict:
    width, height = size if size else (None, None)
    metadata = None if width is None else {"_cls": "ImageMetadata", "width": width, "height": height,
                                           "num_channels": None, "size_bytes": None, "mime_type": None}
    doc = {"_id": ObjectId(), "filepath": record.filepath, "tags": [], "metadata": metadata,
           "created_at": now, "last_modified_at": now, "_media_type": "image", "_rand": random.random(),
           "_dataset_id": dataset_id, "ground_truth": _label_doc(record.label, kind), "split": record.split}
    doc.update(record.fields)
    return doc


def write_dataset(name: str, records: Iterable[Record], kind: str, mode: Mode = "error",
                  classes: list[str] | None = None, skipped: list[Skipped] | None = None,
                  check_images: bool = True) -> IngestReport:
    """Check and write ``records`` as dataset ``name``; ``mode`` says what to do when it exists."""
    exists = fo.dataset_exists(name)
    if exists and mode == "error":
        raise IngestError(f"A dataset named {name!r} exists already. Fix: choose another name, or pass "
                          "mode='overwrite' (replace it) or mode='append' (add to it); CLI: --overwrite / --append.")
    good, bad = check_records(records, kind, check_images)
    bad = list(skipped or []) + bad
    if not good:
        reasons = "; ".join(f"{s.item}: {s.reason}" for s in bad[:3]) or "the input holds no samples"
        raise IngestError(f"Nothing to import into {name!r}: {reasons}. Nothing was written.")
    if exists and mode == "append":
        dataset = store.open_dataset(name)
        existing_kind = store.label_kind(dataset, "ground_truth")
        if existing_kind != kind:
            raise IngestError(f"Cannot append {kind} labels to {name!r}, which holds {existing_kind} labels. "
                              "Fix: import into a new dataset name.")
    else:
        temp = f"{name}.__incoming_{ObjectId()}"
        dataset = fo.Dataset(temp, persistent=True)
    try:
        extra = {}
        for record, _ in good:
            for key, value in record.fields.items():
                extra.setdefault(key, value)
        if dataset.media_type is None:
            dataset.media_type = "image"
        _declare_fields(dataset, kind, extra)
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        dataset_id = dataset._doc.id
        collection = dataset._sample_collection
        for start in range(0, len(good), BATCH):
            collection.insert_many([_sample_doc(dataset_id, r, size, kind, now)
                                    for r, size in good[start:start + BATCH]], ordered=False)
        if classes:
            dataset.classes = {**dataset.classes, "ground_truth": list(classes)}
        dataset.info = {**dataset.info, "sda2_label_kind": kind}
        dataset.save()
    except Exception:
        if dataset.name != name:
            dataset.delete()
        raise
    if dataset.name != name:
        if exists:
            store.delete_dataset(name)
        dataset.name = name
    dataset.reload()
    return IngestReport(name, kind, len(good), bad, mode if exists else "new")
