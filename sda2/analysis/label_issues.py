"""Label errors from predicted probabilities, confident-learning style (Northcutt et al., cleanlab's method).

Per class, the threshold is the mean probability the model gives that class on samples labeled with it
(its self-confidence). A sample counts as confidently "truly j" when its probability for j reaches j's
threshold; counting those against the given labels gives the confident joint, which, calibrated to the
label counts, estimates how many samples of each given class really belong to each other class. That many
samples are then flagged per (given, true) pair, those with the largest margin p[true] - p[given].
Ranking uses the self-confidence p[given] (or the normalized margin, or the confidence-weighted entropy, as
cleanlab defines them): lower = more likely wrong. The default is self-confidence, chosen on real crowd noise
(``benchmarks/bench_real_noise.py``, CIFAR-10N, first 10,000 images, EfficientNet-Lite0 embeddings, score
against the true labels). AP of the ranking, with the CPU default's probabilities (frozen classifier + kNN) /
the frozen classifier's, trained on one worker's labels (17.8 % wrong) and on the worst of three (41 % wrong):

    score                         17.8 % noise     41 % noise
    self-confidence               0.655 / 0.612    0.798 / 0.755
    expected benefit (calibrated) 0.651 / 0.609    0.793 / 0.752
    confidence-weighted entropy   0.624 / 0.591    0.784 / 0.749
    mean rank of SC and margin    0.642 / 0.573    0.795 / 0.734
    normalized margin             0.589 / 0.510    0.763 / 0.683

Self-confidence is best in all four, and a combination with the normalized margin (which cleanlab reports
better on MNIST/CIFAR with MTurk-verified errors) does not beat it here. On all 50,000 images with today's
frozen classifier (256 principal components, C chosen by log-loss; same layout, 17.2 % / 40.2 % noise):

    self-confidence               0.792 / 0.793    0.890 / 0.895
    expected benefit (calibrated) 0.794 / 0.794    0.888 / 0.895
    confidence-weighted entropy   0.752 / 0.752    0.872 / 0.875
    mean rank of SC and margin    0.800 / 0.794    0.902 / 0.908
    normalized margin             0.772 / 0.757    0.897 / 0.899

There the combination leads by 0.001-0.013, where on 10,000 it trailed by 0.013-0.039: the data decide, by less
than the gap to the next model. The default stays self-confidence, whose calibrated form is the expected benefit
the app orders by and shows per flag; ``rank_by`` picks another. Fed calibrated probabilities (as
``sda2.compute_predictions`` stores them) the self-confidence order is also (up to the nested-split
temperatures) the order of expected benefit, which the app shows.

Multi-class, multi-label (one-vs-rest per tag) and detection (per-box hints) inputs; pure numpy/pandas.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import xlogy

TINY = 1e-6
THRESHOLD_FLOOR = 2e-6  # as cleanlab: a class never given gets an unreachable threshold instead
RANK_METHODS = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")
CLIP = 1e-10  # as cleanlab's CLIPPING_LOWER_BOUND


# ---------------------------------------------------------------- input checks


def _check_probs(pred_probs, n: int, multi_label: bool) -> np.ndarray:
    if n == 0:
        raise ValueError("No samples: labels is empty. Fix: pass at least one label with its row of pred_probs "
                         "(in the app: compute predictions for a dataset that has labeled samples).")
    probs = np.asarray(pred_probs)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"pred_probs must be a 2-D array (samples x classes, at least 2 classes); got shape "
                         f"{probs.shape}. Fix: pass one row of class probabilities per sample.")
    if probs.shape[0] != n:
        raise ValueError(f"{n:,} labels but {probs.shape[0]:,} rows of pred_probs: they must be aligned one to one.")
    if not np.issubdtype(probs.dtype, np.floating):
        probs = probs.astype(np.float64)
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)[:5].tolist()
        raise ValueError(f"pred_probs has NaN or infinite values in {int(bad.sum()):,} rows (first: {rows}). "
                         "Fix: drop those samples or predict them again.")
    if probs.min() < 0 or probs.max() > 1:
        raise ValueError("pred_probs must lie in [0, 1]. Fix: pass probabilities, not logits "
                         "(apply a softmax, or a sigmoid for multi-label).")
    if not multi_label:
        sums = probs.sum(axis=1)
        off = np.abs(sums - 1) > 1e-3
        if off.any():
            raise ValueError(f"{int(off.sum()):,} rows of pred_probs do not sum to 1 (e.g. row "
                             f"{int(np.argmax(off))} sums to {sums[off][0]:.4f}). Fix: normalise them (softmax); "
                             "for independent tag probabilities use the multi-label form of the labels.")
    return probs


def _encode(labels, k: int, classes: Sequence | None) -> tuple[np.ndarray, list[str]]:
    """Class indices of ``labels`` (ints, or names given in ``classes``) and the class names."""
    values = np.asarray(labels)
    if values.ndim != 1:
        raise ValueError(f"labels must be one label per sample; got shape {values.shape}.")
    if classes is None:
        if values.dtype.kind not in "iu":
            raise ValueError("labels are names, so the column order of pred_probs is unknown. "
                             "Fix: pass classes=[names in the order of the pred_probs columns].")
        classes = [str(c) for c in range(k)]
    classes = [str(c) for c in classes]
    if len(classes) != k:
        raise ValueError(f"{len(classes)} classes given but pred_probs has {k} columns. Fix: pass one class "
                         "name per column, in column order.")
    if values.dtype.kind in "iu":
        codes = values.astype(np.int64)
        bad = (codes < 0) | (codes >= k)
        if bad.any():
            raise ValueError(f"Label index {int(codes[bad][0])} is outside 0..{k - 1} (the pred_probs columns).")
        return codes, classes
    index = {c: i for i, c in enumerate(classes)}
    codes = np.fromiter((index.get(str(v), -1) for v in values), dtype=np.int64, count=len(values))
    if (codes < 0).any():
        unknown = sorted({str(v) for v, c in zip(values, codes) if c < 0})[:5]
        raise ValueError(f"Labels {unknown} are not among the classes {classes[:20]}. Fix: add them to the class "
                         "list (and the pred_probs columns), or correct those labels.")
    return codes, classes


# ---------------------------------------------------------------- scores


def label_quality_scores(labels, pred_probs, classes: Sequence | None = None,
                         method: str = "self_confidence") -> np.ndarray:
    """Per-sample label quality in [0, 1] (lower = more likely wrong): one of :data:`RANK_METHODS`."""
    probs = _check_probs(pred_probs, len(labels), multi_label=False)
    codes, _ = _encode(labels, probs.shape[1], classes)
    return _scores(codes, probs, method)


def _scores(labels: np.ndarray, probs: np.ndarray, method: str) -> np.ndarray:
    rows = np.arange(len(labels))
    self_conf = probs[rows, labels]
    if method == "self_confidence":
        return self_conf
    if method == "normalized_margin":
        others = probs.copy()
        others[rows, labels] = -np.inf
        return (self_conf - others.max(axis=1) + 1) / 2
    if method == "confidence_weighted_entropy":
        entropy = -xlogy(probs, probs).sum(axis=1) / np.log(probs.shape[1])
        score = entropy / np.clip(self_conf, CLIP, None)
        return np.log(score + 1) / np.clip(score, CLIP, None)
    raise ValueError(f"Unknown ranking method {method!r}; use one of {RANK_METHODS}.")


def confident_thresholds(labels: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """Per class, the mean probability of that class over samples labeled with it (2 where none is)."""
    k = probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros(k)
    np.add.at(sums, labels, probs[np.arange(len(labels)), labels])
    thresholds = np.where(counts > 0, sums / np.maximum(counts, 1), 2.0)
    return np.clip(thresholds, THRESHOLD_FLOOR, None)


def _round_rows(matrix: np.ndarray) -> np.ndarray:
    """Round each row to integers keeping its (rounded) total: the largest remainders take the leftovers."""
    out = np.rint(matrix)
    for r, row in enumerate(matrix):
        diff = int(np.rint(row.sum() - out[r].sum()))
        if diff:
            order = np.argsort(row - out[r])
            out[r, order[::-1][:diff] if diff > 0 else order[:-diff]] += np.sign(diff)
    return out.astype(np.int64)


def confident_joint(labels: np.ndarray, probs: np.ndarray, thresholds: np.ndarray | None = None) -> np.ndarray:
    """Calibrated confident joint C[given, true]: estimated counts of samples per (given, true) class pair."""
    k = probs.shape[1]
    thresholds = confident_thresholds(labels, probs) if thresholds is None else thresholds
    confident = probs >= thresholds - TINY
    n_confident = confident.sum(axis=1)
    guess = np.where(n_confident > 1, probs.argmax(axis=1), confident.argmax(axis=1))
    keep = n_confident > 0
    joint = np.bincount(labels[keep] * k + guess[keep], minlength=k * k).reshape(k, k).astype(float)
    np.fill_diagonal(joint, np.maximum(joint.diagonal(), 1))
    counts = np.bincount(labels, minlength=k)
    joint = joint / np.clip(joint.sum(axis=1, keepdims=True), 1e-100, None) * counts[:, None]
    joint = joint / max(joint.sum(), 1e-100) * counts.sum()
    return _round_rows(joint)


def _prune_counts(joint: np.ndarray, min_per_class: int, frac_noise: float) -> np.ndarray:
    """How many samples to flag per (true, given) pair, keeping at least ``min_per_class`` per given class."""
    prune = joint.T.astype(float)  # [true, given]
    diagonal = prune.diagonal().copy()
    new_diagonal = np.maximum(diagonal, min_per_class)
    per_col = np.maximum(np.count_nonzero(prune, axis=0) - 1.0, 1.0)
    prune = np.clip(prune - (new_diagonal - diagonal) / per_col, 0, None)
    np.fill_diagonal(prune, new_diagonal)
    reduced = prune * frac_noise
    np.fill_diagonal(reduced, prune.diagonal() + (prune - reduced).sum(axis=0))
    return _round_rows(reduced.astype(np.int64).astype(float))


def _issue_mask(labels: np.ndarray, probs: np.ndarray, joint: np.ndarray, min_per_class: int,
                frac_noise: float) -> np.ndarray:
    """Prune by noise rate: per given class k and true class j, flag the C[j,k] largest margins p_j - p_k."""
    prune = _prune_counts(joint, min_per_class, frac_noise)
    mask = np.zeros(len(labels), dtype=bool)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(probs.shape[1] + 1))
    for k in range(probs.shape[1]):
        members = order[bounds[k]:bounds[k + 1]]
        if len(members) <= min_per_class:
            continue
        block = probs[members]
        for j in np.flatnonzero(prune[:, k]):
            count = int(prune[j, k])
            if j == k:
                continue
            margin = block[:, j] - block[:, k]
            top = np.argpartition(-margin, count - 1)[:count] if count < len(members) else slice(None)
            mask[members[top]] = True
    # as cleanlab: never flag a sample whose given label is also the model's top class
    self_conf = probs[np.arange(len(labels)), labels]
    mask &= probs.max(axis=1) > self_conf + TINY
    return mask


# ---------------------------------------------------------------- multi-class


def find_label_issues(labels, pred_probs, classes: Sequence | None = None, *, rank_by: str = "self_confidence",
                      frac_noise: float = 1.0, min_examples_per_class: int = 1) -> pd.DataFrame:
    """Suspected label errors, one row per sample in input order (multi-label when labels are tag lists)."""
    if _is_multilabel(labels):
        return find_multilabel_issues(labels, pred_probs, classes, frac_noise=frac_noise,
                                      min_examples_per_class=min_examples_per_class)
    n = len(labels)
    probs = _check_probs(pred_probs, n, multi_label=False)
    codes, names = _encode(labels, probs.shape[1], classes)
    if rank_by not in RANK_METHODS:
        raise ValueError(f"Unknown rank_by {rank_by!r}; use one of {RANK_METHODS}.")
    thresholds = confident_thresholds(codes, probs)
    joint = confident_joint(codes, probs, thresholds)
    mask = _issue_mask(codes, probs, joint, min_examples_per_class, frac_noise)
    names_arr = np.asarray(names, dtype=object)
    frame = pd.DataFrame({
        "given_label": names_arr[codes],
        "suggested_label": names_arr[probs.argmax(axis=1)],
        "label_quality": _scores(codes, probs, rank_by).astype(np.float64),
        "is_label_issue": mask,
    })
    frame.attrs.update(kind="classification", classes=names, thresholds=thresholds.tolist(),
                       confident_joint=joint.tolist(), estimated_issues=int(joint.sum() - np.trace(joint)),
                       rank_by=rank_by)
    return frame


# ---------------------------------------------------------------- multi-label


def _is_multilabel(labels) -> bool:
    if isinstance(labels, np.ndarray):
        return labels.ndim == 2
    return len(labels) > 0 and all(isinstance(v, (list, tuple, set, frozenset)) or v is None for v in labels)


def _tag_matrix(labels, k: int, classes: Sequence | None) -> tuple[np.ndarray, list[str]]:
    """n x k 0/1 matrix from tag lists (names or indices) or a 0/1 matrix, and the tag names."""
    if isinstance(labels, np.ndarray) and labels.ndim == 2:
        if labels.shape[1] != k:
            raise ValueError(f"The label matrix has {labels.shape[1]} columns but pred_probs has {k}.")
        if not np.isin(labels, (0, 1)).all():
            raise ValueError("A multi-label matrix must hold only 0 and 1.")
        names = [str(c) for c in classes] if classes is not None else [str(c) for c in range(k)]
        return labels.astype(bool), names
    tags = [list(t) if t is not None else [] for t in labels]
    flat = [t for row in tags for t in row]
    codes, names = _encode(np.asarray(flat) if flat else np.zeros(0, dtype=np.int64), k, classes)
    matrix = np.zeros((len(tags), k), dtype=bool)
    rows = np.repeat(np.arange(len(tags)), [len(t) for t in tags])
    matrix[rows, codes] = True
    return matrix, names


def multilabel_quality_scores(Y: np.ndarray, pred_probs: np.ndarray, alpha: float = 0.8) -> np.ndarray:
    """Per-sample quality: per-tag self-confidences, sorted, then an exponential moving average (as cleanlab)."""
    scores = np.where(Y, pred_probs, 1 - pred_probs)
    ordered = -np.sort(-scores, axis=1)  # highest first, so the lowest weigh most
    k = ordered.shape[1]
    weights = alpha * (1 - alpha) ** np.arange(k - 1, -1, -1, dtype=float)
    weights[0] = (1 - alpha) ** (k - 1)
    return ordered @ weights


def find_multilabel_issues(labels, pred_probs, classes: Sequence | None = None, *, frac_noise: float = 1.0,
                           min_examples_per_class: int = 1) -> pd.DataFrame:
    """Suspected multi-label errors: one-vs-rest confident learning per tag; lists missing and spurious tags."""
    probs = _check_probs(pred_probs, len(labels), multi_label=True)
    Y, names = _tag_matrix(labels, probs.shape[1], classes)
    flags = np.zeros_like(Y)
    for c in range(Y.shape[1]):
        binary = np.column_stack([1 - probs[:, c], probs[:, c]])
        codes = Y[:, c].astype(np.int64)
        joint = confident_joint(codes, binary)
        flags[:, c] = _issue_mask(codes, binary, joint, min_examples_per_class, frac_noise)
    names_arr = np.asarray(names, dtype=object)
    suggested = Y ^ flags
    frame = pd.DataFrame({
        "given_label": [names_arr[row].tolist() for row in Y],
        "suggested_label": [names_arr[row].tolist() for row in suggested],
        "label_quality": multilabel_quality_scores(Y, probs),
        "is_label_issue": flags.any(axis=1),
        "missing_tags": [names_arr[row].tolist() for row in flags & ~Y],
        "spurious_tags": [names_arr[row].tolist() for row in flags & Y],
    })
    frame.attrs.update(kind="multilabel", classes=names, estimated_issues=int(flags.sum()))
    return frame


# ---------------------------------------------------------------- detection


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix between boxes ``a`` (m x 4) and ``b`` (n x 4), each [x, y, width, height]."""
    a = np.asarray(a, dtype=float).reshape(-1, 4)
    b = np.asarray(b, dtype=float).reshape(-1, 4)
    ax2, ay2 = a[:, 0] + a[:, 2], a[:, 1] + a[:, 3]
    bx2, by2 = b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    w = np.clip(np.minimum(ax2[:, None], bx2) - np.maximum(a[:, None, 0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(ay2[:, None], by2) - np.maximum(a[:, None, 1], b[:, 1]), 0, None)
    inter = w * h
    union = (a[:, 2] * a[:, 3])[:, None] + b[:, 2] * b[:, 3] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def _sample_hints(gt_labels, gt_boxes, pred_labels, pred_boxes, pred_conf, iou_match: float, iou_low: float,
                  min_confidence: float) -> list[dict]:
    """Hints for one image: each names a kind, the box it concerns, a fix and a quality (lower = surer)."""
    gt_labels, pred_labels = list(gt_labels or []), list(pred_labels or [])
    gt = np.asarray(gt_boxes or [], dtype=float).reshape(-1, 4)
    pred = np.asarray(pred_boxes or [], dtype=float).reshape(-1, 4)
    conf = np.asarray(pred_conf if pred_conf is not None else [], dtype=float).reshape(-1)
    if len(conf) != len(pred):
        conf = np.ones(len(pred))
    iou = box_iou(gt, pred)
    same = np.array([[g == p for p in pred_labels] for g in gt_labels], dtype=bool).reshape(iou.shape)
    sure = conf >= min_confidence
    explained = (iou >= iou_match).any(axis=0) if len(gt) else np.zeros(len(pred), dtype=bool)
    hints = []
    for g in range(len(gt)):
        base = {"box": g, "label": gt_labels[g], "bounding_box": gt[g].tolist()}
        if (same[g] & (iou[g] >= iou_match)).any():
            continue
        other = ~same[g] & sure & (iou[g] >= iou_match)
        nearby = same[g] & sure & (iou[g] >= iou_low)
        if other.any():
            p = int(np.argmax(np.where(other, conf, -1)))
            hints.append({**base, "kind": "wrong_class", "suggested_label": pred_labels[p],
                          "suggested_box": pred[p].tolist(), "quality": float(1 - conf[p])})
        elif nearby.any():
            p = int(np.argmax(np.where(nearby, iou[g], -1)))
            explained[p] = True
            hints.append({**base, "kind": "badly_placed", "suggested_label": gt_labels[g],
                          "suggested_box": pred[p].tolist(), "quality": float(iou[g, p])})
        else:
            support = float(np.max(np.where(same[g] & (iou[g] >= iou_low), conf, 0), initial=0))
            hints.append({**base, "kind": "spurious", "suggested_label": None, "suggested_box": None,
                          "quality": 0.5 + 0.5 * support})
    for p in np.flatnonzero(sure & ~explained):
        hints.append({"box": None, "label": None, "bounding_box": None, "kind": "missing",
                      "suggested_label": pred_labels[p], "suggested_box": pred[p].tolist(),
                      "quality": float(1 - conf[p])})
    return hints


def _describe(hints: list[dict]) -> str:
    words = {"wrong_class": lambda h: f"wrong class {h['label']}→{h['suggested_label']}",
             "badly_placed": lambda h: f"badly placed {h['label']}",
             "spurious": lambda h: f"spurious {h['label']}",
             "missing": lambda h: f"missing {h['suggested_label']}"}
    return "; ".join(words[h["kind"]](h) for h in sorted(hints, key=lambda h: h["quality"]))


def find_detection_issues(gt_labels, gt_boxes, pred_labels, pred_boxes, pred_confidences, *,
                          iou_match: float = 0.5, iou_low: float = 0.1, min_confidence: float = 0.5) -> pd.DataFrame:
    """Per-image box hints (missing, spurious, wrong class, badly placed) and a score: the surest hint's quality."""
    n = len(gt_labels)
    lengths = {len(gt_boxes), len(pred_labels), len(pred_boxes), len(pred_confidences)}
    if lengths != {n}:
        raise ValueError("gt_labels, gt_boxes, pred_labels, pred_boxes and pred_confidences must each have one "
                         "entry (a list, possibly empty) per image.")
    hints = [_sample_hints(*row, iou_match, iou_low, min_confidence)
             for row in zip(gt_labels, gt_boxes, pred_labels, pred_boxes, pred_confidences)]
    quality = np.array([min((h["quality"] for h in hs), default=1.0) for hs in hints])
    frame = pd.DataFrame({
        "given_label": [list(g or []) for g in gt_labels],
        "suggested_label": [_describe(hs) for hs in hints],
        "label_quality": quality,
        "is_label_issue": [any(h["kind"] != "spurious" or h["quality"] <= 0.5 for h in hs) for hs in hints],
        "label_hints": hints,
    })
    frame.attrs.update(kind="detection", iou_match=iou_match, min_confidence=min_confidence)
    return frame
