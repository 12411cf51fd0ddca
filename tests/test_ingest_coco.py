"""COCO detection importer: relative boxes, empty images, skipped annotations with reasons, bad files."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.ingest import IngestError, import_coco


@pytest.fixture
def coco(tmp_path):
    """annotations/instances.json with images in annotations/images/ (found without images_dir)."""
    folder = tmp_path / "annotations"
    (folder / "images").mkdir(parents=True)
    Image.new("RGB", (200, 100)).save(folder / "images" / "a.jpg")
    Image.new("RGB", (50, 40)).save(folder / "images" / "b.png")
    Image.new("RGB", (10, 10)).save(folder / "images" / "c.png")
    data = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 200, "height": 100},
                   {"id": 2, "file_name": "b.png"},  # no size in the JSON: read from the header
                   {"id": 3, "file_name": "c.png", "width": 10, "height": 10},
                   {"id": 4, "file_name": "gone.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "person"}, {"id": 3, "name": "car"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 1, "bbox": [20, 10, 100, 50], "iscrowd": 0},
            {"id": 11, "image_id": 1, "category_id": 3, "bbox": [0, 0, 200, 100], "iscrowd": 1},
            {"id": 12, "image_id": 2, "category_id": 3, "bbox": [5, 4, 25, 20]},
            {"id": 13, "image_id": 2, "category_id": 99, "bbox": [1, 1, 2, 2]},
            {"id": 14, "image_id": 77, "category_id": 1, "bbox": [1, 1, 2, 2]},
            {"id": 15, "image_id": 1, "category_id": 1, "bbox": [1, 1, 0, 2]},
        ],
    }
    path = folder / "instances.json"
    path.write_text(json.dumps(data))
    return path


def test_coco_boxes_become_relative_detections(coco, dataset_name):
    report = import_coco(coco, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert store.label_kind(ds, "ground_truth") == "detection" and report.loaded == 3
    assert store.classes(ds) == ["person", "car"]
    by_id = {s.coco_id: s for s in ds}
    a = by_id[1].ground_truth.detections
    assert [(d.label, d.bounding_box, d.iscrowd) for d in a] == [
        ("person", [0.1, 0.1, 0.5, 0.5], 0), ("car", [0.0, 0.0, 1.0, 1.0], 1)]
    assert by_id[2].ground_truth.detections[0].bounding_box == [0.1, 0.1, 0.5, 0.5]
    assert isinstance(by_id[3].ground_truth, fo.Detections) and by_id[3].ground_truth.detections == []
    assert ds.count_values("ground_truth.detections.label") == {"person": 1, "car": 2}
    reasons = {s.item: s.reason for s in report.skipped}
    assert reasons["annotation 13 (image b.png)"].startswith("category_id 99 is not in categories (ids: 1, 3)")
    assert reasons["annotation 14"].startswith("image_id 77 is not in images")
    assert reasons["annotation 15 (image a.jpg)"].startswith("bbox [1, 1, 0, 2] is not [x, y, width, height]")
    assert reasons["image id 4 (gone.png)"].startswith("file not found")
    assert "3 boxes on 2 images, 2 images without boxes" in report.notes


def test_images_dir_and_bad_files(coco, tmp_path, dataset_name):
    moved = tmp_path / "elsewhere"
    (coco.parent / "images").rename(moved)
    report = import_coco(coco, dataset_name, images_dir=moved)
    assert report.loaded == 3
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(IngestError, match="is not valid JSON"):
        import_coco(bad, dataset_name + "_x")
    bad.write_text(json.dumps({"annotations": []}))
    with pytest.raises(IngestError, match=r"not COCO detection JSON.*\(it has: annotations\)"):
        import_coco(bad, dataset_name + "_x")
    with pytest.raises(IngestError, match="exists already"):
        import_coco(coco, dataset_name, images_dir=moved)
    assert dataset_name + "_x" not in store.list_datasets()
