"""One label-document encoder for the importers and the edit path, checked against FiftyOne's own serializer."""

from __future__ import annotations

import numpy as np
import pytest
from bson import ObjectId
from PIL import Image

from sda2 import label_documents, store
from sda2.curation import edits
from sda2.ingest import writer
from sda2.ingest.base import Box, Record

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)


def _without_ids(document):
    """The document with every ``_id`` replaced by a placeholder (ids are fresh on each side)."""
    if isinstance(document, dict):
        return {k: ("<id>" if k == "_id" else _without_ids(v)) for k, v in document.items()}
    if isinstance(document, list):
        return [_without_ids(v) for v in document]
    return document


CASES = [
    ("classification", "고양이", fo.Classification(label="고양이")),
    ("multilabel", ["a very long class name with spaces", "dog"],
     fo.Classifications(classifications=[fo.Classification(label="a very long class name with spaces"),
                                         fo.Classification(label="dog")])),
    ("detection", [{"label": "cat", "bounding_box": [0.1, 0.2, 0.3, 0.4]}, Box("dog", [0, 0, 1, 1], {"iscrowd": 1})],
     fo.Detections(detections=[fo.Detection(label="cat", bounding_box=[0.1, 0.2, 0.3, 0.4]),
                               fo.Detection(label="dog", bounding_box=[0.0, 0.0, 1.0, 1.0], iscrowd=1)])),
]


@pytest.mark.parametrize("kind,value,label", CASES, ids=[c[0] for c in CASES])
def test_encode_gives_what_fiftyone_stores(kind, value, label):
    document = label_documents.encode(value, kind)
    assert _without_ids(document) == _without_ids(dict(label.to_dict()))
    decoded = type(label).from_dict(document)  # FiftyOne reads it back
    assert isinstance(decoded, type(label)) and decoded.to_dict()["_cls"] == document["_cls"]
    plain = label_documents.decode(document, kind)
    assert plain == (value if kind == "classification" else sorted(value) if kind == "multilabel" else
                     [{"label": "cat", "bounding_box": [0.1, 0.2, 0.3, 0.4]},
                      {"label": "dog", "bounding_box": [0.0, 0.0, 1.0, 1.0]}])
    assert plain == edits.plain(document, kind)


def test_encode_keeps_what_the_stored_document_had_beside_the_label():
    old = {"_id": ObjectId(), "_cls": "Classification", "tags": ["checked"], "label": "cat", "confidence": 0.9}
    new = label_documents.encode("dog", "classification", base=old)
    assert new["label"] == "dog" and new["confidence"] == 0.9 and new["tags"] == ["checked"]
    assert new["_id"] != old["_id"]
    assert label_documents.encode(None, "classification") is None
    with pytest.raises(ValueError, match="Unknown label kind 'segmentation'.*Fix"):
        label_documents.encode("x", "segmentation")


def test_the_writer_stores_the_encoders_documents(tmp_path, dataset_name):
    paths = []
    for i in range(3):
        path = tmp_path / f"{i}.png"
        Image.fromarray(np.full((8, 8, 3), i * 60, dtype=np.uint8)).save(path)
        paths.append(str(path))
    boxes = [[Box("고양이", [0.1, 0.1, 0.5, 0.5], {"iscrowd": 0})], [], [Box("dog", [0, 0, 1, 1])]]
    writer.write_dataset(dataset_name, [Record(p, b) for p, b in zip(paths, boxes)], "detection")
    ds = store.open_dataset(dataset_name)
    docs = ds._sample_collection.find({}, {"filepath": 1, "ground_truth": 1})
    stored = {d["filepath"]: d["ground_truth"] for d in docs}
    for path, value in zip(paths, boxes):
        assert _without_ids(stored[path]) == _without_ids(label_documents.encode(value, "detection"))
    sample = ds.match({"filepath": paths[0]}).first()
    assert sample.ground_truth.detections[0].label == "고양이" and sample.ground_truth.detections[0]["iscrowd"] == 0
    assert writer.slug_clash(dataset_name) == dataset_name and writer.slug_clash(dataset_name + "-free") is None
