"""Fusing views of the same samples: kNN label agreement in embedding space and a geometric mean of probabilities.

On CIFAR-10N (3,000 images, real crowd noise; benchmarks/bench_finetune.py) the geometric mean of a fine-tuned
model, the frozen-feature classifier and the kNN label agreement beat each view alone on accuracy and on the
ranking of real label errors. Pure numpy.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

EPS = 1e-12
KNN_K = 10  # neighbours for the label agreement view (bench_finetune.py / bench_real_noise.py)


def knn_label_proba(X, codes, n_classes: int, k: int = KNN_K, alpha: float = 1.0, chunk: int = 2048) -> np.ndarray:
    """Share of each class among the ``k`` nearest labeled neighbours (cosine; a sample never counts itself),
    smoothed by ``alpha`` pseudo-counts spread over the classes; ``codes`` -1 = unlabeled (never a neighbour)."""
    X = np.asarray(X, dtype=np.float32)
    codes = np.asarray(codes, dtype=np.int64)
    Z = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), EPS)
    labeled = np.flatnonzero(codes >= 0)
    k = int(min(k, max(len(labeled) - 1, 1)))
    out = np.zeros((len(X), n_classes), dtype=np.float64)
    for start in range(0, len(X), chunk):
        rows = np.arange(start, min(start + chunk, len(X)))
        sims = Z[rows] @ Z[labeled].T
        sims[labeled[None, :] == rows[:, None]] = -np.inf  # never its own neighbour
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        np.add.at(out, (np.repeat(np.arange(len(rows)) + start, k), codes[labeled][nearest].ravel()), 1.0)
    return (out + alpha / n_classes) / (k + alpha)


def fuse_log_mean(*probas) -> np.ndarray:
    """The views' geometric mean, renormalised: softmax of the mean log-probability."""
    logs = [log_softmax(np.log(np.clip(np.asarray(p, dtype=np.float64), EPS, None)), axis=1) for p in probas]
    return softmax(np.mean(logs, axis=0), axis=1)


def frozen_knn_proba(frozen, X, codes, n_classes: int, k: int = KNN_K) -> np.ndarray:
    """The cheap fusion: the frozen-feature classifier's out-of-fold probabilities ``frozen`` fused (geometric
    mean) with the kNN label agreement on the same embeddings ``X`` (labels ``codes``, -1 = unlabeled)."""
    return fuse_log_mean(frozen, knn_label_proba(X, codes, n_classes, k=k))
