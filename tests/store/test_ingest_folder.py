"""Image-folder importer: both layouts, what it skips and why, and its errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fiftyone import ViewField as F
from sda2 import store
from sda2.cli import main
from sda2.ingest import IngestError, import_folder
from sda2.ingest.folder import detect_layout


def _image(path, size=(10, 8), fmt=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 10, 10)).save(path, format=fmt)


def test_class_layout_with_stray_files_and_broken_images(tmp_path, dataset_name):
    root = tmp_path / "pets"
    _image(root / "cat" / "a.png")
    _image(root / "cat" / "b.jpg", fmt="JPEG")
    _image(root / "cat" / "persian" / "c.png")  # a sub-folder of a class belongs to that class
    _image(root / "dog" / "d.png")
    (root / "dog" / "broken.png").write_text("garbage")
    (root / "dog" / "notes.txt").write_text("not an image")
    (root / "dog" / ".DS_Store").write_text("hidden: ignored")
    _image(root / "stray.png")
    (root / "bird").mkdir()
    report = import_folder(root, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("ground_truth.label") == {"cat": 3, "dog": 1}
    assert store.classes(ds) == ["cat", "dog"]
    assert store.splits(ds) == []
    reasons = {s.item.replace(str(root), "ROOT"): s.reason for s in report.skipped}
    assert set(reasons) == {"ROOT/dog/broken.png", "ROOT/dog/notes.txt", "ROOT/stray.png"}
    assert reasons["ROOT/dog/broken.png"].startswith("not a readable image")
    assert reasons["ROOT/dog/notes.txt"].startswith("not an image file")
    assert reasons["ROOT/stray.png"].startswith("image outside any class folder")
    assert any("bird holds no images" in n for n in report.notes)
    assert "skipped 3" in report.summary() and "ROOT" not in report.summary()


def test_split_layout(tmp_path, dataset_name):
    root = tmp_path / "data"
    for split, label, n in [("train", "cat", 3), ("train", "dog", 2), ("test", "cat", 1), ("test", "dog", 1)]:
        for i in range(n):
            _image(root / split / label / f"{i}.png")
    _image(root / "train" / "loose.png")
    assert detect_layout(root) == "split"
    report = import_folder(root, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("split") == {"train": 5, "test": 2}
    assert len(ds.match((F("split") == "train") & (F("ground_truth.label") == "cat"))) == 3
    assert [s.reason.split(";")[0] for s in report.skipped] == [
        "image outside any class (inside split 'train') folder"]


def test_layout_errors_and_override(tmp_path, dataset_name):
    root = tmp_path / "mixed"
    _image(root / "cat" / "a.png")
    _image(root / "train" / "dog" / "b.png")
    with pytest.raises(IngestError, match="Cannot tell the layout.*pass layout='class' .* or layout='split'"):
        import_folder(root, dataset_name)
    report = import_folder(root, dataset_name, layout="class")
    assert report.loaded == 2
    assert store.open_dataset(dataset_name).count_values("ground_truth.label") == {"cat": 1, "train": 1}
    with pytest.raises(IngestError, match="is not a folder"):
        import_folder(tmp_path / "nowhere", dataset_name + "_x")
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(IngestError, match="No images found"):
        import_folder(tmp_path / "empty", dataset_name + "_x")
    assert dataset_name + "_x" not in store.list_datasets()


def test_given_classes_skip_unknown_folders_and_append_adds(tmp_path, dataset_name):
    root = tmp_path / "a"
    _image(root / "cat" / "1.png")
    _image(root / "cow" / "2.png")
    report = import_folder(root, dataset_name, classes=["cat", "dog"])
    assert report.loaded == 1 and "unknown class 'cow'" in report.skipped[0].reason
    more = tmp_path / "b"
    _image(more / "dog" / "3.png")
    with pytest.raises(IngestError, match="exists already"):
        import_folder(more, dataset_name)
    import_folder(more, dataset_name, mode="append")
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("ground_truth.label") == {"cat": 1, "dog": 1}
    assert store.classes(ds) == ["cat", "dog"]


def test_a_linked_folder_already_walked_is_imported_once(tmp_path, dataset_name):
    root = tmp_path / "pets"
    _image(root / "cat" / "a.png")
    _image(root / "cat" / "b.png")
    _image(root / "dog" / "c.png")
    (root / "aaa_cat").symlink_to(root / "cat")  # sorts first, yet the real folder wins
    (root / "everything").symlink_to(root)  # a link around the whole tree
    _image(tmp_path / "elsewhere" / "owl" / "d.png")
    (root / "owl").symlink_to(tmp_path / "elsewhere" / "owl")  # a link to a folder not walked: followed once
    (root / "owl2").symlink_to(tmp_path / "elsewhere" / "owl")
    report = import_folder(root, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 4 and len(ds) == 4
    assert ds.count_values("ground_truth.label") == {"cat": 2, "dog": 1, "owl": 1}
    reasons = {s.item.rsplit("/", 1)[1]: s.reason for s in report.skipped}
    assert set(reasons) == {"aaa_cat", "everything", "owl2"}
    assert all("already imported" in r and "Remove the link" in r for r in reasons.values())


def test_a_linked_split_folder_is_imported_once(tmp_path, dataset_name):
    root = tmp_path / "data"
    _image(root / "test" / "cat" / "a.png")
    _image(root / "train" / "dog" / "b.png")
    (root / "dev").symlink_to(root / "test")  # sorts before test
    report = import_folder(root, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 2 and ds.count_values("split") == {"test": 1, "train": 1}
    assert [s.item for s in report.skipped] == [str(root / "dev" / "cat")]


def test_a_truncated_png_is_skipped_with_the_reason_and_the_fix(tmp_path, dataset_name):
    root = tmp_path / "pets"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        (root / label).mkdir(parents=True)
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (30, 30), dtype=np.uint8)).save(root / label / f"{i}.png")
    whole = (root / "dog" / "1.png").read_bytes()
    (root / "dog" / "1.png").write_bytes(whole[:len(whole) * 2 // 3])  # a copy interrupted part-way
    report = import_folder(root, dataset_name)
    assert report.loaded == 3 and len(store.open_dataset(dataset_name)) == 3
    [skipped] = report.skipped
    assert skipped.item == str(root / "dog" / "1.png")
    assert skipped.reason.startswith("image data is truncated or damaged (image file is truncated")
    assert skipped.reason.endswith("replace the file with a complete copy or remove it")


def test_the_layout_hint_names_the_cli_flag_on_the_command_line(tmp_path, dataset_name, capsys):
    root = tmp_path / "mixed"
    _image(root / "cat" / "a.png")
    _image(root / "train" / "dog" / "b.png")
    assert main(["ingest", "folder", str(root), "--name", dataset_name]) == 2
    err = capsys.readouterr().err
    assert "Cannot tell the layout" in err and "pass --layout class (sub-folder images" in err
    assert "or --layout split." in err and "layout='" not in err
    with pytest.raises(IngestError, match="pass layout='class'"):  # the API, after the CLI ran: Python again
        import_folder(root, dataset_name)
    assert main(["ingest", "folder", str(root), "--name", dataset_name, "--layout", "class"]) == 0
