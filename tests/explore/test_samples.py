"""Filtering, sorting and paging samples on the real database, checked against independent computations."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import sklearn
from scipy.special import softmax
from sklearn.datasets import load_digits

from sda2 import arrays, store
from sda2.explore import browse, fiftyone_app
from sda2.ingest.base import Box, Record
from sda2.ingest.digits import digits_records
from sda2.ingest.writer import write_dataset

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)

N = 300
SAMPLE_IMAGES = pathlib.Path(sklearn.__file__).parent / "datasets" / "images"


def _drop(name: str) -> None:
    if name in store.list_datasets():
        store.delete_dataset(name)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """300 digits with predictions (logits, 1 in 4 wrong), a tied score field, and tags on some samples."""
    name = "t_samples_scored"
    _drop(name)
    rng = np.random.default_rng(7)
    records = digits_records(tmp_path_factory.mktemp("digits"))[:N]
    for r in records:
        r.fields = {"score": float(np.round(rng.random(), 1))}  # rounded: many ties, to test stable paging
    write_dataset(name, records, "classification", classes=[str(c) for c in range(10)])
    ds = store.open_dataset(name)
    truth = np.array([int(v) for v in ds.values("ground_truth.label")])
    logits = rng.normal(0, 1, (N, 10))
    predicted = np.where(rng.random(N) < 0.25, (truth + 1) % 10, truth)
    logits[np.arange(N), predicted] += 4
    probs = softmax(logits, axis=1)
    ds.set_values("predictions", [fo.Classification(label=str(p), confidence=float(pr[p]), logits=lg.tolist())
                                  for p, pr, lg in zip(predicted, probs, logits)])
    ids = ds.values("id")
    ds.select(ids[:20]).tag_samples("review")
    ds.select(ids[10:30]).tag_samples("blurry")
    yield ds
    _drop(name)


def _all_ids(query, dataset, *fields, page=37):
    """Every id of a query, read page by page (so paging itself is under test)."""
    first = browse.query_samples(dataset, *fields, limit=page, **query)
    ids, skip = list(first["id"]), page
    while skip < first.attrs["total"]:
        ids += list(browse.query_samples(dataset, *fields, skip=skip, limit=page, **query)["id"])
        skip += page
    return first.attrs["total"], ids


def test_label_filter_counts_match_sklearn(digits):
    target = load_digits().target
    rows = browse.query_samples(digits, labels=["3", "5"], limit=1000)
    assert rows.attrs["total"] == int(np.isin(target, [3, 5]).sum())
    assert set(rows["label"]) == {"3", "5"} and len(rows) == rows.attrs["total"]


def test_split_filter_and_columns(digits):
    rows = browse.query_samples("digits", split="test", limit=10)
    assert rows.attrs["total"] == digits.count_values("split")["test"]
    assert list(rows.columns[:5]) == ["id", "filepath", "tags", "label", "split"]
    assert set(rows["split"]) == {"test"} and "source_index" in rows.columns
    assert all(pathlib.Path(p).exists() for p in rows["filepath"])


def test_sort_pages_cover_all_in_order_with_ties(scored):
    score = np.array(scored.values("score"))
    ids = np.array(scored.values("id"))
    for descending in (False, True):
        total, paged = _all_ids({"sort_by": "score", "descending": descending}, scored, "ground_truth",
                                "predictions")
        order = np.lexsort((ids, score))  # by score, then id: the tie-break the pages must follow
        expected = list(ids[order][::-1] if descending else ids[order])
        assert total == N and len(set(paged)) == N  # no sample twice, none missing
        assert paged == expected


def test_range_tag_and_prediction_filters(scored):
    score = np.array(scored.values("score"))
    ids = np.array(scored.values("id"))
    truth = np.array(scored.values("ground_truth.label"))
    pred = np.array(scored.values("predictions.label"))
    tags = scored.values("tags")
    _, got = _all_ids({"ranges": {"score": (0.2, 0.5)}}, scored)
    assert set(got) == set(ids[(score >= 0.2) & (score <= 0.5)])
    _, got = _all_ids({"ranges": {"score": (None, 0.3)}, "tags": ["review"]}, scored)
    assert set(got) == {i for i, s, t in zip(ids, score, tags) if s <= 0.3 and "review" in t}
    _, got = _all_ids({"correct": False}, scored, "ground_truth", "predictions")
    assert set(got) == set(ids[truth != pred]) and 0 < len(got) < N
    _, got = _all_ids({"correct": True, "predictions": ["1", "2"]}, scored, "ground_truth", "predictions")
    assert set(got) == set(ids[(truth == pred) & np.isin(pred, ["1", "2"])])


def test_page_rows_hold_predictions(scored):
    rows = browse.query_samples(scored, "ground_truth", "predictions", sort_by="predictions.confidence", limit=20)
    conf = np.array(scored.values("predictions.confidence"))
    assert np.allclose(rows["confidence"], np.sort(conf)[:20])
    assert list(rows["correct"]) == [g == p for g, p in zip(rows["label"], rows["prediction"])]
    assert {"score", "predictions.confidence"} <= set(browse.numeric_fields(scored))
    assert scored.get_field("ground_truth.confidence") is not None  # declared by Classification…
    assert "ground_truth.confidence" not in browse.numeric_fields(scored)  # …but never set: not offered


def test_class_probabilities_softmax_and_array(scored):
    sample = scored.first()
    got = browse.class_probabilities(scored, sample.id, "predictions")
    expected = softmax(np.array(sample.predictions.logits))
    assert np.allclose(got.loc[[str(c) for c in range(10)]].to_numpy(), expected)
    assert got.index[0] == sample.predictions.label and got.is_monotonic_decreasing
    probs = np.tile(np.linspace(0.0, 0.19, 10), (N, 1))  # a stored array takes precedence over logits
    arrays.save(scored.name, "predictions_probabilities", scored.values("id"), probs, classes=list("abcdefghij"))
    try:
        from_array = browse.class_probabilities(scored, sample.id, "predictions")
        assert list(from_array.index[:2]) == ["j", "i"] and from_array.iloc[0] == pytest.approx(0.19)
    finally:
        arrays.delete(scored.name, "predictions_probabilities")


def test_sample_fields_are_plain(scored):
    sample = scored.first()
    fields = browse.sample_fields(scored, sample.id)
    assert fields["id"] == sample.id and fields["ground_truth.label"] == sample.ground_truth.label
    assert len(fields["predictions.logits"]) == 10 and fields["score"] == sample.score


def test_bad_input_names_the_fix(scored):
    with pytest.raises(ValueError, match="not a numeric field.*score"):
        browse.query_samples(scored, sort_by="filepath")
    with pytest.raises(ValueError, match="prediction_field"):
        browse.query_samples(scored, correct=False)
    with pytest.raises(KeyError, match="no label field 'nope'"):
        browse.query_samples(scored, "nope")
    with pytest.raises(ValueError, match="skip must be"):
        browse.query_samples(scored, limit=0)


def test_multilabel_any_of_and_set_equality(dataset_name):
    tags = [["cat"], ["cat", "dog"], ["dog"], ["bird", "cat"], ["dog", "bird"], ["cat"]]
    preds = [["cat"], ["dog", "cat"], ["cat"], ["bird"], None, ["cat"]]
    files = sorted(str(p) for p in (SAMPLE_IMAGES).glob("*.jpg"))
    records = [Record(files[i % len(files)], t, "train", {"k": i}) for i, t in enumerate(tags)]
    write_dataset(dataset_name, records, "multilabel")
    ds = store.open_dataset(dataset_name)
    ds.set_values("predictions", [None if p is None else fo.Classifications(
        classifications=[fo.Classification(label=t, confidence=0.9) for t in p]) for p in preds])
    rows = browse.query_samples(ds, "ground_truth", "predictions", labels=["bird"], sort_by="k")
    assert list(rows["k"]) == [3, 4] and rows["label"].tolist() == [["bird", "cat"], ["dog", "bird"]]
    right = browse.query_samples(ds, "ground_truth", "predictions", correct=True, sort_by="k")
    wrong = browse.query_samples(ds, "ground_truth", "predictions", correct=False, sort_by="k")
    assert list(right["k"]) == [0, 1, 5] and list(wrong["k"]) == [2, 3]  # k=4 has no prediction: neither
    assert list(right["correct"]) == [True, True, True]


def test_detection_boxes_and_filters(dataset_name):
    china, flower = str(SAMPLE_IMAGES / "china.jpg"), str(SAMPLE_IMAGES / "flower.jpg")
    records = [Record(china, [Box("roof", [0.05, 0.05, 0.6, 0.4]), Box("tree", [0.6, 0.5, 0.35, 0.45])], "train",
                      {"score": 0.3}),
               Record(flower, [Box("flower", [0.2, 0.1, 0.6, 0.8])], "test", {"score": 0.9})]
    write_dataset(dataset_name, records, "detection")
    ds = store.open_dataset(dataset_name)
    ds.set_values("predictions", [
        fo.Detections(detections=[fo.Detection(label="roof", bounding_box=[0.07, 0.06, 0.58, 0.4], confidence=0.8)]),
        fo.Detections(detections=[fo.Detection(label="tree", bounding_box=[0.2, 0.1, 0.6, 0.8], confidence=0.6)])])
    rows = browse.query_samples(ds, "ground_truth", "predictions", labels=["tree"])
    assert rows.attrs["total"] == 1 and rows.loc[0, "label"] == ["roof", "tree"]
    assert rows.loc[0, "label_boxes"] == [[0.05, 0.05, 0.6, 0.4], [0.6, 0.5, 0.35, 0.45]]
    assert rows.loc[0, "prediction_boxes"] == [[0.07, 0.06, 0.58, 0.4]] and rows.loc[0, "confidence"] == [0.8]
    assert "correct" not in rows.columns  # right/wrong is not defined per image for boxes
    by_pred = browse.query_samples(ds, "ground_truth", "predictions", predictions=["tree"])
    assert list(by_pred["filepath"]) == [flower]
    numeric = browse.numeric_fields(ds)
    assert "score" in numeric and "metadata.width" in numeric
    assert not any("detections" in path for path in numeric)  # one value per box is not a per-sample number
    with pytest.raises(ValueError, match="Right/wrong"):
        browse.query_samples(ds, "ground_truth", "predictions", correct=True)


def test_fiftyone_app_urls_and_saved_view(scored):
    assert fiftyone_app.app_url("my data", 5151) == "http://127.0.0.1:5151/datasets/my%20data"
    assert fiftyone_app.app_url("d", 6000, sample_id="abc").endswith("/datasets/d?id=abc")
    assert fiftyone_app.server_version(1) is None  # nothing answers on port 1
    view = browse.sort_samples(browse.filter_samples(scored, labels=["4"]), "score", descending=True)
    url = fiftyone_app.view_url(view, 5151)
    slug = url.split("?view=")[1]
    saved = scored.load_saved_view(fiftyone_app.SAVED_VIEW)
    assert slug == "sda2-samples" and saved.values("id") == view.values("id")
    assert fiftyone_app.view_url(scored, 5151).endswith(f"/datasets/{scored.name}")  # unfiltered: the dataset
