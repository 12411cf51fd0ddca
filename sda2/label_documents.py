"""FiftyOne label documents as the database stores them, from plain values: one encoder for every writer.

The importers (:mod:`sda2.ingest.writer`) and the edit path (:mod:`sda2.curation.edits`) write label documents
straight to MongoDB in bulk, so both build them here, in the layout FiftyOne's public ``Label.to_dict()`` gives
(``tests/store/test_label_documents.py`` checks it against FiftyOne itself):

    encode("cat", "classification")                        # {"_id": …, "_cls": "Classification", "tags": [], …}
    encode(["cat", "dog"], "multilabel")                   # a Classifications document
    encode([{"label": "cat", "bounding_box": [0.1, 0.1, 0.5, 0.5]}], "detection")   # a Detections document
    decode(document, "classification")                     # "cat"

Plain values: a class name (classification), a list of tag names (multilabel), a list of boxes (detection), each
box a dict or an object with ``label``, ``bounding_box`` [x, y, w, h] (relative) and optional ``attributes`` (stored
beside the label, as FiftyOne stores dynamic attributes such as COCO's ``iscrowd``).
"""

from __future__ import annotations

from collections.abc import Callable

from bson import ObjectId

KINDS = ("classification", "multilabel", "detection")
DOCUMENT_CLASS = {"classification": "Classification", "multilabel": "Classifications", "detection": "Detections"}


def _box_parts(box) -> tuple[str, list, dict]:
    if isinstance(box, dict):
        return box["label"], box["bounding_box"], dict(box.get("attributes") or {})
    return box.label, box.bounding_box, dict(getattr(box, "attributes", None) or {})


def classification(label: str, new_id: Callable[[], ObjectId] = ObjectId) -> dict:
    """The stored document of one ``Classification`` of class ``label`` (a fresh id)."""
    return {"_id": new_id(), "_cls": "Classification", "tags": [], "label": label}


def detection(box, new_id: Callable[[], ObjectId] = ObjectId) -> dict:
    """The stored document of one ``Detection``: a box (dict or object with label, bounding_box, attributes)."""
    label, bounding_box, attributes = _box_parts(box)
    return {**attributes, "_id": new_id(), "_cls": "Detection", "attributes": {}, "tags": [], "label": label,
            "bounding_box": [float(v) for v in bounding_box]}


def encode(value, kind: str, base: dict | None = None, new_id: Callable[[], ObjectId] = ObjectId) -> dict | None:
    """The stored label document of plain ``value`` of ``kind`` (None for None), with fresh label ids.

    ``base``: the document stored now; what it holds beside the labels (e.g. a confidence, a container's
    attributes) is kept, so an edit changes the label and nothing else. ``new_id``: where the ids come from
    (an importer passes a faster generator for millions of labels).
    """
    if value is None:
        return None
    if kind == "classification":
        return {**base, "_id": new_id(), "label": value} if base else classification(value, new_id)
    if kind == "multilabel":
        return {**(base or {"_cls": "Classifications"}),
                "classifications": [classification(tag, new_id) for tag in value]}
    if kind == "detection":
        return {**(base or {"_cls": "Detections"}), "detections": [detection(box, new_id) for box in value]}
    raise ValueError(f"Unknown label kind {kind!r}. Fix: use one of {', '.join(KINDS)}.")


def decode(document: dict | None, kind: str):
    """The plain value of a stored label document: a class name, sorted tag names, or boxes (label, bounding_box)."""
    if kind == "classification":
        return None if document is None else document.get("label")
    if kind == "multilabel":
        return sorted({c["label"] for c in (document or {}).get("classifications") or []})
    return [{"label": d["label"], "bounding_box": [float(v) for v in d["bounding_box"]]}
            for d in (document or {}).get("detections") or []]


def label_count(value, kind: str) -> int:
    """How many ids :func:`encode` takes for ``value`` (an importer draws them in advance)."""
    if value is None:
        return 0
    return 1 if kind == "classification" else len(value)
