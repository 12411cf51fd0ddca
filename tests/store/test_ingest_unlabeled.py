"""Importing images without labels: a loose folder tree, a table with empty labels, then labeling them."""

from __future__ import annotations

import pytest
from PIL import Image

from sda2 import store
from sda2.cli import main
from sda2.curation import class_schema, queue as lq
from sda2.ingest import IngestError, import_folder, import_table


def _image(path, color=(200, 10, 10)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (10, 8), color).save(path)


def test_folder_of_loose_images_imports_without_labels_and_is_labeled_in_a_queue(tmp_path, dataset_name):
    root = tmp_path / "photos"
    _image(root / "a.png")
    _image(root / "2024" / "june" / "b.png")
    _image(root / "train" / "c.png")
    (root / "notes.txt").write_text("not an image")
    with pytest.raises(IngestError, match="Cannot tell the layout"):
        import_folder(root, dataset_name)  # without the flag a tree of loose images is refused, as before
    report = import_folder(root, dataset_name, unlabeled=True)
    assert report.loaded == 3 and report.unlabeled == 3
    assert "3 images imported without labels" in report.summary()
    assert [s.reason.split(" (")[0] for s in report.skipped] == ["not an image file"]
    ds = store.open_dataset(dataset_name)
    assert ds.values("ground_truth") == [None, None, None]
    assert store.label_kind(ds, "ground_truth") == "classification"
    assert ds.count_values("split") == {None: 2, "train": 1}
    # the labeling flow: a schema gives the classes, an "unlabeled only" queue holds all three, one is labeled
    class_schema.set_class_schema(ds, ["고양이", "a very long class name with spaces"], author="curator")
    assert store.classes(ds) == ["고양이", "a very long class name with spaces"]
    view = lq.queue_source(ds, unlabeled_only=True)
    assert len(view) == 3
    lq.create_queue(ds, "first", view, created_by="curator")
    sid = lq.next_item(ds, "first", "alice")
    outcome = lq.submit(ds, "first", "alice", sid, "고양이", 2.0)
    assert outcome.status == "done"
    assert ds[sid].ground_truth.label == "고양이"
    assert len(lq.queue_source(ds, unlabeled_only=True)) == 2


def test_table_with_empty_labels_and_cli(tmp_path, dataset_name, capsys):
    for name in ("1.png", "2.png", "3.png"):
        _image(tmp_path / "img" / name)
    table = tmp_path / "labels.csv"
    table.write_text("filepath,label,source\nimg/1.png,cat,web\nimg/2.png,,web\nimg/3.png,,phone\n")
    plain = import_table(table, dataset_name)
    assert plain.loaded == 1 and "--unlabeled" not in plain.skipped[0].reason  # api words, not cli words
    assert "unlabeled=True" in plain.skipped[0].reason
    report = import_table(table, dataset_name, mode="overwrite", unlabeled=True)
    assert report.loaded == 3 and report.unlabeled == 2 and report.skipped == []
    ds = store.open_dataset(dataset_name)
    assert ds.values("ground_truth.label") == ["cat", None, None]
    assert ds.values("source") == ["web", "web", "phone"]
    # no label column at all, from the command line
    bare = tmp_path / "bare.csv"
    bare.write_text("filepath\nimg/1.png\nimg/2.png\n")
    assert main(["ingest", "table", str(bare), "--name", dataset_name + "_b", "--unlabeled"]) == 0
    assert "2 images imported without labels" in capsys.readouterr().out
    assert store.open_dataset(dataset_name + "_b").values("ground_truth") == [None, None]
    assert main(["ingest", "folder", str(tmp_path / "img"), "--name", dataset_name + "_c", "--unlabeled"]) == 0
    assert "3 images imported without labels" in capsys.readouterr().out
    for suffix in ("_b", "_c"):
        store.delete_dataset(dataset_name + suffix)


def test_multilabel_table_without_tags(tmp_path, dataset_name):
    for name in ("1.png", "2.png"):
        _image(tmp_path / name)
    table = tmp_path / "tags.csv"
    table.write_text("filepath,tags\n1.png,sky|sea\n2.png,\n")
    report = import_table(table, dataset_name, tags_col="tags", unlabeled=True)
    assert report.loaded == 2 and report.unlabeled == 1 and report.kind == "multilabel"
    ds = store.open_dataset(dataset_name)
    assert [None if g is None else sorted(c.label for c in g.classifications) for g in ds.values("ground_truth")] \
        == [["sea", "sky"], None]
