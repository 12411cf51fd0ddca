"""The ``sda2`` command line: every sub-command's help, and the ingest commands end to end."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from sda2 import store
from sda2.cli import main


@pytest.mark.parametrize("argv", [["app"], ["demo"], ["list"], ["delete"], ["ingest"], ["ingest", "folder"],
                                  ["ingest", "table"], ["ingest", "coco"], ["ingest", "mnist"],
                                  ["ingest", "fiftyone"]])
def test_every_command_has_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sda2 {' '.join(argv)}")
    if argv[0] == "ingest" and len(argv) == 2:
        assert "--name NAME" in out and "--overwrite" in out and "--append" in out


def test_ingest_folder_then_exists_then_overwrite_and_append(tmp_path, dataset_name, capsys):
    for label in ("cat", "dog"):
        (tmp_path / "pets" / label).mkdir(parents=True)
        Image.new("RGB", (5, 5)).save(tmp_path / "pets" / label / "1.png")
    (tmp_path / "pets" / "dog" / "bad.png").write_text("x")
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name]) == 0
    out = capsys.readouterr().out
    assert f"{dataset_name}: loaded 2 samples (classification), skipped 1." in out
    assert "bad.png: not a readable image" in out
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name]) == 2
    assert "exists already" in capsys.readouterr().err
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name, "--append"]) == 0
    assert len(store.open_dataset(dataset_name)) == 4
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name, "--overwrite",
                 "--classes", "cat, cow"]) == 0
    assert "unknown class 'dog' (classes: cat, cow)" in capsys.readouterr().out
    assert store.open_dataset(dataset_name).count_values("ground_truth.label") == {"cat": 1}
    assert main(["list"]) == 0
    assert f"{dataset_name}\t1 samples\tground_truth (classification)" in capsys.readouterr().out


def test_ingest_table_coco_mnist_fiftyone(tmp_path, dataset_name, mnist_dir, capsys):
    Image.new("RGB", (10, 10)).save(tmp_path / "a.png")
    (tmp_path / "t.csv").write_text("file,tags\na.png,x|y\n")
    assert main(["ingest", "table", str(tmp_path / "t.csv"), "--name", dataset_name, "--filepath-col", "file",
                 "--tags-col", "tags"]) == 0
    assert store.label_kind(store.open_dataset(dataset_name), "ground_truth") == "multilabel"
    (tmp_path / "c.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 10, "height": 10}],
        "categories": [{"id": 1, "name": "thing"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5]}]}))
    names = [f"{dataset_name}_{k}" for k in ("coco", "mnist", "fo")]
    try:
        assert main(["ingest", "coco", str(tmp_path / "c.json"), "--name", names[0]]) == 0
        assert main(["ingest", "mnist", str(mnist_dir / "t10k-images-idx3-ubyte.gz"),
                     str(mnist_dir / "t10k-labels-idx1-ubyte.gz"), "--name", names[1], "--limit", "20",
                     "--split", "test", "--out-dir", str(tmp_path / "png")]) == 0
        assert main(["ingest", "fiftyone", names[1], "--name", names[2]]) == 0
        out = capsys.readouterr().out
        assert f"{names[0]}: loaded 1 samples (detection)" in out and f"{names[1]}: loaded 20 samples" in out
        assert f"{names[2]}: loaded 20 samples (classification)" in out
        assert len(store.open_dataset(names[2])) == 20
    finally:
        for name in names:
            if name in store.list_datasets():
                store.delete_dataset(name)


def test_bad_input_is_reported_on_stderr(tmp_path, dataset_name, capsys):
    (tmp_path / "t.csv").write_text("path,class\nx.png,a\n")
    assert main(["ingest", "table", str(tmp_path / "t.csv"), "--name", dataset_name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sda2: t.csv has no column 'filepath', 'label' (its columns: path, class)")
