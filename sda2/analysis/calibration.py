"""Calibration of class probabilities: temperature scaling, expected calibration error, reliability bins.

A model is calibrated when, among the predictions it makes at confidence c, a share c is right. Temperature
scaling (Guo et al., 2017) divides the logits by one number T fitted by minimising the negative
log-likelihood of the given labels: T > 1 softens an overconfident model, T < 1 sharpens an underconfident
one; the predicted class never changes. Out-of-fold probabilities are calibrated with a nested split
(:func:`calibrate_out_of_fold`): each half gets the temperature fitted on the other half, so no row's
calibration saw its own label. Pure numpy/scipy.

Sharpening is capped (``MIN_TEMPERATURE``): the likelihood fit wins by making the many right predictions more
confident, and the few confident mistakes ride along. On MNIST's 10,000 test digits
(``benchmarks/bench_predictions.py``) the small-image default's free fit sharpens to T 0.55 and leaves 3 of 119 wrong predictions at confidence >= 0.99
(2.5 %); capped at 0.65, 1 of 119 (0.84 %), and ECE rises from 0.0019 to 0.0042 (frozen + kNN on EfficientNet-Lite0:
9 of 411 -> 4 of 411). Those wrong ones are more confident than about 1,450 right ones, so no order-keeping
recalibration can lower them alone: the cap trades under a point of ECE (sklearn's 8 px digits: 0.0073 -> 0.0154,
1 of 32 wrong at >= 0.99 -> 0) for no confident nonsense. A cap of 0.6 keeps MNIST's default at 1 but not digits'.
Softening (T > 1, the usual case on noisy photos: CIFAR-10N fits 0.96-1.08) is never capped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax, softmax

from sda2.analysis.label_issues import confident_joint

EPS = 1e-12
T_RANGE = (0.25, 20.0)  # search bounds for the temperature: sharpen at most 4x (tiny or separable data)
MIN_TEMPERATURE = 0.65  # calibrate_out_of_fold sharpens at most 1 / 0.65 = 1.54x; see the module doc
N_BINS = 15
MIN_ROWS = 50  # fewer labeled rows: no temperature is fitted (T = 1)


def as_logits(probs) -> np.ndarray:
    """Log-probabilities of ``probs`` (rows summing to 1), usable as logits: softmax(as_logits(p)) == p."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), EPS, None))


def apply_temperature(probs, temperature: float) -> np.ndarray:
    """Probabilities ``probs`` rescaled by temperature ``T``: softmax(log p / T)."""
    return softmax(as_logits(probs) / float(temperature), axis=1)


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    return float(-log_softmax(logits / temperature, axis=1)[np.arange(len(labels)), labels].mean())


def fit_temperature(probs, labels) -> float:
    """The temperature T minimising the negative log-likelihood of integer ``labels`` under softmax(log p / T)."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(labels):
        raise ValueError(f"probs must be samples x classes with one label per row; got {probs.shape} and "
                         f"{labels.shape} labels.")
    if not len(labels):
        raise ValueError("No labeled rows to fit a temperature on. Fix: label some samples first.")
    logits = as_logits(probs)
    found = minimize_scalar(lambda s: _nll(logits, labels, float(np.exp(s))), bounds=np.log(T_RANGE),
                            method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


@dataclass
class ReliabilityBins:
    """Per confidence bin: its edges, how many predictions fall in it, their mean confidence and accuracy."""

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray

    def as_dict(self) -> dict:
        """JSON-able form (NaN for empty bins becomes None)."""
        def clean(a):
            return [None if not np.isfinite(v) else float(v) for v in a]
        return {"edges": self.edges.tolist(), "counts": self.counts.astype(int).tolist(),
                "confidence": clean(self.confidence), "accuracy": clean(self.accuracy)}


def reliability_bins(probs, labels, n_bins: int = N_BINS) -> ReliabilityBins:
    """Top-class confidence split into ``n_bins`` equal-width bins, with each bin's mean confidence and accuracy."""
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    counts = np.bincount(which, minlength=n_bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, weights=confidence, minlength=n_bins) / counts
        accuracy = np.bincount(which, weights=correct.astype(float), minlength=n_bins) / counts
    return ReliabilityBins(edges, counts, mean_conf, accuracy)


def expected_calibration_error(probs, labels, n_bins: int = N_BINS) -> float:
    """ECE: the count-weighted mean gap |accuracy - confidence| over equal-width confidence bins."""
    bins = reliability_bins(probs, labels, n_bins)
    used = bins.counts > 0
    if not used.any():
        return 0.0
    gaps = np.abs(bins.accuracy[used] - bins.confidence[used])
    return float((gaps * bins.counts[used]).sum() / bins.counts[used].sum())


@dataclass
class Calibration:
    """What calibrating out-of-fold probabilities found: the temperatures, accuracy and ECE before and after."""

    temperatures: list[float]
    accuracy: float
    ece_before: float
    ece_after: float
    per_class_accuracy: dict[str, float | None] = field(default_factory=dict)
    bins_before: dict = field(default_factory=dict)
    bins_after: dict = field(default_factory=dict)
    labeled: int = 0
    fitted_temperatures: list[float] = field(default_factory=list)  # before the sharpening cap
    min_temperature: float = MIN_TEMPERATURE

    def as_dict(self) -> dict:
        """JSON-able form, as stored with the predictions."""
        return {"temperatures": self.temperatures, "temperature": float(np.mean(self.temperatures)),
                "fitted_temperatures": self.fitted_temperatures or self.temperatures,
                "min_temperature": self.min_temperature,
                "accuracy": self.accuracy, "ece_before": self.ece_before, "ece_after": self.ece_after,
                "per_class_accuracy": self.per_class_accuracy, "bins_before": self.bins_before,
                "bins_after": self.bins_after, "labeled": self.labeled}


def calibrate_out_of_fold(probs, labels, classes: list[str] | None = None, seed: int = 0,
                          n_bins: int = N_BINS, min_temperature: float = MIN_TEMPERATURE
                          ) -> tuple[np.ndarray, Calibration]:
    """Temperature-scaled ``probs`` (n x k) for integer ``labels`` (-1 = unlabeled), fitted with a nested split.

    Labeled rows are split in two halves; each half is rescaled by the temperature fitted on the other, raised to
    at least ``min_temperature`` (the sharpening cap; see the module doc). Unlabeled rows get the temperature
    fitted on all labeled rows. Below MIN_ROWS labeled rows nothing is fitted (T = 1): too few to estimate one.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    labeled = np.flatnonzero(labels >= 0)
    out = probs.copy()
    temperatures, fitted = [1.0], [1.0]
    if len(labeled) >= MIN_ROWS:
        order = np.random.default_rng(seed).permutation(labeled)
        halves = (order[: len(order) // 2], order[len(order) // 2:])
        temperatures, fitted = [], []
        for mine, other in (halves, halves[::-1]):
            fitted.append(fit_temperature(probs[other], labels[other]))
            temperatures.append(max(fitted[-1], min_temperature))
            out[mine] = apply_temperature(probs[mine], temperatures[-1])
        unl = np.flatnonzero(labels < 0)
        if len(unl):
            t = max(fit_temperature(probs[labeled], labels[labeled]), min_temperature)
            out[unl] = apply_temperature(probs[unl], t)
    y = labels[labeled]
    accuracy = float((probs[labeled].argmax(axis=1) == y).mean()) if len(labeled) else float("nan")
    names = list(classes) if classes is not None else [str(j) for j in range(probs.shape[1])]
    hits = probs[labeled].argmax(axis=1) == y
    per_class = {c: (float(hits[y == j].mean()) if (y == j).any() else None) for j, c in enumerate(names)}
    before = expected_calibration_error(probs[labeled], y, n_bins) if len(labeled) else float("nan")
    after = expected_calibration_error(out[labeled], y, n_bins) if len(labeled) else float("nan")
    return out, Calibration(temperatures, accuracy, before, after, per_class,
                            reliability_bins(probs[labeled], y, n_bins).as_dict() if len(labeled) else {},
                            reliability_bins(out[labeled], y, n_bins).as_dict() if len(labeled) else {},
                            int(len(labeled)), fitted, min_temperature)


TRUST_MIN_ACCURACY = 0.85  # below: the flags are mostly false alarms, say so
TRUST_MAX_ECE = 0.10  # above: the confidences cannot be read as chances
WORTH_REVIEWING = 0.5  # a flag is worth reviewing when its label is more likely wrong than right
WEAK_VERDICT = ("The model is too weak to trust these flags: most of them may be false alarms. Fine-tune a "
                "stronger model, or import your own model's predictions (Evaluation page), then find label "
                "issues again.")


def wilson_interval(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k`` / ``n`` (95 % at z = 1.96; (0, 1) when n is 0), by statsmodels."""
    if n <= 0:
        return 0.0, 1.0
    from scipy.stats import norm  # imported here: 1.7 s that pages which never show an interval should not pay
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(k, n, alpha=2 * norm.sf(z), method="wilson")
    return float(max(0.0, low)), float(min(1.0, high))


def noise_matrix(probs, labels) -> np.ndarray:
    """P(given label i | true class j) as a k x k matrix [given, true], from the confident joint of ``probs``."""
    joint = confident_joint(np.asarray(labels, dtype=np.int64), np.asarray(probs, dtype=np.float64)).astype(float)
    return joint / np.maximum(joint.sum(axis=0, keepdims=True), 1.0)


def label_error_chance(probs, labels, noise=None) -> np.ndarray:
    """Per row, the chance its given label is wrong, reading ``probs`` (calibrated on the given, noisy labels) as
    the noisy-label posterior q = T pi: the clean posterior is pi = T^-1 q (clipped, renormalised) and the chance
    is 1 - pi_y T[y, y] / q_y, with ``noise`` = T, P(given i | true j) as [given, true] (default :func:`noise_matrix`).

    The former 1 - q_y counts the model's own uncertainty as label noise. Share of flags that are real errors,
    estimated vs measured (benchmarks/bench_real_noise.py, CIFAR-10N, frozen+kNN; digits with 15 % injected
    noise): all 50,000 photos (model 80.8 % right) 0.672 where 0.671 were, 1 - q_y said 0.910; 10,000 photos at
    112 px (71 % right) 0.70 where 0.53 were (the confident joint overstates a weak model's noise); on digits
    0.98 / 0.86 where 0.95 were.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if not len(labels):
        return np.zeros(0)
    noise = noise_matrix(probs, labels) if noise is None else np.asarray(noise, dtype=np.float64)
    try:
        clean = probs @ np.linalg.inv(noise).T
    except np.linalg.LinAlgError:
        clean = probs @ np.linalg.pinv(noise).T
    clean = np.clip(clean, 0.0, None)
    clean /= np.maximum(clean.sum(axis=1, keepdims=True), EPS)
    rows = np.arange(len(labels))
    right = clean[rows, labels] * noise[labels, labels]
    return np.clip(1 - right / np.maximum(probs[rows, labels], EPS), 0.0, 1.0)


@dataclass
class Trust:
    """How far to trust a flag list: the model's accuracy and calibration, and the expected real errors."""

    accuracy: float
    accuracy_interval: tuple[float, float]
    ece: float
    labeled: int
    flagged: int
    expected_real_errors: float
    worth_reviewing: int
    weak: bool
    verdict: str

    @property
    def estimated_precision(self) -> float | None:
        """Expected share of the flags that are real errors (None without flags)."""
        return self.expected_real_errors / self.flagged if self.flagged else None


def trust_summary(probs, labels, flagged, min_accuracy: float = TRUST_MIN_ACCURACY,
                  max_ece: float = TRUST_MAX_ECE) -> Trust:
    """Trust in the flags ``flagged`` (bool per row) from calibrated ``probs`` and integer given ``labels``.

    Expected real errors among the flags = sum over flagged rows of the chance the given label is wrong
    (:func:`label_error_chance`: the clean posterior recovered with the noise rates of the confident joint;
    the former 1 - p(given label) was ~2x optimistic on a weak model). Worth reviewing: flags whose label is more likely
    wrong than right. The verdict says plainly when the model is too weak (accuracy below
    ``min_accuracy``), and separately when an accurate model's confidences are off (calibration error above
    ``max_ece``): then the order of the flags holds but the expected counts do not.
    """
    probs = np.asarray(probs, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    flagged = np.asarray(flagged, dtype=bool)
    n = len(labels)
    correct = int((probs.argmax(axis=1) == labels).sum()) if n else 0
    accuracy = correct / n if n else float("nan")
    ece = expected_calibration_error(probs, labels) if n else float("nan")
    wrong_chance = label_error_chance(probs, labels)
    expected = float(wrong_chance[flagged].sum()) if n else 0.0
    worth = int((wrong_chance[flagged] >= WORTH_REVIEWING).sum()) if n else 0
    weak = not n or accuracy < min_accuracy
    n_flagged = int(flagged.sum())
    if weak:
        verdict = WEAK_VERDICT
    elif ece > max_ece:
        verdict = (f"The model is accurate ({accuracy:.1%} out of fold), but its confidences are off by {ece:.2f} "
                   "on average (calibration error): trust the order of the flags, not the expected counts. "
                   "More labeled data or your own model's predictions would fix the confidences.")
    elif n_flagged:
        verdict = (f"The model is strong enough to be useful: expect about {expected:,.0f} real errors among the "
                   f"{n_flagged:,} flags; review the {worth:,} most likely first.")
    else:
        verdict = "The model is strong enough to be useful, and it flags nothing."
    return Trust(accuracy, wilson_interval(correct, n), ece, n, n_flagged, expected, worth, bool(weak), verdict)
