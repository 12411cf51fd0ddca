"""Importer of an existing FiftyOne dataset: copy, rename the label field, split from tags, skip bad samples."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.ingest import IngestError, import_fiftyone


@pytest.fixture
def source(tmp_path, dataset_name):
    """A persistent FiftyOne dataset made the plain FiftyOne way, deleted afterwards."""
    for i in range(4):
        Image.new("RGB", (8 + i, 6)).save(tmp_path / f"{i}.png")
    ds = fo.Dataset(f"{dataset_name}_src", persistent=True)
    ds.add_samples([
        fo.Sample(filepath=str(tmp_path / "0.png"), tags=["train"], gt=fo.Classification(label="cat"),
                  ground_truth=fo.Classification(label="old"), predictions=fo.Classification(label="dog")),
        fo.Sample(filepath=str(tmp_path / "1.png"), tags=["test"], gt=fo.Classification(label="dog")),
        fo.Sample(filepath=str(tmp_path / "2.png"), tags=["train"], gt=None),
        fo.Sample(filepath=str(tmp_path / "3.png"), gt=fo.Classification(label="cat")),
        fo.Sample(filepath=str(tmp_path / "missing.png"), tags=["test"], gt=fo.Classification(label="cat")),
    ], progress=False)
    ds.classes = {"gt": ["cat", "dog"]}
    ds.save()
    yield ds
    ds.delete()


def test_copy_renames_label_field_and_takes_split_from_tags(source, dataset_name):
    before = source.count_values("gt.label")
    report = import_fiftyone(source.name, dataset_name, label_field="gt")
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 3 and report.kind == "classification"
    assert ds.count_values("ground_truth.label") == {"cat": 2, "dog": 1}
    assert ds.count_values("source_ground_truth.label") == {"old": 1, None: 2}
    assert ds.count_values("predictions.label") == {"dog": 1, None: 2}
    assert ds.count_values("split") == {"train": 1, "test": 1, None: 1}
    assert store.classes(ds) == ["cat", "dog"] and ds.info["sda2_source"] == source.name
    assert ds.bounds("metadata.width") == (8, 11)
    reasons = sorted(s.reason.split(";")[0] for s in report.skipped)
    assert reasons == ["empty 'gt'", "file not found"]
    source.reload()
    assert "gt" in source.get_field_schema() and source.count_values("gt.label") == before  # untouched


def test_append_and_errors(source, dataset_name):
    import_fiftyone(source.name, dataset_name, label_field="gt")
    import_fiftyone(source.name, dataset_name, label_field="gt", mode="append")
    ds = store.open_dataset(dataset_name)
    assert len(ds) == 6 and len(set(ds.values("id"))) == 6
    with pytest.raises(IngestError, match=r"no Classification, Classifications or Detections field 'labels' "
                                          r"\(such fields: .*gt.*\)"):
        import_fiftyone(source.name, dataset_name + "_x", label_field="labels")
    with pytest.raises(IngestError, match="No FiftyOne dataset named 'nope'"):
        import_fiftyone("nope", dataset_name + "_x")
    with pytest.raises(IngestError, match="both"):
        import_fiftyone(source.name, source.name, mode="overwrite")
    with pytest.raises(IngestError, match="exists already"):
        import_fiftyone(source.name, dataset_name, label_field="gt")
    assert dataset_name + "_x" not in store.list_datasets()


def test_a_truncated_image_in_the_source_is_skipped_with_the_reason(tmp_path, dataset_name):
    rng = np.random.default_rng(1)
    for name in ("whole.png", "cut.png"):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(tmp_path / name)
    data = (tmp_path / "cut.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[:len(data) // 2])
    source = fo.Dataset(f"{dataset_name}_src", persistent=True)
    try:
        source.add_samples([fo.Sample(filepath=str(tmp_path / n), ground_truth=fo.Classification(label="a"))
                            for n in ("whole.png", "cut.png")], progress=False)
        report = import_fiftyone(source.name, dataset_name)
    finally:
        source.delete()
    assert report.loaded == 1 and store.open_dataset(dataset_name).values("filepath") == [str(tmp_path / "whole.png")]
    [skipped] = report.skipped
    assert skipped.item.endswith("(" + str(tmp_path / "cut.png") + ")")
    assert skipped.reason.startswith("image data is truncated or damaged (image file is truncated")
