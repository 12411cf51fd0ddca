"""CSV / Parquet importer: paths, labels, tags, splits, extra columns as typed fields, and bad rows."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest
from PIL import Image

import fiftyone as fo
from sda2 import store
from sda2.ingest import IngestError, import_table


@pytest.fixture
def images(tmp_path):
    """Five small PNGs in tmp_path/img/."""
    folder = tmp_path / "img"
    folder.mkdir()
    for i in range(5):
        Image.new("L", (6 + i, 4), 100).save(folder / f"{i}.png")
    return folder


def test_csv_with_split_extra_columns_and_bad_rows(tmp_path, images, dataset_name):
    csv = tmp_path / "labels.csv"
    csv.write_text(
        "filepath,label,split,id,weight,count,reviewed,source name\n"
        "img/0.png,cat,train,a7,0.5,3,true,web\n"
        f"{images}/1.png,dog,test,b2,1.5,,false,\n"   # absolute path, empty count
        "img/2.png,cat,train,c3,2.5,4,true,web\n"
        "img/missing.png,dog,train,d4,1,1,true,web\n"  # line 5: no such file
        "img/3.png,,train,e5,1,1,true,web\n"           # line 6: empty label
        ",cat,train,f6,1,1,true,web\n"                 # line 7: empty path
        "img/0.png,cat,test,g7,1,1,true,web\n"         # line 8: same image and label again
    )
    report = import_table(csv, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 3 and len(ds) == 3
    assert ds.count_values("ground_truth.label") == {"cat": 2, "dog": 1}
    assert ds.count_values("split") == {"train": 2, "test": 1}
    reasons = {s.item: s.reason for s in report.skipped}
    assert reasons["labels.csv line 5 (img/missing.png)"].startswith("file not found")
    assert reasons["labels.csv line 6 (img/3.png)"].startswith("empty label")
    assert reasons["labels.csv line 7"] == "empty 'filepath'; fill in the image path"
    assert reasons["labels.csv line 8 (img/0.png)"] == ("same image and label as labels.csv line 2 (img/0.png); "
                                                        "keep one row per image")
    schema = ds.get_field_schema()
    assert {f: type(schema[f]) for f in ("col_id", "weight", "count", "reviewed", "source_name")} == {
        "col_id": fo.StringField, "weight": fo.FloatField, "count": fo.IntField, "reviewed": fo.BooleanField,
        "source_name": fo.StringField}
    assert sorted(ds.values("count"), key=str) == [3, 4, None]
    assert "column 'id' stored as field 'col_id'" in report.notes
    sample = ds.match(fo.ViewField("col_id") == "b2").first()
    assert sample.filepath == str(images / "1.png") and sample.source_name is None and sample.weight == 1.5


def test_table_without_the_needed_columns_lists_its_columns(tmp_path, dataset_name):
    csv = tmp_path / "t.csv"
    csv.write_text("path,class\nimg/0.png,cat\n")
    with pytest.raises(IngestError, match=r"t.csv has no column 'filepath', 'label' \(its columns: path, class\)"
                                          r".*filepath_col="):
        import_table(csv, dataset_name)
    with pytest.raises(IngestError, match="not found"):
        import_table(tmp_path / "nope.csv", dataset_name)
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(IngestError, match="not a .csv, .tsv or .parquet"):
        import_table(tmp_path / "t.xlsx", dataset_name)
    assert dataset_name not in store.list_datasets()


def test_custom_columns_and_base_dir(tmp_path, images, dataset_name):
    csv = tmp_path / "elsewhere" / "t.csv"
    csv.parent.mkdir()
    csv.write_text("path,class\n0.png,7\n1.png,10\n2.png,7\n")
    report = import_table(csv, dataset_name, filepath_col="path", label_col="class", base_dir=images)
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 3 and ds.count_values("ground_truth.label") == {"7": 2, "10": 1}
    assert store.classes(ds) == ["7", "10"] and store.splits(ds) == []


def test_multilabel_csv_separators_and_merged_rows(tmp_path, images, dataset_name):
    csv = tmp_path / "tags.csv"
    csv.write_text("filepath,tags\nimg/0.png,cat|outdoor\nimg/1.png,dog; indoor ;dog\nimg/0.png,night\n"
                   "img/2.png,\nimg/3.png,cat\n")
    report = import_table(csv, dataset_name, tags_col="tags")
    ds = store.open_dataset(dataset_name)
    assert report.kind == "multilabel" and store.label_kind(ds, "ground_truth") == "multilabel"
    tags = dict(zip(ds.values("filepath"), ds.values("ground_truth.classifications.label")))
    assert tags[str(images / "0.png")] == ["cat", "outdoor", "night"]
    assert tags[str(images / "1.png")] == ["dog", "indoor"]
    assert [(s.item, s.reason.split(";")[0]) for s in report.skipped] == [("tags.csv line 5 (img/2.png)", "no tags")]
    assert store.classes(ds) == ["cat", "dog", "indoor", "night", "outdoor"]


def test_parquet_with_list_tags_and_typed_columns(tmp_path, images, dataset_name):
    table = tmp_path / "t.parquet"
    pd.DataFrame({
        "filepath": [str(images / "0.png"), str(images / "1.png")],
        "tags": [["a", "b"], ["b"]],
        "split": ["train", None],
        "taken": pd.to_datetime(["2024-01-02 03:04:05", None]),
        "scores": [[0.1, 0.9], [0.5]],
    }).to_parquet(table)
    import_table(table, dataset_name, tags_col="tags")
    ds = store.open_dataset(dataset_name)
    assert ds.values("ground_truth.classifications.label") == [["a", "b"], ["b"]]
    assert ds.values("split") == ["train", None]
    assert ds.values("taken") == [datetime(2024, 1, 2, 3, 4, 5), None]
    assert ds.values("scores") == [[0.1, 0.9], [0.5]]
    assert isinstance(ds.get_field_schema()["taken"], fo.DateTimeField)


def test_rows_of_one_image_with_conflicting_labels_are_a_conflict_naming_both(tmp_path, images, dataset_name):
    csv = tmp_path / "labels.csv"
    csv.write_text("filepath,label\n"
                   "img/0.png,cat\n"   # line 2
                   "img/1.png,dog\n"   # line 3
                   "img/0.png,dog\n"   # line 4: same image, other label
                   "img/0.png,cat\n"   # line 5: agrees with line 2, still part of the conflict
                   "img/2.png,cow\n"   # line 6
                   "img/2.png,\n")     # line 7: no label: a repeat, not a conflict
    report = import_table(csv, dataset_name)
    ds = store.open_dataset(dataset_name)
    assert report.loaded == 2 and sorted(ds.values("ground_truth.label")) == ["cow", "dog"]
    assert str(images / "0.png") not in ds.values("filepath")  # the table must say which label is right
    reasons = {s.item: s.reason for s in report.skipped}
    conflict = ("conflicting labels for one image ('cat', 'dog'): labels.csv line 2 (img/0.png) says 'cat'; "
                "labels.csv line 4 (img/0.png) says 'dog'; labels.csv line 5 (img/0.png) says 'cat'; "
                "keep one row per image, with the right label")
    assert {item: reasons[item] for item in reasons if "img/0.png" in item} == {
        f"labels.csv line {n} (img/0.png)": conflict for n in (2, 4, 5)}
    assert reasons["labels.csv line 7 (img/2.png)"] == ("same image as labels.csv line 6 (img/2.png); "
                                                        "keep one row per image")
    assert len(report.skipped) == 4
