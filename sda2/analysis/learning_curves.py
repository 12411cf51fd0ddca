"""Per-class learning curves and the collection plan they imply: how many more labels each weak class needs.

Measuring: for each fraction of the labeled data (stratified, at least ``folds`` samples of every class) and
each seed, a k-fold out-of-fold run of the default classifier (:func:`sda2.analysis.oof.default_classifier`)
gives every class its accuracy (recall: the share of its samples predicted as it). A point's ``n`` is the
number of samples of the class each fold model trained on (``(k-1)/k`` of the class's subsample), so the
model trained on all labels sits at ``n = labeled`` (the class's whole count).

Fitting: per class, ``acc(n) = a - b * n**(-c)`` by ``scipy.optimize.curve_fit`` (bounded: 0 ≤ a ≤ 1,
b ≥ 0, 0.2 ≤ c ≤ 2; weighted by the spread across seeds). ``a`` is the accuracy the class levels off at.
The uncertainty comes from the fit's covariance: parameter draws give a band around the curve and a
range for the labels needed.

The plan assumes the other classes keep their counts while one grows; the curves were measured with all
classes growing together, so the figures are estimates to rank classes and size a batch, not promises.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from sda2.analysis.oof import default_classifier

FRACTIONS = (0.1, 0.2, 0.4, 0.7, 1.0)
SEEDS = (0, 1, 2)
DRAWS = 400  # parameter draws for the band and the range of labels needed
BOUNDS = ([0.0, 0.0, 0.2], [1.0, np.inf, 2.0])  # c ≥ 0.2: a flat curve is not read as a slow climb to 1
UNREACHABLE = "not reachable by collection alone"


def power_law(n, a: float, b: float, c: float):
    """``a - b * n**(-c)``: accuracy after ``n`` labeled samples of a class."""
    return a - b * np.power(np.asarray(n, dtype=np.float64), -c)


@dataclass(frozen=True)
class PowerLaw:
    """A fitted ``a - b * n**(-c)`` with its parameter covariance (``ok`` False: a flat line at the mean)."""

    a: float
    b: float
    c: float
    cov: np.ndarray
    ok: bool = True

    def predict(self, n) -> np.ndarray:
        """Accuracy the curve predicts after ``n`` samples (clipped to [0, 1])."""
        return np.clip(power_law(np.atleast_1d(n), self.a, self.b, self.c), 0.0, 1.0)

    def draws(self, size: int = DRAWS, seed: int = 0) -> np.ndarray:
        """Parameter draws (rows a, b, c) from the fit's covariance, kept inside the bounds."""
        mean = np.array([self.a, self.b, self.c])
        if not self.ok or not np.all(np.isfinite(self.cov)):
            return np.tile(mean, (size, 1))
        rng = np.random.default_rng(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a nearly singular covariance is fine for a band
            rows = rng.multivariate_normal(mean, self.cov, size=size, check_valid="ignore")
        return np.clip(rows, BOUNDS[0], BOUNDS[1])

    def band(self, n, level: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of the predicted accuracy at ``n`` over parameter draws: a ``level`` band."""
        n = np.atleast_1d(np.asarray(n, dtype=np.float64))
        draws = self.draws()
        values = np.clip(power_law(n[None, :], draws[:, :1], draws[:, 1:2], draws[:, 2:3]), 0.0, 1.0)
        tail = (1 - level) / 2 * 100
        return np.percentile(values, tail, axis=0), np.percentile(values, 100 - tail, axis=0)

    def samples_for(self, target: float) -> float:
        """Samples of the class at which the curve reaches ``target`` (inf when it levels off below it)."""
        return samples_for(self.a, self.b, self.c, target)


def samples_for(a: float, b: float, c: float, target: float) -> float:
    """``n`` with ``a - b n^-c = target``: 0 when b == 0 and a ≥ target, inf when a ≤ target."""
    if a <= target:
        return math.inf
    if b <= 0:
        return 0.0
    return float((b / (a - target)) ** (1.0 / c))


def fit_power_law(n, accuracy, sigma=None) -> PowerLaw:
    """Fit ``a - b * n**(-c)`` to measured (n, accuracy) points; a flat line when the fit fails or has < 3 points."""
    n = np.asarray(n, dtype=np.float64)
    acc = np.asarray(accuracy, dtype=np.float64)
    keep = np.isfinite(acc) & (n > 0)
    n, acc = n[keep], acc[keep]
    sigma = None if sigma is None else np.maximum(np.asarray(sigma, dtype=np.float64)[keep], 0.01)
    flat = PowerLaw(float(acc.mean()) if acc.size else 0.0, 0.0, 0.5, np.full((3, 3), np.nan), ok=False)
    if len(np.unique(n)) < 3:
        return flat
    top = float(acc[n == n.max()].mean())
    p0 = [min(1.0, max(top + 0.02, 1e-3)), max((top - acc.min()) * n.min() ** 0.5, 1e-3), 0.5]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params, cov = curve_fit(power_law, n, acc, p0=p0, sigma=sigma, absolute_sigma=sigma is not None,
                                    bounds=BOUNDS, maxfev=20000)
    except (RuntimeError, ValueError):
        return flat
    return PowerLaw(float(params[0]), float(params[1]), float(params[2]), np.asarray(cov, dtype=np.float64))


def _subsample(y: np.ndarray, fraction: float, minimum: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a stratified ``fraction`` of ``y``: at least ``minimum`` (or all) rows of every class."""
    rows = []
    for cls in np.unique(y):
        members = np.flatnonzero(y == cls)
        take = min(len(members), max(minimum, int(round(fraction * len(members)))))
        rows.append(rng.choice(members, size=take, replace=False))
    return np.sort(np.concatenate(rows))


def measure(X, y, fractions=FRACTIONS, seeds=SEEDS, folds: int = 5, model=None, progress=None) -> pd.DataFrame:
    """Per-class out-of-fold accuracy on stratified subsamples: rows seed, fraction, class, n, labeled, accuracy.

    ``n`` is the class's training samples per fold model; ``labeled`` its count in the subsample.
    ``progress(done, total)`` is called after every run.
    """
    X = np.asarray(X)
    y = np.asarray(y, dtype=object).astype(str)
    counts = pd.Series(y).value_counts()
    if len(counts) < 2:
        raise ValueError(f"Learning curves need at least 2 classes with labels; found {len(counts)}. "
                         "Fix: label samples of more classes first.")
    if counts.min() < 2:
        small = ", ".join(map(str, counts[counts < 2].index))
        raise ValueError(f"Class(es) {small} have a single labeled sample; out-of-fold runs need at least 2. "
                         "Fix: label more samples of them or leave them out.")
    model = default_classifier() if model is None else model
    rows, total, done = [], len(fractions) * len(seeds), 0
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for fraction in sorted(fractions):
            picked = _subsample(y, float(fraction), folds, rng)
            ys = y[picked]
            sub_counts = pd.Series(ys).value_counts()
            k = int(min(folds, sub_counts.min()))
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # convergence warnings on small subsets
                predicted = cross_val_predict(clone(model), X[picked], ys, cv=splitter)
            for cls, count in sub_counts.items():
                mask = ys == cls
                rows.append({"seed": seed, "fraction": float(fraction), "class": cls,
                             "n": count * (k - 1) / k, "labeled": int(count),
                             "accuracy": float(np.mean(predicted[mask] == cls))})
            done += 1
            if progress is not None:
                progress(done, total)
    return pd.DataFrame(rows, columns=["seed", "fraction", "class", "n", "labeled", "accuracy"])


@dataclass
class LearningCurves:
    """Measured points (see :func:`measure`), a fitted power law per class and each class's labeled count."""

    measurements: pd.DataFrame
    fits: dict[str, PowerLaw]
    labeled: dict[str, int]
    folds: int = 5
    extra: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Per class: points averaged over seeds (n, accuracy mean and std over seeds)."""
        return (self.measurements.groupby(["class", "fraction"], as_index=False)
                .agg(n=("n", "mean"), accuracy=("accuracy", "mean"), accuracy_std=("accuracy", "std"))
                .fillna({"accuracy_std": 0.0}))


def fit_curves(measurements: pd.DataFrame, labeled: dict | None = None) -> LearningCurves:
    """A power law per class fitted to ``measurements`` (columns class, n, accuracy; seed optional)."""
    fits = {}
    for cls, part in measurements.groupby("class", sort=True):
        grouped = part.groupby("n")["accuracy"]
        mean, std = grouped.mean(), grouped.std().fillna(0.0)
        sigma = np.maximum(std.to_numpy(), 0.01) if grouped.size().min() > 1 else None
        fits[str(cls)] = fit_power_law(mean.index.to_numpy(), mean.to_numpy(), sigma)
    if labeled is None:
        column = "labeled" if "labeled" in measurements else "n"
        labeled = measurements.groupby("class")[column].max().round().astype(int).to_dict()
    return LearningCurves(measurements, fits, {str(k): int(v) for k, v in labeled.items()})


def learning_curves(X, y, fractions=FRACTIONS, seeds=SEEDS, folds: int = 5, model=None,
                    progress=None) -> LearningCurves:
    """Measure per-class out-of-fold accuracy on subsamples of (X, y) and fit a power law per class."""
    measurements = measure(X, y, fractions, seeds, folds, model, progress)
    labeled = pd.Series(np.asarray(y, dtype=object).astype(str)).value_counts().to_dict()
    curves = fit_curves(measurements, labeled)
    curves.folds = folds
    return curves


def collection_plan(curves: LearningCurves, target: float = 0.9, unit: str = "samples",
                    step: int = 100) -> pd.DataFrame:
    """How many more samples each class needs to reach ``target`` accuracy, weak classes by gain per label first.

    Columns: class, labeled, accuracy (the curve at today's count), asymptote, more (samples to add; inf
    when the curve levels off below the target), more_low / more_high (a 90 % range from the fit's
    uncertainty), gain_per_label (accuracy added by the next ``step`` labels, divided by ``step``),
    reachable, plan (the sentence with units, e.g. "+340 samples").
    """
    if not 0 < target < 1:
        raise ValueError(f"Target accuracy {target!r} must be between 0 and 1 (e.g. 0.9). Fix: pass target=0.9.")
    rows = []
    for cls, fit in curves.fits.items():
        now = max(int(curves.labeled.get(cls, 0)), 1)
        acc_now = float(fit.predict(now)[0])
        gain = float(fit.predict(now + step)[0] - acc_now) / step
        need = fit.samples_for(target)
        draws = fit.draws()
        needs = np.array([samples_for(a, b, c, target) for a, b, c in draws])
        more = max(need - now, 0.0) if math.isfinite(need) else math.inf
        low, high = (max(float(np.percentile(needs, q, method="inverted_cdf")) - now, 0.0) for q in (5, 95))
        low, high = min(low, more), max(high, more)  # the range always holds the point estimate
        met = acc_now >= target
        if met:
            plan = f"already at target ({acc_now:.1%} ≥ {target:.0%})"
        elif math.isfinite(more):
            plan = f"+{math.ceil(more):,} {unit}"
        else:
            plan = (f"{UNREACHABLE}: the curve levels off at {fit.a:.1%} (< {target:.0%}); "
                    "fix labels, the guideline or the features")
        rows.append({"class": cls, "labeled": int(curves.labeled.get(cls, 0)), "accuracy": acc_now,
                     "asymptote": fit.a, "more": 0.0 if met else more, "more_low": 0.0 if met else low,
                     "more_high": 0.0 if met else high, "gain_per_label": gain,
                     "reachable": met or math.isfinite(more), "met": met, "plan": plan})
    frame = pd.DataFrame(rows, columns=["class", "labeled", "accuracy", "asymptote", "more", "more_low",
                                        "more_high", "gain_per_label", "reachable", "met", "plan"])
    frame = frame.sort_values(["met", "reachable", "gain_per_label"], ascending=[True, False, False], kind="stable")
    return frame.drop(columns="met").reset_index(drop=True)
