"""Unit tests of sda2.analysis.distribution on hand-made cases with known answers and brute-force references."""

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from sda2.analysis import distribution as dist


def _counts(rows):
    return pd.DataFrame(rows, columns=["split", "label", "count"])


def test_distribution_table_fills_declared_classes_and_computes_percent():
    table = dist.distribution_table(_counts([("train", "cat", 6), ("train", "dog", 2), ("test", "cat", 1)]),
                                    classes=["cat", "dog", "bird"])
    got = {(r.split, r.label): (r.count, r.percent) for r in table.itertuples()}
    assert got == {("train", "cat"): (6, 75.0), ("train", "dog"): (2, 25.0), ("train", "bird"): (0, 0.0),
                   ("test", "cat"): (1, 100.0), ("test", "dog"): (0, 0.0), ("test", "bird"): (0, 0.0)}
    # within each split the largest class comes first
    assert list(table[table["split"] == "train"]["label"]) == ["cat", "dog", "bird"]


def test_distribution_table_percent_of_given_totals():
    table = dist.distribution_table(_counts([("train", "cat", 3)]), totals={"train": 12})
    assert table["percent"].tolist() == [25.0]


def test_combine_splits_sums_counts():
    table = dist.distribution_table(_counts([("train", "a", 6), ("train", "b", 2), ("test", "a", 1),
                                             ("test", "b", 1)]))
    overall = dist.combine_splits(table, total=10).set_index("label")
    assert overall["count"].to_dict() == {"a": 7, "b": 3}
    assert overall["percent"].to_dict() == {"a": 70.0, "b": 30.0}
    assert set(overall["split"]) == {"all"}


@pytest.mark.parametrize("counts, severity, ratio", [
    ({"a": 100, "b": 95}, "balanced", 100 / 95),
    ({"a": 100, "b": 50}, "mild", 2.0),
    ({"a": 100, "b": 20}, "moderate", 5.0),
    ({"a": 100, "b": 10, "c": 40}, "severe", 10.0),
    ({"a": 1000, "b": 7}, "severe", 1000 / 7),
])
def test_imbalance_ratio_and_severity(counts, severity, ratio):
    result = dist.imbalance(counts)
    assert result.severity == severity
    assert result.ratio == pytest.approx(ratio)
    assert result.largest == max(counts, key=counts.get)
    assert result.smallest == min(counts, key=counts.get)
    assert result.is_severe == (severity == "severe")
    assert result.largest in result.message and result.smallest in result.message


def test_imbalance_with_an_empty_class_names_it():
    result = dist.imbalance({"a": 10, "ghost": 0})
    assert result.ratio == float("inf") and result.is_severe
    assert "'ghost' has no samples" in result.message


def test_imbalance_of_one_or_no_class():
    assert dist.imbalance({"a": 5}).severity == "balanced"
    assert "No labels" in dist.imbalance({}).message


SAMPLES = [("train", ["a", "b"]), ("train", ["b"]), ("train", ["a", "b", "c"]), ("train", []),
           ("test", ["c", "a"]), ("test", ["a"]), ("train", ["b", "a"])]


def _tag_sets():
    combos = Counter((split, tuple(sorted(tags))) for split, tags in SAMPLES)
    # pass one set unsorted: tag_sets_table must merge it with its sorted twin
    triples = [(s, list(reversed(t)), n) for (s, t), n in combos.items()]
    return dist.tag_sets_table(triples)


def test_tag_counts_match_brute_force():
    table = dist.tag_counts(_tag_sets(), classes=["a", "b", "c", "unused"])
    got = {(r.split, r.label): (r.count, r.percent) for r in table.itertuples()}
    for split in ("train", "test"):
        rows = [tags for s, tags in SAMPLES if s == split]
        for tag in ("a", "b", "c", "unused"):
            n = sum(tag in tags for tags in rows)
            assert got[(split, tag)] == (n, pytest.approx(100 * n / len(rows))), (split, tag)


def test_cooccurrence_matches_brute_force():
    matrix = dist.cooccurrence(_tag_sets(), ["c", "b", "a"])
    assert list(matrix.index) == ["c", "b", "a"] == list(matrix.columns)
    expected = Counter()
    for _, tags in SAMPLES:
        for x, y in itertools.product(set(tags), repeat=2):
            expected[x, y] += 1
    for x, y in itertools.product("abc", repeat=2):
        assert matrix.loc[x, y] == expected[x, y], (x, y)
    assert (matrix.to_numpy() == matrix.to_numpy().T).all()


def test_tags_per_sample_counts_untagged_samples():
    per_sample = dist.tags_per_sample(_tag_sets())
    assert per_sample.to_dict() == {0: 1, 1: 2, 2: 3, 3: 1}


def test_box_geometry_in_pixels_and_relative():
    geometry = dist.box_geometry([0.5, 0.1], [0.25, 0.2], image_widths=[200, 0], image_heights=[100, 0])
    first, second = geometry.iloc[0], geometry.iloc[1]
    assert first["rel_area"] == pytest.approx(0.125)
    assert first["size_px"] == pytest.approx(np.sqrt(100 * 25))  # a 100 x 25 px box
    assert first["aspect"] == pytest.approx(4.0)
    assert np.isnan(second["size_px"])  # unknown image size: no pixels
    assert second["aspect"] == pytest.approx(0.5)  # relative w / h


def test_box_summary():
    geometry = dist.box_geometry([0.1, 0.1, 0.5], [0.1, 0.1, 0.5], [100] * 3, [100] * 3)
    summary = dist.box_summary({0: 2, 1: 1, 2: 1}, geometry)
    assert (summary.images, summary.boxes, summary.images_without_boxes, summary.boxes_per_image_max) == (4, 3, 2, 2)
    assert summary.boxes_per_image_mean == pytest.approx(0.75)
    assert summary.median_size_px == pytest.approx(10.0)
    assert summary.small_share == pytest.approx(2 / 3)  # two 10 px boxes, one 50 px box


def test_compare_distributions_and_describe_shift():
    truth = pd.DataFrame({"label": ["a", "b", "c"], "count": [50, 30, 20], "percent": [50.0, 30.0, 20.0]})
    pred = pd.DataFrame({"label": ["a", "b", "d"], "count": [70, 20, 10], "percent": [70.0, 20.0, 10.0]})
    comparison = dist.compare_distributions(truth, pred).set_index("label")
    assert comparison.loc["a", "shift"] == pytest.approx(20.0)
    assert comparison.loc["c", "count_predicted"] == 0 and comparison.loc["d", "count_truth"] == 0
    assert comparison.index[0] == "a"  # the largest shift first
    words = dist.describe_shift(comparison.reset_index())
    assert "over-predicts 'a' (+20.0 pts)" in words and "under-predicts 'c' (-20.0 pts)" in words
    assert "match" in dist.describe_shift(dist.compare_distributions(truth, truth))


def test_empty_inputs_give_empty_tables():
    empty = dist.tag_sets_table([])
    assert dist.tag_counts(empty, classes=["a"])["count"].tolist() == []
    assert dist.cooccurrence(empty, ["a", "b"]).to_numpy().tolist() == [[0, 0], [0, 0]]
    table = dist.distribution_table(_counts([]), classes=["a"], totals={})
    assert len(dist.combine_splits(table, total=0)) == 0
