"""Out-of-fold predicted probabilities: every labeled row is predicted by a model that never saw its label.

A k-fold cross-validated classifier (centred features scaled with a floor, see :class:`FlooredScaler`, + an
L2-regularised logistic regression by default) gives each labeled row its probabilities from the fold model
trained without it; rows without a label get theirs from one model fitted on all labeled rows.

With no classifier given, :func:`out_of_fold_proba` first projects features wider than ``REDUCED_DIMS`` onto their
top principal components (fitted on all rows, labels unseen) and picks the regularisation from ``C_GRID`` by the
out-of-fold log-loss of the given labels. Measured on CIFAR-10N (first 20,000 photos, EfficientNet-Lite0
embeddings, trained on one worker's labels, 17 % wrong; scored against the true labels): accuracy 0.725 in
138 s on the 1,280 raw dimensions with C = 0.05, 0.787 in 30 s now (256 components; C = 0.01 chosen, both tried):
the wider, looser model learns the wrong labels. On all 50,000: 26 s where the former took 193 s. MNIST test
(10,000), 10 % of labels flipped: AP of the error ranking 0.984 -> 0.986 on EfficientNet-Lite0 embeddings,
0.909 -> 0.914 on raw pixels; on the clean labels accuracy 96.4 -> 96.2 % and 91.3 -> 91.2 % (C = 0.05 chosen,
as clean labels favour a looser model; hence the choice by log-loss).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

DEFAULT_C = 0.05
REDUCED_DIMS = 256  # wider features are projected onto this many principal components before the default model
C_GRID = (0.01, 0.05)  # the default model's regularisation, chosen per run by out-of-fold log-loss
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


def reduced_features(X, dims: int = REDUCED_DIMS, seed: int = 0) -> np.ndarray:
    """``X`` projected onto its top ``dims`` principal components (fitted on every row, no labels), or ``X`` as it
    is when it has at most ``dims`` columns or rows."""
    X = np.asarray(X, dtype=np.float32)
    if X.shape[1] <= dims or X.shape[0] <= dims:
        return X
    return PCA(dims, random_state=seed).fit_transform(X).astype(np.float32)


def _log_loss(proba: np.ndarray, codes: np.ndarray) -> float:
    return float(-np.log(np.clip(proba[np.arange(len(codes)), codes], 1e-12, None)).mean())


def out_of_fold_proba(X, y, classes: list[str] | None = None, folds: int = 5, classifier=None,
                      seed: int = 0, details: dict | None = None) -> tuple[np.ndarray, list[str]]:
    """(probabilities n×k, class names) for labels ``y`` (None or "" = unlabeled), columns in ``classes`` order.

    Classes with fewer rows than folds are kept (:func:`small_class_notes` says what that means for each); when
    every class is smaller than ``folds``, fewer folds are used (the largest class's size, at least 2). In a fold
    whose training part lacks a class, that class gets probability 0 (the model cannot predict what it never saw).
    Classes in ``classes`` absent from ``y`` get a zero column. With no ``classifier``: :func:`reduced_features`,
    then :func:`default_classifier` with the C of ``C_GRID`` whose out-of-fold log-loss is lowest (see the module
    doc); ``details``, when given, is filled with what was chosen (``classifier``, ``C``, ``dims``, ``log_loss``
    per C).
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
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)

    def predict(model):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
            warnings.filterwarnings("ignore", message="Number of classes in training fold", category=RuntimeWarning)
            return cross_val_predict(model, X[labeled], codes, cv=cv, method="predict_proba")

    seen = np.unique(codes)  # cross_val_predict orders columns by the sorted codes present
    if classifier is not None:
        model = clone(classifier)
        oof = predict(model)
        chosen = {"classifier": type(model).__name__}
    else:
        width = X.shape[1]
        X = reduced_features(X, seed=seed)
        tried = {C: predict(default_classifier(C=C)) for C in C_GRID}
        losses = {C: _log_loss(p, np.searchsorted(seen, codes)) for C, p in tried.items()}
        best = min(losses, key=losses.get)
        model, oof = default_classifier(C=best), tried[best]
        reduced = f"PCA({X.shape[1]}) of {width} features + " if X.shape[1] < width else ""
        chosen = {"classifier": f"{reduced}floored scaling + logistic regression", "C": best,
                  "dims": int(X.shape[1]), "log_loss": {str(C): round(v, 4) for C, v in losses.items()}}
    if details is not None:
        details.update(chosen)
    proba = np.zeros((len(y), len(classes)), dtype=np.float64)
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
