"""Out-of-fold predicted probabilities: every labeled row is predicted by a model that never saw its label.

A k-fold cross-validated classifier (centred features scaled with a floor, see :class:`FlooredScaler`, + an
L2-regularised logistic regression by default) gives each labeled row its probabilities from the fold model
trained without it; rows without a label get theirs from one model fitted on all labeled rows.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_C = 0.05
SCALE_FLOOR_QUANTILE = 0.9


class FlooredScaler(BaseEstimator, TransformerMixin):
    """Centre each feature and divide by max(its std, the ``floor_quantile`` of all feature stds).

    Per-feature standardisation divides by each feature's own spread, so a feature that is almost always
    constant (a pixel inked in 1 image of 1,000) is blown up to the weight of the busiest ones (up to 117x
    on MNIST) and a single stroke there decides the class with confidence 1.000. The floor keeps rare
    features at their natural scale: no feature is amplified beyond the typical busy one.
    """

    def __init__(self, floor_quantile: float = SCALE_FLOOR_QUANTILE):
        self.floor_quantile = floor_quantile

    def fit(self, X, y=None):
        """Learn the means and floored scales of ``X``."""
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        floor = float(np.quantile(std, self.floor_quantile)) if std.size else 1.0
        self.scale_ = np.maximum(std, floor if floor > 0 else 1.0)
        return self

    def transform(self, X):
        """``X`` centred and scaled."""
        return ((np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_).astype(np.float32)


def default_classifier(C: float = DEFAULT_C, max_iter: int = 300) -> Pipeline:
    """FlooredScaler + L2 logistic regression (strong regularisation ``C``: stable on small classes)."""
    return Pipeline([("scale", FlooredScaler()),
                     ("lr", LogisticRegression(C=C, max_iter=max_iter, tol=1e-3))])


def standardised_classifier(C: float = 0.05, max_iter: int = 300) -> Pipeline:
    """The former default (per-feature StandardScaler + logistic regression), kept for before/after comparisons."""
    return Pipeline([("scale", StandardScaler()),
                     ("lr", LogisticRegression(C=C, max_iter=max_iter, tol=1e-3))])


def _check_inputs(X: np.ndarray, n: int) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or len(X) != n:
        raise ValueError(f"Features must be a 2-D array with one row per label; got shape {X.shape} for {n} labels.")
    if not np.isfinite(X).all():
        bad = int((~np.isfinite(X)).any(axis=1).sum())
        raise ValueError(f"{bad} feature rows contain NaN or infinity. Fix: recompute the embeddings for those "
                         "samples (or drop them) before predicting.")
    return X


def _n_splits(folds: int, n_labeled: int) -> int:
    if folds < 2:
        raise ValueError(f"folds must be at least 2 (got {folds}).")
    return max(2, min(folds, n_labeled))


def small_class_notes(y, folds: int = 5) -> dict[str, str]:
    """Per class with fewer labeled samples than ``folds``: a plain note on how far its predictions go."""
    values, counts = np.unique([str(v) for v in y if v is not None and v != ""], return_counts=True)
    notes = {}
    for c, n in zip(values.tolist(), counts.tolist()):
        if n == 1:
            notes[c] = (f"class {c!r} has 1 labeled sample: no model trained without it has seen the class, so its "
                        "probability is 0 and it will look like a label error. Fix: label more samples of it or "
                        "merge it into another class.")
        elif n < folds:
            notes[c] = (f"class {c!r} has {n} labeled samples, fewer than {folds} folds: each is predicted by a "
                        f"model that saw only {n - 1} of them, so its scores are rough. Fix: label more of it.")
    return notes


def out_of_fold_proba(X, y, classes: list[str] | None = None, folds: int = 5, classifier=None,
                      seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(probabilities n×k, class names) for labels ``y`` (None or "" = unlabeled), columns in ``classes`` order.

    Classes with fewer rows than folds are kept (:func:`small_class_notes` says what that means for each); when
    every class is smaller than ``folds``, fewer folds are used (the largest class's size, at least 2). In a fold
    whose training part lacks a class, that class gets probability 0 (the model cannot predict what it never saw). Classes in ``classes`` absent from
    ``y`` get a zero column.
    """
    y = np.array([None if v is None or v == "" else str(v) for v in y], dtype=object)
    X = _check_inputs(X, len(y))
    labeled = np.array([v is not None for v in y])
    present = sorted(set(y[labeled]))
    classes = list(classes) if classes is not None else present
    unknown = sorted(set(present) - set(classes))
    if unknown:
        raise ValueError(f"Labels {unknown} are not among the classes {classes}. Fix: add them to the class list.")
    if len(present) < 2:
        raise ValueError(f"Need labeled samples of at least 2 classes to train a classifier; found {present}. "
                         "Fix: label more samples.")
    index = {c: i for i, c in enumerate(classes)}
    codes = np.array([index[v] for v in y[labeled]])
    # stratified folds need one class with at least as many rows as folds: use fewer folds when none has
    n_splits = min(_n_splits(folds, int(labeled.sum())), max(2, int(np.bincount(codes).max())))
    model = clone(classifier) if classifier is not None else default_classifier()
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        warnings.filterwarnings("ignore", message="Number of classes in training fold", category=RuntimeWarning)
        oof = cross_val_predict(model, X[labeled], codes, cv=cv, method="predict_proba")
    proba = np.zeros((len(y), len(classes)), dtype=np.float64)
    seen = np.unique(codes)  # cross_val_predict orders columns by the sorted codes present
    proba[np.flatnonzero(labeled)[:, None], seen[None, :]] = oof
    if (~labeled).any():
        model.fit(X[labeled], codes)
        proba[np.flatnonzero(~labeled)[:, None], model.classes_[None, :]] = model.predict_proba(X[~labeled])
    return proba, classes


def out_of_fold_multilabel_proba(X, Y, folds: int = 5, classifier=None, seed: int = 0) -> np.ndarray:
    """Out-of-fold per-tag probabilities n×k for a 0/1 tag matrix ``Y`` (one-vs-rest, plain k-fold)."""
    Y = np.asarray(Y, dtype=int)
    X = _check_inputs(X, len(Y))
    constant = [j for j in range(Y.shape[1]) if Y[:, j].min() == Y[:, j].max()]
    if constant:
        raise ValueError(f"Tag columns {constant} are on every sample or on none: nothing to learn. "
                         "Fix: drop those tags or label more samples.")
    model = OneVsRestClassifier(clone(classifier) if classifier is not None else default_classifier())
    cv = KFold(n_splits=_n_splits(folds, len(Y)), shuffle=True, random_state=seed)
    return cross_val_predict(model, X, Y, cv=cv, method="predict_proba")
