"""Selection on a real database: a copy of the digits fixture with pixel embeddings and out-of-fold predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fiftyone import ViewField as F

from sda2 import arrays, store
from sda2.explore import label_next as sel
from sda2.analysis.active_learning import STRATEGIES
from sda2.compute import projection
from sda2.compute.predictions import compute_predictions


def pixel_features(dataset) -> None:
    """Store the 8x8 digits' pixels (their ``source_index`` into sklearn's digits) as ``embeddings_pixels``."""
    from sklearn.datasets import load_digits

    ids, index = dataset.values(["id", "source_index"])
    arrays.save(dataset.name, "embeddings_pixels", ids, load_digits().data[np.asarray(index)].astype(np.float32),
                kind="embeddings", model="pixels", dim=64)


@pytest.fixture(scope="module")
def ready(digits):
    """A persistent digits copy with embeddings, predictions and a PCA map (shared by the read-only tests)."""
    name = "t_selection_ready"
    if name in store.list_datasets():
        store.delete_dataset(name)
    ds = digits.clone(name, persistent=True)
    pixel_features(ds)
    compute_predictions(ds)
    projection.compute_map(ds, method="pca")
    yield ds
    store.delete_dataset(name)


@pytest.fixture
def ds(digits, dataset_name):
    """A fresh persistent digits copy for tests that write tags, views or fields."""
    return digits.clone(dataset_name, persistent=True)


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_strategy_returns_budget_distinct_pool_ids(ready, strategy):
    test_ids = set(ready.match(F("split") == "test").values("id"))
    ids = sel.select_samples(ready.name, strategy, 40, split="test")
    assert len(ids) == 40 and len(set(ids)) == 40 and set(ids) <= test_ids
    assert ids == sel.select_samples(ready, strategy, 40, split="test")  # same seed, same pick


def test_uncertainty_picks_the_least_confident_samples(ready):
    ids = sel.select_samples(ready.name, "least_confidence", 25)
    confidence = dict(zip(*ready.values(["id", "predictions.confidence"])))
    lowest = sorted(confidence, key=confidence.get)[:25]
    assert set(ids) == set(lowest)
    assert [confidence[i] for i in ids] == sorted(confidence[i] for i in ids)  # least confident first


def test_class_balanced_evens_out_a_skewed_pool(ready):
    labels = dict(zip(*ready.values(["id", "ground_truth.label"])))
    skewed = [i for i in ready.values("id") if labels[i] in "01" or int(labels[i]) % 3 == 0][:400]
    ids = sel.select_samples(ready.select(skewed), "class_balanced", 40, seed_with_labeled=False)
    counts = pd.Series([labels[i] for i in ids]).value_counts()
    assert counts.max() - counts.min() <= 1 and len(counts) == len({labels[i] for i in skewed})


def test_diversity_is_seeded_by_labeled_samples_outside_the_pool(ready):
    test = ready.match(F("split") == "test")
    plain = sel.select_samples(test, "diversity", 20, seed_with_labeled=False)
    seeded = sel.select_samples(test, "diversity", 20)
    assert plain != seeded
    _, X = arrays.load(ready.name, "embeddings_pixels", ids=ready.values("id"))
    train = np.asarray(X)[np.isin(ready.values("id"), ready.match(F("split") == "train").values("id"))]
    _, picked = arrays.load(ready.name, "embeddings_pixels", ids=seeded[:1])
    _, first_plain = arrays.load(ready.name, "embeddings_pixels", ids=plain[:1])
    far = lambda row: np.linalg.norm(train - row, axis=1).min()
    assert far(picked[0]) > far(first_plain[0])  # the seeded first pick is the test digit least like any labeled one


def test_pool_by_tag_and_saved_view(ds):
    pixel_features(ds)
    ids = ds.values("id")
    sel.save_selection(ds.name, ids[:300], tag="unlabeled", annotator="alice")
    sel.save_selection(ds.name, ids[200:500], saved_view="batch")
    assert sel.pool_choices(ds.name) == {"split": ["test", "train"], "tag": ["unlabeled"], "saved view": ["batch"]}
    picked = sel.select_samples(ds.name, "diversity", 30, tag="unlabeled")
    assert set(picked) <= set(ids[:300]) and len(picked) == 30
    picked = sel.select_samples(ds.name, "random", 1000, tag="unlabeled", saved_view="batch")
    assert sorted(picked) == sorted(ids[200:300])  # the budget exceeds the pool: all of it
    with pytest.raises(ValueError, match="pool is empty"):
        sel.select_samples(ds.name, "random", 5, tag="no-such-tag")


def test_duplicate_groups_are_respected(ds):
    pixel_features(ds)
    ids = ds.values("id")
    groups = [k // 2 if k < 1000 else -1 for k in range(len(ids))]  # 500 pairs
    ds.set_values("duplicate_group", groups)
    test_rows = set(ds.match(F("split") == "test").values("id"))
    picked = sel.select_samples(ds.name, "diversity", 300)
    group_of = dict(zip(ids, groups))
    chosen = [group_of[i] for i in picked if group_of[i] >= 0]
    assert len(picked) == 300 and len(chosen) == len(set(chosen))
    # a pair with one member labeled outside the pool (train) never gives its other member (test)
    picked = sel.select_samples(ds.name, "random", 400, split="test")
    train_groups = {group_of[i] for i in ids if i not in test_rows and group_of[i] >= 0}
    assert not {group_of[i] for i in picked} & train_groups
    assert len(sel.select_samples(ds.name, "random", 400, split="test", duplicate_aware=False)) == 360


def test_missing_inputs_say_what_to_compute(ds):
    assert sel.missing_inputs(ds.name, "random") == []
    (message,) = sel.missing_inputs(ds.name, "diversity")
    assert "needs embeddings" in message and f"sda2.compute_embeddings({ds.name!r}, model='pixels')" in message
    assert len(sel.missing_inputs(ds.name, "hybrid")) == 2
    pixel_features(ds)
    (message,) = sel.missing_inputs(ds.name, "margin")
    assert f"sda2.compute_predictions({ds.name!r})" in message
    with pytest.raises(ValueError, match="needs predicted probabilities"):
        sel.select_samples(ds.name, "entropy", 10)
    assert sel.missing_inputs(ds.name, "class_balanced") == []  # balanced by the given labels
    assert len(sel.select_samples(ds.name, "class_balanced", 30)) == 30


def test_save_export_and_compare(ds, tmp_path):
    pixel_features(ds)
    pool = ds.match(F("split") == "test").values("id")
    ids = sel.select_samples(ds.name, "diversity", 50, split="test", seed_with_labeled=False)
    assert sel.save_selection(ds.name, ids, tag="batch-1", saved_view="batch-1", annotator="alice") == 50
    fresh = store.open_dataset(ds.name)
    assert sorted(fresh.match_tags("batch-1").values("id")) == sorted(ids)
    assert sorted(fresh.load_saved_view("batch-1").values("id")) == sorted(ids)
    with pytest.raises(ValueError, match="tag=.*saved_view="):
        sel.save_selection(ds.name, ids)

    path = sel.export_selection(ds.name, ids, tmp_path / "out" / "batch-1.csv")
    table = pd.read_csv(path, dtype=str)
    assert list(table.columns) == ["rank", "id", "filepath", "label"]
    assert table["id"].tolist() == ids and table["rank"].tolist() == [str(k) for k in range(1, 51)]
    paths = dict(zip(*ds.values(["id", "filepath"])))
    assert table["filepath"].tolist() == [paths[i] for i in ids]

    comparison = sel.compare_selection(ds.name, ids, pool)
    classes = comparison.classes
    assert classes["class"].tolist() == [str(d) for d in range(10)]
    assert classes["pool"].sum() == len(pool) and classes["selected"].sum() == 50
    assert classes["pool_pct"].sum() == pytest.approx(100) and classes["selected_pct"].sum() == pytest.approx(100)
    assert comparison.points is None and comparison.space == "embeddings embeddings_pixels"
    assert comparison.coverage["covering_radius"] < comparison.coverage["random_covering_radius"]  # k-center
    projection.compute_map(ds, method="pca")
    comparison = sel.compare_selection(ds.name, ids, pool)
    assert comparison.space == "2-D map of embeddings_pixels" and len(comparison.points) == len(pool)
    assert comparison.points["selected"].sum() == 50 and "of the 360 pool samples" in comparison.summary()
    with pytest.raises(ValueError, match="not in the pool"):
        sel.compare_selection(ds.name, ids, pool[:10])


def test_class_balanced_uses_predictions_where_the_pool_is_unlabeled(ds):
    pixel_features(ds)
    test = ds.match(F("split") == "test")
    test.set_values("ground_truth", [None] * len(test))  # the pool to label next has no labels yet
    compute_predictions(ds)
    ids = sel.select_samples(ds.name, "class_balanced", 50, split="test", seed_with_labeled=False)
    predicted = dict(zip(*ds.values(["id", "predictions.label"])))
    counts = pd.Series([predicted[i] for i in ids]).value_counts()
    assert len(counts) == 10 and counts.max() - counts.min() <= 1  # five of each predicted class

    # counting the labeled train samples, the pick goes to the classes the train split has fewest of
    train = pd.Series(ds.match(F("split") == "train").values("ground_truth.label")).value_counts()
    ids = sel.select_samples(ds.name, "class_balanced", 50, split="test")
    total = train.add(pd.Series([predicted[i] for i in ids]).value_counts(), fill_value=0)
    assert total.max() - total.min() < train.max() - train.min()
    picks = pd.Series([predicted[i] for i in ids]).value_counts().reindex(train.index, fill_value=0)
    assert all(picks[a] >= picks[b] for a in train.index for b in train.index if train[a] < train[b])
