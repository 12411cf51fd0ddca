"""The shared writer: image header checks (against FiftyOne's own metadata), modes, atomicity, validity."""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.ingest import IngestError, Record, writer
from sda2.ingest.base import Box


def _leftovers() -> list[str]:
    """Temporary datasets an import should never leave behind."""
    return [n for n in fo.list_datasets() if writer.TEMP_MARKER in n or ".__replaced_" in n]


def _images(folder, n: int, size=(12, 9)) -> list[str]:
    paths = []
    for i in range(n):
        path = folder / f"im{i}.png"
        Image.new("RGB", size, (i * 20 % 255, 0, 0)).save(path)
        paths.append(str(path))
    return paths


@pytest.mark.parametrize("mode,suffix,size,options", [
    ("L", "png", (31, 17), {}), ("RGB", "png", (5, 40), {}), ("RGBA", "png", (3, 3), {}),
    ("P", "png", (9, 4), {}), ("LA", "png", (6, 6), {}), ("I;16", "png", (7, 2), {}),
    ("RGB", "jpg", (33, 21), {}), ("L", "jpeg", (16, 8), {}), ("CMYK", "jpg", (10, 12), {}),
    ("RGB", "jpg", (40, 10), {"progressive": True}), ("RGB", "bmp", (13, 11), {}), ("P", "gif", (8, 3), {}),
    ("RGB", "webp", (20, 10), {}), ("RGB", "tiff", (4, 9), {}),
])
def test_image_info_matches_fiftyone_metadata(tmp_path, mode, suffix, size, options):
    path = tmp_path / f"x.{suffix}"
    Image.new(mode, size).save(path, **options)
    info = writer.image_info(str(path))
    expected = fo.ImageMetadata.build_for(str(path))
    assert asdict(info) == {k: expected[k] for k in ("width", "height", "num_channels", "size_bytes", "mime_type")}


def test_image_info_of_a_rotated_jpeg_swaps_width_and_height_like_fiftyone(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees
    Image.new("RGB", (30, 10)).save(path, exif=exif.tobytes())
    info = writer.image_info(str(path))
    assert (info.width, info.height) == (10, 30)
    assert (info.width, info.height) == (fo.ImageMetadata.build_for(str(path)).width,
                                         fo.ImageMetadata.build_for(str(path)).height)


def test_unreadable_images_get_a_reason_naming_the_fix(tmp_path):
    Image.new("L", (4, 4)).save(tmp_path / "good.png")
    good = (tmp_path / "good.png").read_bytes()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image at all")
    (tmp_path / "cut.png").write_bytes(good[:12])
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    (tmp_path / "folder.png").mkdir()
    reasons = {name: writer.image_info(str(tmp_path / name))
               for name in ("missing.png", "empty.png", "text.png", "cut.png", "cut.jpg", "folder.png")}
    assert reasons["missing.png"].startswith("file not found; fix the path")
    assert reasons["empty.png"].startswith("empty file (0 bytes)")
    assert reasons["text.png"].startswith("not a readable image")
    assert reasons["cut.png"] == "not a readable image (PNG header is damaged); replace or remove the file"
    assert reasons["cut.jpg"].startswith("not a readable image")
    assert reasons["folder.png"].startswith("is a folder")
    assert isinstance(writer.image_info(str(tmp_path / "good.png")), writer.ImageInfo)


def test_written_dataset_is_a_valid_fiftyone_dataset(tmp_path, dataset_name):
    paths = _images(tmp_path, 4)
    records = [Record(p, "cat" if i % 2 else "dog", "train", {"score": i / 10, "n": i, "ok": i > 1, "note": None})
               for i, p in enumerate(paths)]
    report = writer.write_dataset(dataset_name, records, "classification", classes=["cat", "dog"])
    assert (report.loaded, report.skipped, report.mode) == (4, [], "new")
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("ground_truth.label") == {"cat": 2, "dog": 2}
    assert ds.classes["ground_truth"] == ["cat", "dog"] and ds.info["sda2_label_kind"] == "classification"
    schema = ds.get_field_schema()
    assert [type(schema[f]) for f in ("score", "n", "ok", "note", "split")] == [
        fo.FloatField, fo.IntField, fo.BooleanField, fo.StringField, fo.StringField]
    sample = ds.first()
    assert isinstance(sample.ground_truth, fo.Classification) and sample.n == 0 and sample.ok is False
    assert sample.metadata == fo.ImageMetadata.build_for(sample.filepath)
    assert ds.stats(include_media=True)["media_bytes"] == sum(ds.values("metadata.size_bytes"))
    assert ds.match(fo.ViewField("n") >= 2).count() == 2
    view = ds.take(2, seed=1)  # uses FiftyOne's _rand field
    assert len(view) == 2
    assert {"ground_truth.label", "tags", "split"} <= set(ds.list_indexes())  # filters never wait for an index
    assert _leftovers() == []


def test_labels_empty_or_outside_the_classes_are_skipped(tmp_path, dataset_name):
    paths = _images(tmp_path, 4)
    records = [Record(paths[0], "cat"), Record(paths[1], " "), Record(paths[2], None, source="row 3"),
               Record(paths[3], "cow")]
    report = writer.write_dataset(dataset_name, records, "classification", classes=["cat", "dog"])
    assert report.loaded == 1
    reasons = {s.item: s.reason for s in report.skipped}
    assert reasons[paths[1]].startswith("empty label") and reasons["row 3"].startswith("empty label")
    assert reasons[paths[3]] == "unknown class 'cow' (classes: cat, dog); fix the label or add the class"


def test_existing_name_is_refused_unless_overwrite_or_append(tmp_path, dataset_name):
    paths = _images(tmp_path, 3)
    writer.write_dataset(dataset_name, [Record(p, "a") for p in paths[:2]], "classification")
    with pytest.raises(IngestError, match="exists already.*overwrite.*append"):
        writer.write_dataset(dataset_name, [Record(paths[2], "b")], "classification")
    assert len(store.open_dataset(dataset_name)) == 2


def test_failed_overwrite_leaves_the_old_dataset_intact(tmp_path, dataset_name):
    paths = _images(tmp_path, 2)
    writer.write_dataset(dataset_name, [Record(p, "a") for p in paths], "classification")
    before = store.open_dataset(dataset_name).values("id")
    with pytest.raises(IngestError, match="Nothing to import.*file not found.*Nothing was written"):
        writer.write_dataset(dataset_name, [Record(str(tmp_path / "gone.png"), "b")], "classification",
                             mode="overwrite")
    bad = [Record(paths[0], "b", fields={"weird": object()})]  # cannot be stored: fails while inserting
    with pytest.raises(Exception, match="cannot encode object"):
        writer.write_dataset(dataset_name, bad, "classification", mode="overwrite")
    after = store.open_dataset(dataset_name)
    assert after.values("id") == before and after.count_values("ground_truth.label") == {"a": 2}
    assert _leftovers() == []


def test_overwrite_replaces_and_append_adds(tmp_path, dataset_name):
    paths = _images(tmp_path, 5)
    writer.write_dataset(dataset_name, [Record(p, "a", "train") for p in paths[:2]], "classification",
                         classes=["a"])
    report = writer.write_dataset(dataset_name, [Record(p, "b", "test") for p in paths[2:4]], "classification",
                                  mode="append", classes=["b"])
    assert report.mode == "append"
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("split") == {"train": 2, "test": 2} and ds.classes["ground_truth"] == ["a", "b"]
    with pytest.raises(IngestError, match="Cannot append multilabel labels"):
        writer.write_dataset(dataset_name, [Record(paths[4], ["x"])], "multilabel", mode="append")
    report = writer.write_dataset(dataset_name, [Record(paths[4], "c")], "classification", mode="overwrite")
    assert report.mode == "overwrite"
    assert store.open_dataset(dataset_name).count_values("ground_truth.label") == {"c": 1}
    assert _leftovers() == []


def test_failed_append_removes_what_it_added(tmp_path, dataset_name, monkeypatch):
    paths = _images(tmp_path, 5)
    writer.write_dataset(dataset_name, [Record(paths[0], "a")], "classification")
    monkeypatch.setattr(writer, "BATCH", 2)  # several batches: the third one fails
    records = [Record(p, "b", fields={"x": "fine"}) for p in paths[1:]]
    records.append(Record(paths[1], "b", fields={"x": object()}))
    with pytest.raises(Exception, match="cannot encode object"):
        writer.write_dataset(dataset_name, records, "classification", mode="append")
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("ground_truth.label") == {"a": 1}


def test_reserved_field_names_and_bad_modes_or_names_are_refused(tmp_path, dataset_name):
    paths = _images(tmp_path, 1)
    with pytest.raises(IngestError, match=r"\['filepath'\] are reserved"):
        writer.write_dataset(dataset_name, [Record(paths[0], "a", fields={"filepath": "x"})], "classification")
    with pytest.raises(IngestError, match="Unknown mode 'replace'"):
        writer.write_dataset(dataset_name, [Record(paths[0], "a")], "classification", mode="replace")
    with pytest.raises(IngestError, match="Invalid dataset name"):
        writer.write_dataset(" ", [Record(paths[0], "a")], "classification")
    assert dataset_name not in store.list_datasets() and _leftovers() == []


def test_multilabel_and_detection_documents(tmp_path, dataset_name):
    paths = _images(tmp_path, 3)
    box = Box("car", [0.1, 0.2, 0.3, 0.4], {"iscrowd": 1})
    writer.write_dataset(dataset_name, [Record(paths[0], [box]), Record(paths[1], []),
                                        Record(paths[2], [Box("car", [0.1, float("nan"), 0.1, 0.1])])],
                         "detection")
    ds = store.open_dataset(dataset_name)
    assert len(ds) == 2 and ds.count("ground_truth.detections") == 1
    det = ds.first().ground_truth.detections[0]
    assert det.bounding_box == [0.1, 0.2, 0.3, 0.4] and det.iscrowd == 1
    assert "ground_truth.detections.iscrowd" in ds.get_field_schema(flat=True)
    assert "ground_truth.detections.label" in ds.list_indexes()


def _noise_png(path, size=(48, 40)) -> bytes:
    """A real PNG of random pixels (it does not compress away) at ``path``; returns its bytes."""
    rng = np.random.default_rng(7)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path.read_bytes()


def test_truncated_or_damaged_images_are_decoded_and_reported_with_the_fix(tmp_path):
    data = _noise_png(tmp_path / "good.png")
    (tmp_path / "half.png").write_bytes(data[:len(data) // 2])  # valid header, pixel data cut short
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF  # one damaged byte inside the compressed pixel data
    (tmp_path / "flipped.png").write_bytes(bytes(flipped))
    rng = np.random.default_rng(3)
    Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(tmp_path / "good.jpg", quality=90)
    jpeg = (tmp_path / "good.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(jpeg[:len(jpeg) // 2])
    for name in ("half.png", "flipped.png", "half.jpg"):
        assert isinstance(writer.image_info(str(tmp_path / name), decode=False), writer.ImageInfo)  # header fine
        reason = writer.image_info(str(tmp_path / name))
        assert reason.startswith("image data is truncated or damaged (") and reason.endswith(
            "); replace the file with a complete copy or remove it"), (name, reason)
    assert "truncated" in writer.image_info(str(tmp_path / "half.png"))
    for name in ("good.png", "good.jpg"):
        assert isinstance(writer.image_info(str(tmp_path / name)), writer.ImageInfo)


def test_every_image_of_a_large_import_is_decoded_in_threads(tmp_path, dataset_name):
    n = 3 * writer.DECODE_CHUNK + 7  # several chunks: the threaded path
    data = _noise_png(tmp_path / "0.png", size=(16, 12))
    for i in range(1, n):
        (tmp_path / f"{i}.png").write_bytes(data)
    cut = {5, writer.DECODE_CHUNK + 1, n - 1}
    for i in cut:
        (tmp_path / f"{i}.png").write_bytes(data[:-40])  # the end of the pixel data is missing
    records = [Record(str(tmp_path / f"{i}.png"), "a", source=f"row {i}") for i in range(n)]
    report = writer.write_dataset(dataset_name, records, "classification")
    assert report.loaded == n - len(cut) and len(store.open_dataset(dataset_name)) == n - len(cut)
    assert {s.item for s in report.skipped} == {f"row {i}" for i in cut}
    assert all(s.reason.startswith("image data is truncated or damaged") for s in report.skipped)
    assert "skipped row 5: image data is truncated or damaged" in report.summary()
