"""COCO detection importer: relative boxes, empty images, skipped annotations with reasons, bad files."""

from __future__ import annotations

import json

import pytest
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.cli import main
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
    assert "3 boxes on 2 images, 1 image without boxes" in report.notes  # gone.png is skipped, not counted


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


def _coco_file(path, images: list[tuple[str, int, int] | str], annotations=()) -> None:
    """A COCO file of ``images`` ((file_name, width, height), or a bare file name: size not given) at ``path``."""
    entries = [{"id": i, "file_name": im} if isinstance(im, str) else
               {"id": i, "file_name": im[0], "width": im[1], "height": im[2]} for i, im in enumerate(images, 1)]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": entries, "categories": [{"id": 1, "name": "thing"}],
                                "annotations": [{"id": i, "image_id": im, "category_id": 1, "bbox": box}
                                                for i, (im, box) in enumerate(annotations, 100)]}))


@pytest.mark.parametrize("image_folder", ["val2017", "data", "images/val2017", "annotations/images"],
                         ids=["split", "data", "images_split", "images_beside_json"])
def test_images_in_a_common_sub_folder_are_found(tmp_path, dataset_name, image_folder):
    folder = tmp_path / image_folder
    folder.mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.new("RGB", (20, 10)).save(folder / name)
    json_path = tmp_path / "annotations" / "instances_val2017.json"  # COCO's own layout: no sizes in the JSON
    _coco_file(json_path, ["a.png", "b.png"], [(1, [2, 1, 4, 3]), (2, [0, 0, 10, 5]), (2, [10, 5, 10, 5])])
    report = import_coco(json_path, dataset_name)
    assert report.loaded == 2 and report.skipped == []
    assert report.notes[:2] == [f"images looked up in {folder}: 2 of 2 found and readable",
                                "3 boxes on 2 images, 0 images without boxes"]
    ds = store.open_dataset(dataset_name)
    assert ds.count("ground_truth.detections") == 3


def test_no_image_found_is_reported_first_with_the_folders_looked_in(tmp_path, dataset_name, capsys):
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")  # not where the JSON expects it: in photos/
    json_path = tmp_path / "annotations" / "instances_train.json"
    _coco_file(json_path, ["photos/a.png", "photos/b.png", "photos/c.png"],
               [(1, [2, 1, 4, 3]), (2, [0, 0, 10, 5]), (3, [10, 5, 10, 5])])
    with pytest.raises(IngestError) as error:
        import_coco(json_path, dataset_name)
    folder = tmp_path / "annotations"
    assert str(error.value) == (
        f"No image of instances_train.json was found: looked for 'photos/a.png' nor any other of its 3 images in "
        f"{folder} and {tmp_path}, and in their sub-folders images/, instances_train/, train/, "
        "images/instances_train/, images/train/ and data/. Nothing was written. "
        "Fix: pass the folder that holds the images as images_dir=FOLDER.")
    with pytest.raises(IngestError, match=rf"looked for 'photos/a.png' nor any other of its 3 images in "
                                          rf"{tmp_path / 'elsewhere'}\. Nothing was written"):
        import_coco(json_path, dataset_name, images_dir=tmp_path / "elsewhere")
    assert main(["ingest", "coco", str(json_path), "--name", dataset_name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sda2: No image of instances_train.json was found") and "box" not in err
    assert err.rstrip().endswith("Fix: pass the folder that holds the images as --images-dir FOLDER.")
    assert dataset_name not in store.list_datasets()


def test_boxes_outside_the_image_are_clipped_and_counted(tmp_path, dataset_name):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.new("RGB", (100, 50)).save(folder / name)
    json_path = tmp_path / "boxes.json"
    _coco_file(json_path, [("a.png", 100, 50), "b.png", ("gone.png", 100, 50)], [
        (1, [10, 10, 20, 20]),      # 100: inside
        (1, [-10, 40, 30, 20]),     # 101: reaches past the left and bottom edges: clipped to [0, 40, 20, 10]
        (2, [90, -5, 20, 10]),      # 102: past the right and top edges (size from the file): [90, 0, 10, 5]
        (2, [150, 10, 10, 10]),     # 103: wholly outside: skipped
        (3, [1, 1, 5, 5]),          # 104: its image is missing: not imported, counted
    ])
    report = import_coco(json_path, dataset_name)
    assert report.loaded == 2
    boxes = {s.coco_id: [[round(v, 6) for v in d.bounding_box] for d in s.ground_truth.detections]
             for s in store.open_dataset(dataset_name)}
    assert boxes == {1: [[0.1, 0.2, 0.2, 0.4], [0.0, 0.8, 0.2, 0.2]], 2: [[0.9, 0.0, 0.1, 0.1]]}
    assert report.notes[1:4] == ["3 boxes on 2 images, 0 images without boxes",
                                 "2 boxes reached outside the image: clipped to its edges (annotation 101, 102)",
                                 "1 annotation of skipped images not imported"]
    reasons = {s.item: s.reason for s in report.skipped}
    assert reasons == {
        "image id 3 (gone.png)": f"file not found in {folder}; fix the file name or add the file",
        "annotation 103 (image b.png)": "bbox [150, 10, 10, 10] lies wholly outside the 100x50 image; fix the box "
                                        "(or the image's width and height) or remove it"}
    assert store.open_dataset(dataset_name).count("ground_truth.detections") == 3  # the note's count


def test_an_annotation_that_is_not_an_object_is_skipped_with_the_reason(tmp_path, dataset_name):
    Image.new("RGB", (20, 10)).save(tmp_path / "a.png")
    json_path = tmp_path / "c.json"
    _coco_file(json_path, [("a.png", 20, 10)], [(1, [1, 1, 5, 5])])
    data = json.loads(json_path.read_text())
    data["annotations"].append("oops")
    json_path.write_text(json.dumps(data))
    report = import_coco(json_path, dataset_name)
    assert report.loaded == 1 and [(s.item, s.reason) for s in report.skipped] == [
        ("annotation 'oops'", "is not an object with 'image_id', 'category_id' and 'bbox'; fix or remove it")]
