"""Out-of-fold probabilities: aligned, honest (no row sees its own label), robust to tiny classes."""

import numpy as np
import pytest
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier

from sda2.analysis.oof import (
    C_GRID,
    default_classifier,
    out_of_fold_multilabel_proba,
    out_of_fold_proba,
    reduced_features,
)


def blobs(n_per_class=40, classes=("a", "b", "c"), d=5, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 4, size=(len(classes), d))
    X = np.concatenate([c + rng.normal(size=(n_per_class, d)) for c in centers])
    y = np.repeat(list(classes), n_per_class)
    return X, y


def test_matches_cross_val_predict_and_keeps_class_order():
    X, y = blobs()
    classes = ["c", "a", "b", "unseen"]
    chosen = {}
    proba, out_classes = out_of_fold_proba(X, y, classes, folds=4, seed=3, details=chosen)
    assert out_classes == classes and proba.shape == (len(y), 4)
    assert chosen["C"] in C_GRID and chosen["dims"] == 5  # 5 features: nothing to reduce
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    assert (proba[:, 3] == 0).all()  # a class with no samples gets a zero column
    codes = np.array([classes.index(v) for v in y])
    ref = cross_val_predict(default_classifier(C=chosen["C"]), X.astype(np.float32), codes,
                            cv=StratifiedKFold(4, shuffle=True, random_state=3), method="predict_proba")
    np.testing.assert_allclose(proba[:, :3], ref, atol=1e-6)
    assert (np.asarray(classes)[proba.argmax(1)] == y).mean() > 0.95


def test_predictions_come_from_models_that_never_saw_the_label():
    # Random labels on high-dimensional noise: a model fitted on a row memorises it; out-of-fold cannot.
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(200, 400)), rng.choice(["x", "y"], size=200)
    proba, classes = out_of_fold_proba(X, y, folds=5)
    in_sample = default_classifier(C=10).fit(X, y).predict(X)
    assert (in_sample == y).mean() > 0.95
    assert (np.asarray(classes)[proba.argmax(1)] == y).mean() < 0.65


def test_class_with_fewer_samples_than_folds():
    X, y = blobs(n_per_class=30)
    X = np.vstack([X, [[9.0] * 5], [[9.5] * 5]])
    y = np.concatenate([y, ["rare_one", "rare_two"]])
    proba, classes = out_of_fold_proba(X, y, folds=5)
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-6)
    # a class with a single sample is never in the training part of that sample's fold
    assert proba[-2, classes.index("rare_one")] == 0
    assert proba[-1, classes.index("rare_two")] == 0


def test_unlabeled_rows_get_a_model_fitted_on_all_labels():
    X, y = blobs()
    y = y.astype(object)
    y[::7] = None
    chosen = {}
    proba, classes = out_of_fold_proba(X, y, folds=3, details=chosen)
    unl = np.array([v is None for v in y])
    full = default_classifier(C=chosen["C"]).fit(X[~unl].astype(np.float32), y[~unl].astype(str))
    np.testing.assert_allclose(proba[unl], full.predict_proba(X[unl].astype(np.float32)), atol=1e-6)


@pytest.mark.parametrize("X, y, message", [
    (np.zeros((4, 2)), ["a"] * 4, "at least 2 classes"),
    (np.array([[np.nan, 1], [1, 1], [0, 0], [1, 0]]), ["a", "b", "a", "b"], "NaN"),
    (np.zeros((3, 2)), ["a", "b", "a", "b"], "one row per label"),
])
def test_bad_input_is_named(X, y, message):
    with pytest.raises(ValueError, match=message):
        out_of_fold_proba(X, y)


def test_unknown_label_is_named():
    X, y = blobs()
    with pytest.raises(ValueError, match="not among the classes"):
        out_of_fold_proba(X, y, classes=["a", "b"])


def test_multilabel_matches_one_vs_rest_reference():
    X, y = blobs(classes=("a", "b", "c", "d"))
    Y = np.stack([np.isin(y, ["a", "b"]), np.isin(y, ["b", "c"])], axis=1).astype(int)
    proba = out_of_fold_multilabel_proba(X, Y, folds=4, seed=2)
    ref = cross_val_predict(OneVsRestClassifier(default_classifier()), X.astype(np.float32), Y,
                            cv=KFold(4, shuffle=True, random_state=2), method="predict_proba")
    np.testing.assert_allclose(proba, ref, atol=1e-6)
    assert ((proba >= 0.5) == Y).mean() > 0.95
    with pytest.raises(ValueError, match="on every sample or on none"):
        out_of_fold_multilabel_proba(X, np.c_[Y, np.ones(len(Y), dtype=int)])


def test_regularisation_is_chosen_by_out_of_fold_log_loss():
    # 300 wide rows where only the first feature carries the class and 30 % of labels are flipped: the
    # stronger-regularised model generalises better, and its out-of-fold log-loss says so
    rng = np.random.default_rng(4)
    y = rng.choice(["a", "b"], size=300)
    X = rng.normal(size=(300, 120))
    X[:, 0] += np.where(y == "a", 1.5, -1.5)
    noisy = np.where(rng.random(300) < 0.3, np.where(y == "a", "b", "a"), y)
    chosen = {}
    out_of_fold_proba(X, noisy, folds=5, details=chosen)
    assert set(chosen["log_loss"]) == {str(c) for c in C_GRID}
    assert chosen["C"] == min(C_GRID, key=lambda c: chosen["log_loss"][str(c)])
    assert chosen["log_loss"][str(chosen["C"])] < max(chosen["log_loss"].values())


def test_wide_features_are_projected_onto_their_top_components():
    rng = np.random.default_rng(5)
    low = rng.normal(size=(400, 3)) * [10.0, 5.0, 2.0]
    X = low @ rng.normal(size=(3, 300)) + 0.01 * rng.normal(size=(400, 300))
    Z = reduced_features(X, dims=8)
    assert Z.shape == (400, 8)
    # three directions hold the data: the first three components carry almost all the variance
    variance = Z.var(axis=0)
    assert variance[:3].sum() / variance.sum() > 0.99
    assert reduced_features(X[:, :8], dims=8).shape == (400, 8)  # not wider than dims: unchanged
    np.testing.assert_array_equal(reduced_features(X[:, :8], dims=8), X[:, :8].astype(np.float32))
