"""The ``sda2`` command line: every sub-command's help, and the ingest commands end to end."""

from __future__ import annotations

import gzip
import json
import struct
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sda2 import config, store
from sda2.cli import app_command, main


@pytest.mark.parametrize("argv", [["app"], ["demo"], ["list"], ["delete"], ["doctor"], ["ingest"], ["ingest", "folder"],
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


def _pngs(folder, colors: dict[str, tuple[int, int, int]], size=(10, 10)) -> None:
    """Write one small solid-colour PNG per name into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, color in colors.items():
        Image.new("RGB", size, color).save(folder / name)


def _idx(path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped idx file, the way MNIST ships."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_ingest_table_single_and_multi_label(tmp_path, dataset_name, capsys):
    _pngs(tmp_path / "img", {"a.png": (255, 0, 0), "b.png": (0, 255, 0), "c.png": (0, 0, 255)})
    (tmp_path / "t.csv").write_text("file,label,split\nimg/a.png,cat,train\nimg/b.png,dog,train\n"
                                    "img/c.png,cat,test\nimg/missing.png,dog,test\n")
    assert main(["ingest", "table", str(tmp_path / "t.csv"), "--name", dataset_name, "--filepath-col", "file"]) == 0
    out = capsys.readouterr().out
    assert f"{dataset_name}: loaded 3 samples (classification), skipped 1." in out and "missing.png" in out
    ds = store.open_dataset(dataset_name)
    stored = {Path(f).name: (label, split) for f, label, split in
              zip(ds.values("filepath"), ds.values("ground_truth.label"), ds.values("split"))}
    assert stored == {"a.png": ("cat", "train"), "b.png": ("dog", "train"), "c.png": ("cat", "test")}

    (tmp_path / "tags.csv").write_text("file,tags\nimg/a.png,x|y\nimg/b.png,y\n")
    assert main(["ingest", "table", str(tmp_path / "tags.csv"), "--name", dataset_name, "--overwrite",
                 "--filepath-col", "file", "--tags-col", "tags"]) == 0
    ds = store.open_dataset(dataset_name)
    assert store.label_kind(ds, "ground_truth") == "multilabel"
    tags = {Path(f).name: sorted(c.label for c in labels.classifications)
            for f, labels in zip(ds.values("filepath"), ds.values("ground_truth"))}
    assert tags == {"a.png": ["x", "y"], "b.png": ["y"]}


def test_ingest_coco_boxes(tmp_path, dataset_name, capsys):
    _pngs(tmp_path / "images", {"a.png": (200, 200, 200)}, size=(20, 10))
    (tmp_path / "c.json").write_text(json.dumps({
        "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
        "categories": [{"id": 1, "name": "thing"}, {"id": 2, "name": "other"}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [2, 1, 4, 3]},
                        {"id": 2, "image_id": 1, "category_id": 2, "bbox": [10, 5, 8, 4]}]}))
    assert main(["ingest", "coco", str(tmp_path / "c.json"), "--name", dataset_name,
                 "--images-dir", str(tmp_path / "images")]) == 0
    assert f"{dataset_name}: loaded 1 samples (detection)" in capsys.readouterr().out
    boxes = store.open_dataset(dataset_name).first().ground_truth.detections
    assert sorted((d.label, [round(v, 6) for v in d.bounding_box]) for d in boxes) == [  # relative x, y, w, h
        ("other", [0.5, 0.5, 0.4, 0.4]), ("thing", [0.1, 0.1, 0.2, 0.3])]


def test_ingest_mnist_idx_files(tmp_path, dataset_name, capsys):
    images = np.arange(3 * 28 * 28, dtype=np.uint64).reshape(3, 28, 28) * np.array([1, 3, 7])[:, None, None] % 256
    _idx(tmp_path / "images-idx3-ubyte.gz", images)
    _idx(tmp_path / "labels-idx1-ubyte.gz", np.array([7, 2, 1]))
    assert main(["ingest", "mnist", str(tmp_path / "images-idx3-ubyte.gz"), str(tmp_path / "labels-idx1-ubyte.gz"),
                 "--name", dataset_name, "--limit", "2", "--split", "test", "--out-dir", str(tmp_path / "png")]) == 0
    assert f"{dataset_name}: loaded 2 samples (classification)" in capsys.readouterr().out
    ds = store.open_dataset(dataset_name).sort_by("filepath")
    assert ds.values("ground_truth.label") == ["7", "2"] and ds.values("split") == ["test", "test"]
    for path, expected in zip(ds.values("filepath"), images[:2]):
        assert Path(path).parent == tmp_path / "png" and np.array_equal(np.asarray(Image.open(path)), expected)


def test_ingest_fiftyone_dataset(tmp_path, dataset_name, capsys):
    import fiftyone as fo

    _pngs(tmp_path, {"a.png": (255, 0, 0), "b.png": (0, 0, 255)})
    source_name = f"{dataset_name}_src"
    source = fo.Dataset(source_name, persistent=True)
    try:
        source.add_samples([fo.Sample(filepath=str(tmp_path / name), truth=fo.Classification(label=label))
                            for name, label in (("a.png", "red"), ("b.png", "blue"))])
        assert main(["ingest", "fiftyone", source_name, "--name", dataset_name, "--label-field", "truth"]) == 0
        assert f"{dataset_name}: loaded 2 samples (classification)" in capsys.readouterr().out
        ds = store.open_dataset(dataset_name)
        assert dict(zip(map(lambda f: Path(f).name, ds.values("filepath")), ds.values("ground_truth.label"))) == {
            "a.png": "red", "b.png": "blue"}
    finally:
        if source_name in store.list_datasets():
            store.delete_dataset(source_name)
        elif fo.dataset_exists(source_name):
            fo.delete_dataset(source_name)


def test_bad_input_is_reported_on_stderr(tmp_path, dataset_name, capsys):
    (tmp_path / "t.csv").write_text("path,class\nx.png,a\n")
    assert main(["ingest", "table", str(tmp_path / "t.csv"), "--name", dataset_name]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sda2: t.csv has no column 'filepath', 'label' (its columns: path, class)")


def _streamlit_config(args: list[str], cwd) -> str:
    """``streamlit config show`` (the options Streamlit would run with) for ``args``, run in ``cwd``."""
    done = subprocess.run([sys.executable, "-m", "streamlit", "config", "show", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def test_app_runs_streamlit_without_a_file_watcher(tmp_path):
    command = app_command("127.0.0.1", 8765)
    assert command[:4] == [sys.executable, "-m", "streamlit", "run"] and command[4].endswith("app.py")
    flags = command[5:]
    shown = _streamlit_config(flags, tmp_path)  # no config file there: only the flags count
    from_flag = "# The value below was set in command-line argument or environment variable\n"
    assert f'{from_flag}fileWatcherType = "none"' in shown and f"{from_flag}port = 8765" in shown
    project = _streamlit_config([], config.PROJECT_ROOT)  # a plain `streamlit run app.py` in the project
    assert '\nfileWatcherType = "none"' in project and '\naddress = "127.0.0.1"' in project
    settings = tomllib.loads((config.PROJECT_ROOT / ".streamlit" / "config.toml").read_text())
    assert settings["server"]["fileWatcherType"] == "none" and settings["server"]["address"] == "127.0.0.1"


def test_hints_name_flags_on_the_command_line_and_arguments_in_python(tmp_path, dataset_name, capsys):
    _pngs(tmp_path / "pets" / "cat", {"a.png": (1, 2, 3)})
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name]) == 0
    assert main(["ingest", "folder", str(tmp_path / "pets"), "--name", dataset_name]) == 2
    err = capsys.readouterr().err
    assert "pass --overwrite (replace it) or --append (add to it)." in err and "mode=" not in err
    from sda2.ingest import IngestError, import_folder

    with pytest.raises(IngestError, match=r"pass mode='overwrite' \(replace it\) or mode='append'") as error:
        import_folder(tmp_path / "pets", dataset_name)
    assert "--overwrite" not in str(error.value)
    (tmp_path / "t.csv").write_text("path,class\nx.png,a\n")
    assert main(["ingest", "table", str(tmp_path / "t.csv"), "--name", dataset_name + "_t"]) == 2
    assert "name yours with --filepath-col / --label-col." in capsys.readouterr().err
