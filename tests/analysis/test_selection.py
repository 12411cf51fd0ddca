"""Selection strategies on hand-made arrays: budgets, balance, coverage, duplicates and uncertainty orders."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import entropy as scipy_entropy

from sda2.analysis import active_learning as S

ALL = list(S.STRATEGIES)


def blobs(sizes, spread=0.05, seed=0, dims=2):
    """Tight Gaussian blobs with centres 10 apart; (points, blob of each point)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(sizes), dims)) * 10
    X = np.concatenate([c + spread * rng.normal(size=(n, dims)) for c, n in zip(centres, sizes)])
    return X.astype(np.float32), np.repeat(np.arange(len(sizes)), sizes)


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(1)
    X, blob = blobs([60, 40, 30, 20, 10])
    return {"embeddings": X, "probabilities": rng.dirichlet(np.ones(4), size=len(X)), "labels": blob.astype(str)}


@pytest.mark.parametrize("strategy", ALL)
def test_budget_respected_no_repeats_and_labeled_or_excluded_never_picked(strategy, inputs):
    n = len(inputs["labels"])
    labeled, exclude = np.arange(0, n, 7), np.arange(3, n, 11)
    picked = S.select(strategy, 40, **inputs, labeled=labeled, exclude=exclude, seed=3)
    assert len(picked) == 40 and len(set(picked.tolist())) == 40
    assert not set(picked.tolist()) & (set(labeled.tolist()) | set(exclude.tolist()))
    assert np.array_equal(picked, S.select(strategy, 40, **inputs, labeled=labeled, exclude=exclude, seed=3))
    eligible = n - len(set(labeled.tolist()) | set(exclude.tolist()))
    everything = S.select(strategy, 10_000, **inputs, labeled=labeled, exclude=exclude)
    assert sorted(everything.tolist()) == sorted(set(range(n)) - set(labeled.tolist()) - set(exclude.tolist()))
    assert len(everything) == eligible


def test_class_balanced_evens_out_the_classes_as_far_as_the_pool_allows():
    labels = np.array(["a"] * 500 + ["b"] * 100 + ["c"] * 5, dtype=object)
    picked = S.class_balanced(labels, 61, seed=0)
    counts = {c: int((labels[picked] == c).sum()) for c in "abc"}
    assert counts == {"a": 28, "b": 28, "c": 5}  # c has only 5; a and b share the rest evenly
    first = labels[picked[:15]]  # water-filling: after 15 picks every class has 5
    assert {c: int((first == c).sum()) for c in "abc"} == {"a": 5, "b": 5, "c": 5}


def test_class_balanced_counts_labeled_rows_and_refuses_unlabeled_candidates():
    labels = np.array(["a"] * 50 + ["b"] * 50, dtype=object)
    picked = S.class_balanced(labels, 10, labeled=np.arange(10))  # ten "a" are labeled already
    assert (labels[picked] == "b").all()
    labels[60] = None
    with pytest.raises(ValueError, match="1 candidate rows have no label.*predicted labels"):
        S.class_balanced(labels, 5)
    assert S.select("class_balanced", 20, probabilities=np.eye(4)[np.arange(100) % 4] * 0.7 + 0.075).size == 20


def test_k_center_on_a_hand_made_line():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [10.0]])
    assert S.k_center(X, 2, labeled=[0]).tolist() == [4, 3]  # farthest from 0 is 10; then 3 (3 from 0, 7 from 10)
    assert S.k_center(X, 3, labeled=[0]).tolist() == [4, 3, 1]  # ties at distance 1 (1 and 2): the first row


def test_k_center_covering_radius_beats_random_on_clustered_data():
    X, blob = blobs([1000, 20, 20, 20, 20, 20, 20, 20, 20, 20], seed=2)
    for seed in range(5):
        centres = S.k_center(X, 10, seed=seed)
        assert sorted(blob[centres].tolist()) == list(range(10))  # one per blob, small blobs included
        ours = S.nearest_selected_distance(X, centres).max()
        theirs = S.nearest_selected_distance(X, S.random_rows(len(X), 10, seed=seed)).max()
        assert ours < 0.5 and theirs > 5  # within a blob vs a whole blob missed
        cov = S.coverage(X, centres, seed=seed)
        assert cov["covering_radius"] == pytest.approx(ours)
        assert cov["covering_radius"] < cov["random_covering_radius"]


def test_uncertainty_orders_match_hand_computed_scores():
    P = np.array([[0.5, 0.5, 0.0],   # least confidence .5, margin gap 0, entropy .693
                  [0.4, 0.3, 0.3],   # .6, gap .1, 1.089
                  [0.7, 0.2, 0.1],   # .3, gap .5, .802
                  [0.98, 0.01, 0.01]])  # .02, gap .97, .112
    assert S.uncertainty(P, 4, method="least_confidence").tolist() == [1, 0, 2, 3]
    assert S.uncertainty(P, 4, method="margin").tolist() == [0, 1, 2, 3]
    assert S.uncertainty(P, 4, method="entropy").tolist() == [1, 2, 0, 3]
    assert np.allclose(S.uncertainty_scores(P, "entropy"), scipy_entropy(P, axis=1))
    assert np.allclose(S.uncertainty_scores(P, "least_confidence"), [0.5, 0.6, 0.3, 0.02])
    assert S.select("least_confidence", 2, probabilities=P, labeled=[1]).tolist() == [0, 2]


def test_uncertainty_picks_the_least_confident_rows_of_many():
    rng = np.random.default_rng(4)
    P = rng.dirichlet(np.ones(10) * 0.3, size=2000)
    picked = S.uncertainty(P, 100, method="least_confidence")
    assert set(picked.tolist()) == set(np.argsort(P.max(axis=1))[:100].tolist())


def test_hybrid_takes_uncertain_rows_spread_over_the_clusters():
    X, blob = blobs([50, 50, 100], seed=5)
    P = np.tile([0.5, 0.5], (200, 1))
    P[100:] = [0.99, 0.01]  # the third blob is certain
    picked = S.hybrid(X, P, 2, candidates=5)
    assert sorted(blob[picked].tolist()) == [0, 1]  # uncertain, and one from each uncertain blob
    assert len(S.hybrid(X, P, 150)) == 150


@pytest.mark.parametrize("strategy", ALL)
def test_duplicate_aware_never_picks_two_of_a_group(strategy, inputs):
    n = len(inputs["labels"])
    groups = np.full(n, -1)
    groups[: 2 * 60] = np.repeat(np.arange(60), 2)  # 60 pairs, 40 singles
    picked = S.select(strategy, 80, **inputs, duplicate_groups=groups, seed=1)
    assert len(picked) == 80  # 60 groups + 40 singles = 100 distinct choices
    chosen = groups[picked]
    assert len(set(chosen[chosen >= 0].tolist())) == int((chosen >= 0).sum())
    everything = S.select(strategy, 500, **inputs, duplicate_groups=groups)
    assert len(everything) == 100


def test_duplicate_aware_skips_a_group_with_a_labeled_member_and_refills_the_budget():
    P = np.array([[0.5, 0.5]] * 4 + [[0.9, 0.1]] * 4)  # rows 0-3 most uncertain
    groups = np.array([7, 7, 7, 3, 3, -1, -1, -1])
    picked = S.select("margin", 3, probabilities=P, duplicate_groups=groups)
    assert 3 in picked[:2] and len(set(picked[:2].tolist()) & {0, 1, 2}) == 1 and picked[2] in (5, 6, 7)
    picked = S.select("margin", 3, probabilities=P, duplicate_groups=groups, labeled=[2])
    assert picked[0] == 3 and not set(picked.tolist()) & {0, 1, 2, 4}


def test_select_names_missing_and_misaligned_inputs(inputs):
    with pytest.raises(ValueError, match=r"'hybrid' needs embeddings=.*and probabilities="):
        S.select("hybrid", 5, labels=inputs["labels"])
    with pytest.raises(ValueError, match=r"'class_balanced' needs labels= \(given labels\) or probabilities="):
        S.select("class_balanced", 5, embeddings=inputs["embeddings"])
    with pytest.raises(ValueError, match="different numbers of rows.*embeddings: 160.*probabilities: 10"):
        S.select("hybrid", 5, embeddings=inputs["embeddings"], probabilities=inputs["probabilities"][:10])
    with pytest.raises(ValueError, match="Unknown selection strategy 'smart'.*random, class_balanced"):
        S.select("smart", 5, labels=inputs["labels"])
    with pytest.raises(ValueError, match="whole number >= 1"):
        S.select("random", 0, labels=inputs["labels"])
    with pytest.raises(ValueError, match="not distributions.*not logits"):
        S.select("margin", 5, probabilities=np.log(inputs["probabilities"]))
    bad = inputs["embeddings"].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="1 embedding rows hold NaN"):
        S.select("diversity", 5, embeddings=bad)
    with pytest.raises(ValueError, match="duplicate_groups has 3 entries for 160 rows"):
        S.select("random", 5, labels=inputs["labels"], duplicate_groups=[1, 2, 3])


def test_coverage_of_everything_and_of_nothing():
    X, _ = blobs([30, 30])
    cov = S.coverage(X, np.ones(len(X), dtype=bool))
    assert cov["share_within_radius"] == 1.0 and cov["mean_distance"] == 0.0 and cov["covering_radius"] == 0.0
    with pytest.raises(ValueError, match="selection is empty"):
        S.coverage(X, [])
