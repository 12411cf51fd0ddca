"""Integration tests of sda2.explore.overview on the real database: digits, and small multi-label and detection sets."""

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sda2 import store
from sda2.explore import overview
from sda2.ingest.base import Box, Record
from sda2.ingest.writer import write_dataset

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)


def test_digits_distribution_matches_values_and_pandas(digits):
    table = overview.class_distribution("digits")
    reference = pd.DataFrame({"split": digits.values("split"), "label": digits.values("ground_truth.label")})
    expected = reference.groupby(["split", "label"]).size()
    got = table.set_index(["split", "label"])["count"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    for split, part in table.groupby("split"):
        assert part["percent"].sum() == pytest.approx(100.0)
        assert len(part) == 10


def test_digits_overview_counts_and_imbalance(digits):
    result = overview.dataset_overview(digits)
    counts = Counter(digits.values("ground_truth.label"))
    assert result.num_samples == len(digits) == 1797
    assert result.num_classes == 10 and result.kind == "classification"
    assert result.split_counts == dict(Counter(digits.values("split")))
    assert result.unlabeled == 0
    assert result.imbalance.ratio == pytest.approx(max(counts.values()) / min(counts.values()))
    assert result.imbalance.severity == "balanced"
    overall = overview.class_distribution(digits, by_split=False).set_index("label")["count"]
    assert overall.to_dict() == dict(counts)


def test_one_split_only(digits):
    table = overview.class_distribution("digits", split="test")
    assert set(table["split"]) == {"test"}
    assert table["count"].sum() == sum(1 for s in digits.values("split") if s == "test")
    empty = overview.dataset_overview(digits, split="no such split")
    assert empty.num_samples == 0 and empty.distribution.empty and empty.split_counts == {}


@pytest.fixture
def digits_copy(digits, dataset_name):
    """A private copy of digits that a test may edit, with predictions: '8' predicted as '3' half the time."""
    copy = digits.clone(dataset_name, persistent=True)
    truth = copy.values("ground_truth.label")
    predicted = [("3" if label == "8" and i % 2 else label) for i, label in enumerate(truth)]
    copy.set_values("predictions", [fo.Classification(label=p, confidence=0.9) for p in predicted])
    return copy


def test_prediction_distribution_beside_ground_truth(digits_copy):
    result = overview.dataset_overview(digits_copy.name, prediction_field="predictions")
    truth = result.overall.set_index("label")["count"]
    predicted = result.prediction_overall.set_index("label")["count"]
    moved = sum(1 for i, label in enumerate(digits_copy.values("ground_truth.label")) if label == "8" and i % 2)
    assert predicted["8"] == truth["8"] - moved and predicted["3"] == truth["3"] + moved
    assert predicted.sum() == truth.sum()
    per_split = result.prediction_distribution.groupby("split")["count"].sum().to_dict()
    assert per_split == result.split_counts


def test_edits_change_the_cache_key_and_show_at_once(digits_copy):
    name = digits_copy.name
    before_key, before = overview.cache_key(name), overview.dataset_overview(name).overall.set_index("label")
    sample_id = digits_copy.match(fo.ViewField("ground_truth.label") == "0").first().id
    digits_copy.set_values("ground_truth.label", {sample_id: "1"}, key_field="id")  # a label fix elsewhere
    after_key, after = overview.cache_key(name), overview.dataset_overview(name).overall.set_index("label")
    assert after_key != before_key
    assert after.loc["0", "count"] == before.loc["0", "count"] - 1
    assert after.loc["1", "count"] == before.loc["1", "count"] + 1
    digits_copy.delete_samples(digits_copy.take(3, seed=0))
    assert overview.cache_key(name) != after_key
    assert overview.dataset_overview(name).num_samples == 1797 - 3


def test_unlabeled_and_unknown_field(digits_copy):
    digits_copy.limit(5).set_field("ground_truth", None).save()
    result = overview.dataset_overview(digits_copy)
    assert result.unlabeled == 5 and result.num_samples == 1797
    assert result.distribution["count"].sum() == 1797 - 5
    with pytest.raises(KeyError, match="no label field 'labels'"):
        overview.dataset_overview(digits_copy, "labels")


def _images(folder, n, size=(64, 48)):
    folder.mkdir(exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"{i:03d}.png"
        Image.fromarray(np.full((size[1], size[0], 3), i * 20 % 255, np.uint8)).save(path)
        paths.append(str(path))
    return paths


TAGS = [["cat", "dog"], ["dog"], ["cat", "dog", "bird"], ["bird"], ["cat"], ["dog", "cat"], ["bird", "dog"]]


def make_multilabel(name, folder) -> fo.Dataset:
    """A multi-label dataset of real images with the TAGS above (alternating test/train) and one untagged sample."""
    paths = _images(folder, len(TAGS) + 1)
    dataset = fo.Dataset(name, persistent=True)
    samples = [fo.Sample(filepath=p, split="train" if i % 2 else "test",
                         ground_truth=fo.Classifications(classifications=[fo.Classification(label=t) for t in tags]))
               for i, (p, tags) in enumerate(zip(paths, TAGS))]
    samples.append(fo.Sample(filepath=paths[-1], split="train"))  # no tags at all
    dataset.add_samples(samples)
    return dataset


def test_multilabel_tag_frequency_and_cooccurrence(tmp_path, dataset_name):
    make_multilabel(dataset_name, tmp_path / "img")
    result = overview.dataset_overview(dataset_name)
    assert result.kind == "multilabel" and result.unlabeled == 1
    rows = list(zip(["test" if i % 2 == 0 else "train" for i in range(len(TAGS))], TAGS)) + [("train", [])]
    got = result.distribution.set_index(["split", "label"])
    for split in ("train", "test"):
        in_split = [tags for s, tags in rows if s == split]
        for tag in ("cat", "dog", "bird"):
            n = sum(tag in tags for tags in in_split)
            assert got.loc[(split, tag), "count"] == n
            assert got.loc[(split, tag), "percent"] == pytest.approx(100 * n / len(in_split))
    pairs = Counter(p for tags in TAGS for p in itertools.product(tags, repeat=2))
    matrix = overview.tag_cooccurrence(dataset_name)
    assert list(matrix.index) == ["dog", "cat", "bird"]  # most frequent first
    for x, y in itertools.product(["cat", "dog", "bird"], repeat=2):
        assert matrix.loc[x, y] == pairs[(x, y)]
    assert result.tags_per_sample.to_dict() == {0: 1, 1: 3, 2: 3, 3: 1}


BOXES = [[Box("car", [0.1, 0.1, 0.5, 0.25]), Box("person", [0.0, 0.0, 0.125, 0.5])],
         [Box("car", [0.2, 0.2, 0.25, 0.25])], [], [Box("car", [0, 0, 1.0, 1.0])] * 3]


def make_detection(name, folder) -> fo.Dataset:
    """A detection dataset of four real 64 x 48 images holding the BOXES above (three train, one test)."""
    paths = _images(folder, len(BOXES), size=(64, 48))
    records = [Record(p, b, "train" if i < 3 else "test") for i, (p, b) in enumerate(zip(paths, BOXES))]
    write_dataset(name, records, "detection")
    return store.open_dataset(name)


def test_detection_boxes_per_image_size_and_aspect(tmp_path, dataset_name):
    make_detection(dataset_name, tmp_path / "img")
    result = overview.dataset_overview(dataset_name)
    assert result.kind == "detection" and result.num_samples == 4
    counts = result.distribution.set_index(["split", "label"])["count"]
    assert counts[("train", "car")] == 2 and counts[("train", "person")] == 1 and counts[("test", "car")] == 3
    assert result.boxes_per_image.to_dict() == {0: 1, 1: 1, 2: 1, 3: 1}
    assert result.unlabeled == 1 and result.box_summary.boxes == 6
    first = result.box_geometry.iloc[0]  # 0.5 x 0.25 of a 64 x 48 image: 32 x 12 px
    assert first["size_px"] == pytest.approx(np.sqrt(32 * 12)) and first["aspect"] == pytest.approx(32 / 12)
    assert result.imbalance.largest == "car" and "boxes" in result.imbalance.message
    with pytest.raises(ValueError, match="not multi-label"):
        overview.tag_cooccurrence(dataset_name)


def test_dataset_without_split_field(tmp_path, dataset_name):
    paths = _images(tmp_path / "img", 3)
    dataset = fo.Dataset(dataset_name, persistent=True)
    dataset.add_samples([fo.Sample(filepath=p, ground_truth=fo.Classification(label=label))
                         for p, label in zip(paths, ["a", "a", "b"])])
    result = overview.dataset_overview(dataset)
    assert result.split_counts == {overview.NO_SPLIT: 3}
    assert result.overall.set_index("label")["count"].to_dict() == {"a": 2, "b": 1}
    assert result.imbalance.ratio == 2.0 and store.label_kind(dataset, "ground_truth") == "classification"
