"""Label-error detection on arrays: against cleanlab on the same inputs, and known answers on hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest
from cleanlab.filter import find_label_issues as cl_find_label_issues
from cleanlab.multilabel_classification.filter import find_label_issues as cl_find_multilabel
from cleanlab.multilabel_classification.rank import get_label_quality_scores as cl_multilabel_quality
from cleanlab.rank import get_label_quality_scores as cl_quality
from scipy.stats import spearmanr
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import cross_val_predict

from sda2.analysis.label_issues import (box_iou, confident_joint, find_detection_issues, find_label_issues,
                                        find_multilabel_issues)


def noisy_problem(n: int, k: int, noise: float, seed: int = 0):
    """Synthetic probabilities from a decent model, with ``noise`` of the labels flipped; returns flips too."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), truth] += 2.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = truth.copy()
    flip = rng.random(n) < noise
    labels[flip] = (truth[flip] + rng.integers(1, k, flip.sum())) % k
    return labels, probs, flip


@pytest.mark.parametrize("n,k", [(3000, 5), (800, 3), (5000, 10)])
def test_flags_match_cleanlab(n, k):
    labels, probs, _ = noisy_problem(n, k, 0.1, seed=n)
    ours = find_label_issues(labels, probs)["is_label_issue"].to_numpy()
    reference = cl_find_label_issues(labels, probs, n_jobs=1)
    assert ours.sum() > 0
    assert (ours == reference).mean() >= 0.999


@pytest.mark.parametrize("method", ["self_confidence", "normalized_margin"])
def test_quality_matches_cleanlab(method):
    labels, probs, _ = noisy_problem(2000, 6, 0.1)
    ours = find_label_issues(labels, probs, rank_by=method)["label_quality"].to_numpy()
    np.testing.assert_allclose(ours, cl_quality(labels, probs, method=method), atol=1e-12)


def test_real_digits_flips_found_like_cleanlab():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(1)
    flip = rng.random(len(y)) < 0.08
    noisy = y.copy()
    noisy[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    probs = cross_val_predict(LogisticRegression(max_iter=300), X / 16, noisy, cv=5, method="predict_proba")
    frame = find_label_issues(noisy, probs)
    ours = frame["is_label_issue"].to_numpy()
    reference = cl_find_label_issues(noisy, probs, n_jobs=1)
    assert (ours == reference).all()
    assert (ours & flip).sum() / flip.sum() >= 0.7  # recall of the flags
    assert (ours & flip).sum() / ours.sum() >= 0.7  # precision of the flags
    ap = average_precision_score(flip, -frame["label_quality"])
    assert ap >= 0.7
    assert spearmanr(frame["label_quality"], cl_quality(noisy, probs)).statistic > 0.999
    # the suggestion restores the true class for most flagged flips
    restored = frame.loc[ours & flip, "suggested_label"].astype(int).to_numpy() == y[ours & flip]
    assert restored.mean() >= 0.8


def test_known_answer_small():
    # class 0: three clear, one labeled 0 that the model is sure is 1; class 1: three clear
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.85, 0.15], [0.05, 0.95],
                      [0.1, 0.9], [0.2, 0.8], [0.15, 0.85]])
    labels = ["cat", "cat", "cat", "cat", "dog", "dog", "dog"]
    frame = find_label_issues(labels, probs, classes=["cat", "dog"])
    assert frame["is_label_issue"].tolist() == [False, False, False, True, False, False, False]
    assert frame.loc[3, "suggested_label"] == "dog"
    assert frame.loc[3, "given_label"] == "cat"
    assert frame["label_quality"].idxmin() == 3
    assert frame.loc[3, "label_quality"] == pytest.approx(0.05)
    # thresholds: mean self-confidence per class
    assert frame.attrs["thresholds"] == pytest.approx([(0.9 + 0.8 + 0.85 + 0.05) / 4, (0.9 + 0.8 + 0.85) / 3])
    assert frame.attrs["estimated_issues"] == 1
    np.testing.assert_array_equal(confident_joint(np.array([0, 0, 0, 0, 1, 1, 1]), probs), [[3, 1], [0, 3]])


def test_clean_labels_flag_nothing():
    probs = np.eye(3)[[0, 1, 2, 0, 1, 2]] * 0.9 + 0.1 / 3
    frame = find_label_issues(np.array([0, 1, 2, 0, 1, 2]), probs)
    assert not frame["is_label_issue"].any()
    assert frame["suggested_label"].tolist() == ["0", "1", "2", "0", "1", "2"]


@pytest.mark.parametrize("labels,probs,classes,message", [
    ([0, 1], [[0.5, 0.5]], None, "aligned"),
    ([0, 1], [[np.nan, 1.0], [0.5, 0.5]], None, "NaN"),
    ([0, 1], [[2.0, -1.0], [0.5, 0.5]], None, "logits"),
    ([0, 1], [[0.5, 0.4], [0.5, 0.5]], None, "sum to 1"),
    (["a", "b"], [[0.5, 0.5], [0.5, 0.5]], None, "classes="),
    (["a", "z"], [[0.5, 0.5], [0.5, 0.5]], ["a", "b"], "not among the classes"),
    ([0, 5], [[0.5, 0.5], [0.5, 0.5]], None, "outside"),
    ([0, 1], [[0.5, 0.5], [0.5, 0.5]], ["a", "b", "c"], "3 classes given"),
])
def test_bad_input_is_named(labels, probs, classes, message):
    with pytest.raises(ValueError, match=message):
        find_label_issues(labels, np.asarray(probs), classes)


def multilabel_problem(n: int = 3000, k: int = 4, seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = rng.random((n, k)) < 0.3
    probs = np.where(truth, rng.beta(5, 2, (n, k)), rng.beta(2, 5, (n, k)))
    given = truth.copy()
    flips = rng.random((n, k)) < 0.03
    given[flips] = ~given[flips]
    return given, probs, flips


def test_multilabel_matches_cleanlab():
    given, probs, flips = multilabel_problem()
    tags = [[int(j) for j in np.flatnonzero(row)] for row in given]
    frame = find_label_issues(tags, probs)  # tag lists dispatch to the multi-label variant
    reference = cl_find_multilabel(tags, probs, n_jobs=1)
    assert (frame["is_label_issue"].to_numpy() == reference).mean() >= 0.999
    np.testing.assert_allclose(frame["label_quality"], cl_multilabel_quality(tags, probs), atol=1e-12)
    found = frame["is_label_issue"].to_numpy()
    assert (found & flips.any(axis=1)).sum() / flips.any(axis=1).sum() >= 0.5
    # the 0/1 matrix form gives the same answer
    matrix = find_multilabel_issues(given.astype(int), probs)
    assert (matrix["is_label_issue"] == frame["is_label_issue"]).all()


def test_multilabel_known_answer():
    rng = np.random.default_rng(3)
    n = 200
    has_cat = rng.random(n) < 0.5
    probs = np.column_stack([np.where(has_cat, 0.9, 0.1), np.full(n, 0.2)]) + rng.normal(0, 0.01, (n, 2))
    probs[:, 1] = np.where(np.arange(n) % 2 == 0, 0.85, 0.1)
    tags = [(["cat"] if c else []) + (["dog"] if i % 2 == 0 else []) for i, c in enumerate(has_cat)]
    wrong = int(np.flatnonzero(has_cat)[0])
    tags[wrong] = [t for t in tags[wrong] if t != "cat"]  # the cat tag was forgotten here
    frame = find_label_issues(tags, np.clip(probs, 0, 1), classes=["cat", "dog"])
    assert frame["is_label_issue"].sum() == 1
    assert frame.loc[wrong, "missing_tags"] == ["cat"]
    assert "cat" in frame.loc[wrong, "suggested_label"]
    assert frame["label_quality"].idxmin() == wrong


def test_box_iou():
    a = np.array([[0, 0, 0.5, 0.5]])
    b = np.array([[0, 0, 0.5, 0.5], [0.25, 0, 0.5, 0.5], [0.6, 0.6, 0.2, 0.2]])
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 1 / 3, 0.0]])


def test_detection_hints_known_answers():
    box = [0.1, 0.1, 0.3, 0.3]
    moved = [0.25, 0.25, 0.3, 0.3]  # IoU with box ~0.22
    far = [0.6, 0.6, 0.3, 0.3]
    gt_labels = [["cat"], ["cat"], ["cat"], [], ["cat"]]
    gt_boxes = [[box], [box], [box], [], [box]]
    pred_labels = [["cat"], ["dog"], ["cat"], ["dog"], []]
    pred_boxes = [[box], [box], [moved], [far], []]
    pred_conf = [[0.95], [0.9], [0.8], [0.7], []]
    frame = find_detection_issues(gt_labels, gt_boxes, pred_labels, pred_boxes, pred_conf)
    kinds = [[h["kind"] for h in hints] for hints in frame["label_hints"]]
    assert kinds == [[], ["wrong_class"], ["badly_placed"], ["missing"], ["spurious"]]
    assert frame["is_label_issue"].tolist() == [False, True, True, True, True]
    assert frame.loc[0, "label_quality"] == 1.0
    assert frame.loc[1, "label_quality"] == pytest.approx(0.1)
    assert frame.loc[1, "label_hints"][0]["suggested_label"] == "dog"
    assert frame.loc[2, "label_hints"][0]["suggested_box"] == moved
    assert frame.loc[3, "label_hints"][0]["suggested_label"] == "dog"
    assert frame.loc[3, "label_quality"] == pytest.approx(0.3)
    assert frame.loc[1, "suggested_label"] == "wrong class cat→dog"
    # a low-confidence prediction is no evidence: the unmatched box is only a weak "spurious" hint
    weak = find_detection_issues([["cat"]], [[box]], [["cat"]], [[far]], [[0.2]])
    assert weak.loc[0, "label_hints"][0]["kind"] == "spurious"


def test_detection_input_lengths_checked():
    with pytest.raises(ValueError, match="one entry"):
        find_detection_issues([["cat"]], [], [[]], [[]], [[]])


def test_empty_input_gets_a_clear_message():
    with pytest.raises(ValueError, match="No samples: labels is empty"):
        find_label_issues([], np.zeros((0, 3)))
