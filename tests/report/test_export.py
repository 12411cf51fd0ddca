"""Exports round-trip through our own importers to the same samples and labels, for every format.

A sample is known by its image bytes (exporters rename files), so each side is a multiset of
(image hash, label, split): the default digits dataset (classification) and a small detection dataset.
"""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections import Counter

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from sda2 import cli, store
from sda2.report import export
from sda2.curation import edits, releases
from sda2.ingest import import_coco, import_fiftyone, import_folder, import_table


def _hash(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def _label(value):
    if value is None or isinstance(value, str):
        return value
    if value and isinstance(value[0], dict):
        return tuple(sorted((b["label"], *(round(v, 4) for v in b["bounding_box"])) for b in value))
    return tuple(sorted(value))


def _items(collection, split=None, field="ground_truth") -> Counter:
    """(image hash, label, split) of every sample not marked excluded."""
    view = collection.match_tags("excluded", bool=False)
    kind = store.label_kind(view._dataset, field)
    labels = releases.label_values(view, field, kind)
    splits = view.values("split") if split is None else [split] * len(view)
    return Counter((_hash(p), _label(lab), s) for p, lab, s in zip(view.values("filepath"), labels, splits))


def _from_fiftyone_dir(parts, name):
    """Load FiftyOne-readable folders (dir, type, kwargs) into one temp dataset; import it with our importer."""
    temp = fo.Dataset(f"rt_src_{uuid.uuid4().hex[:8]}")
    for folder, dataset_type, kwargs in parts:
        temp.add_dir(dataset_dir=str(folder), dataset_type=dataset_type, **kwargs)
    try:
        import_fiftyone(temp.name, name)
    finally:
        temp.delete()
    return store.open_dataset(name)


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of digits with three samples marked excluded."""
    copy = digits.clone(dataset_name, persistent=True)
    edits.mark(copy, copy.take(3, seed=2).values("id"), "excluded", "alice", "unreadable")
    return copy


@pytest.fixture
def boxes(tmp_path, request):
    """A detection dataset of 12 distinct images with pixel-aligned boxes, split train / val."""
    rng = np.random.default_rng(0)
    src = fo.Dataset(f"det_src_{uuid.uuid4().hex[:8]}")
    samples = []
    for i in range(12):
        path = tmp_path / "det" / f"img_{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(path)
        dets = [fo.Detection(label=["car", "고양이 cat"][j % 2], bounding_box=[8 * (j + 1) / 64, 6 * j / 48, 16 / 64,
                                                                            12 / 48]) for j in range(i % 3 + 1)]
        samples.append(fo.Sample(filepath=str(path), ground_truth=fo.Detections(detections=dets),
                                 split="train" if i < 8 else "val"))
    src.add_samples(samples)
    name = "t_det_" + request.node.name[:40]
    if name in store.list_datasets():
        store.delete_dataset(name)
    import_fiftyone(src.name, name)
    src.delete()
    dataset = store.open_dataset(name)
    yield dataset
    for n in store.list_datasets():
        if n.startswith(name):
            store.delete_dataset(n)


def test_imagefolder_round_trip(ds, tmp_path):
    report = export.export_dataset(ds, "imagefolder", tmp_path / "out")
    assert report.samples == len(ds) - 3 and report.excluded_left_out == 3
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted([*store.splits(ds), export.MANIFEST])
    _same_after_reimport(ds, lambda name: import_folder(tmp_path / "out", name, layout="split"))


def _same_after_reimport(ds, reimport) -> None:
    """Re-import an export with ``reimport(name)`` as a new dataset: the same items as ``ds``; then delete it."""
    name = ds.name + "_rt"
    reimport(name)
    try:
        assert _items(store.open_dataset(name)) == _items(ds)
    finally:
        store.delete_dataset(name)


def test_csv_round_trip(ds, tmp_path):
    export.export_dataset(ds, "csv", tmp_path / "out")
    with open(tmp_path / "out" / "labels.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(ds) - 3 and set(rows[0]) == {"filepath", "label", "split", "sample_id", "sample_tags"}
    _same_after_reimport(ds, lambda name: import_table(tmp_path / "out" / "labels.csv", name))


def test_fiftyone_round_trip_classification(ds, tmp_path):
    export.export_dataset(ds, "fiftyone", tmp_path / "out")
    back = _from_fiftyone_dir([(tmp_path / "out", fo.types.FiftyOneDataset, {})], ds.name + "_rt")
    try:
        assert _items(back) == _items(ds)
    finally:
        store.delete_dataset(ds.name + "_rt")


def test_coco_round_trip(boxes, tmp_path):
    report = export.export_dataset(boxes, "coco", tmp_path / "out")
    assert report.by_split == {"train": 8, "val": 4}
    back = Counter()
    for split in ("train", "val"):
        import_coco(tmp_path / "out" / split / "labels.json", f"{boxes.name}_rt_{split}")
        back += _items(store.open_dataset(f"{boxes.name}_rt_{split}"), split)
    assert back == _items(boxes) and len(back) == 12


def test_yolo_round_trip(boxes, tmp_path):
    export.export_dataset(boxes, "yolo", tmp_path / "out")
    parts = [(tmp_path / "out", fo.types.YOLOv5Dataset, {"split": s, "tags": s}) for s in ("train", "val")]
    back = _from_fiftyone_dir(parts, boxes.name + "_rt")
    assert _items(back) == _items(boxes)


def test_fiftyone_round_trip_detection(boxes, tmp_path):
    export.export_dataset(boxes, "fiftyone", tmp_path / "out")
    back = _from_fiftyone_dir([(tmp_path / "out", fo.types.FiftyOneDataset, {})], boxes.name + "_rt")
    assert _items(back) == _items(boxes)


def test_release_export_holds_the_release_not_the_edits(ds, tmp_path):
    releases.create_release(ds, "v1", "alice")
    before = _items(ds)
    sid = ds.match_tags("excluded", bool=False).first().id
    old = ds[sid].ground_truth.label
    edits.set_label(ds, sid, str((int(old) + 1) % 10), "bob", "after the release")
    assert _items(ds) != before
    report = export.export_dataset(f"{ds.name}@v1", "csv", tmp_path / "out")
    assert report.version == "v1"
    manifest = json.loads((tmp_path / "out" / export.MANIFEST).read_text())
    assert (manifest["source"], manifest["version"], manifest["samples"]) == (ds.name, "v1", len(ds) - 3)
    import_table(tmp_path / "out" / "labels.csv", ds.name + "_rt")
    try:
        assert _items(store.open_dataset(ds.name + "_rt")) == before
    finally:
        store.delete_dataset(ds.name + "_rt")
    assert not [n for n in fo.list_datasets() if n.startswith(ds.name + "@")]  # the temporary copy is gone


def test_cross_split_duplicates_refused_unless_allowed(ds, tmp_path):
    ids = ds.match_tags("excluded", bool=False).take(2, seed=1).values("id")
    ds.add_sample_field("crosses_split", fo.BooleanField)
    ds.set_values("crosses_split", {s: True for s in ids}, key_field="id")
    with pytest.raises(ValueError, match="Refusing to export: 2 exported samples are near-duplicates"):
        export.export_dataset(ds, "csv", tmp_path / "refused")
    assert not any((tmp_path / "refused").iterdir())
    report = export.export_dataset(ds, "csv", tmp_path / "out", allow_cross_split=True)
    assert len(report.warnings) == 1 and "2 exported samples" in report.warnings[0]


def test_bad_exports_get_clear_errors(ds, boxes, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="is not empty"):
        export.export_dataset(ds, "csv", tmp_path / "full")
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="Format 'coco' holds detection labels.*Fix: use one of imagefolder, csv"):
        export.export_dataset(ds, "coco", tmp_path / "a")
    with pytest.raises(ValueError, match="Format 'imagefolder'.*Fix: use one of coco, yolo, fiftyone"):
        export.export_dataset(boxes, "imagefolder", tmp_path / "b")
    with pytest.raises(ValueError, match="Unknown export format 'tfrecord'"):
        export.export_dataset(ds, "tfrecord", tmp_path / "c")
    with pytest.raises(releases.ReleaseNotFound, match="no release 'v7'"):
        export.export_dataset(f"{ds.name}@v7", "csv", tmp_path / "d")
    assert not (tmp_path / "d").exists()
    assert export.export_dataset(ds, "csv", tmp_path / "e", include_excluded=True).samples == len(ds)


def test_cli_export(ds, tmp_path, capsys):
    releases.create_release(ds, "v1", "alice")
    assert cli.main(["export", f"{ds.name}@v1", "--format", "imagefolder", "--out", str(tmp_path / "o")]) == 0
    assert f"Exported {len(ds) - 3:,} samples of {ds.name}@v1 as imagefolder" in capsys.readouterr().out
    assert cli.main(["export", f"{ds.name}@nope", "--format", "csv", "--out", str(tmp_path / "p")]) == 2
    assert "no release 'nope'" in capsys.readouterr().err
