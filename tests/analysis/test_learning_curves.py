"""Per-class learning curves and the collection plan on synthetic data whose difficulty per class is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sda2.analysis import learning_curves as lc


def blobs(spec: dict[str, np.ndarray], per_class: int = 250, seed: int = 0):
    """Gaussian blobs (unit variance) around the given means, ``per_class`` rows each."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(size=(per_class, len(m))) + m for m in spec.values()])
    y = np.repeat(list(spec), per_class)
    return X, y


def test_fit_recovers_a_known_power_law():
    rng = np.random.default_rng(1)
    n = np.array([20, 40, 80, 160, 320, 640], dtype=float)
    truth = lc.power_law(n, 0.95, 1.2, 0.6)
    fit = lc.fit_power_law(n, truth + rng.normal(0, 0.002, size=n.size), sigma=np.full(n.size, 0.002))
    assert fit.ok
    assert fit.a == pytest.approx(0.95, abs=0.01)
    assert fit.c == pytest.approx(0.6, abs=0.1)
    # labels needed for 0.9: (b / (a - 0.9)) ** (1 / c) = 24 ** (1/0.6) ≈ 200
    assert fit.samples_for(0.9) == pytest.approx(24 ** (1 / 0.6), rel=0.15)
    low, high = fit.band([100.0, 1000.0])
    assert np.all(low <= fit.predict([100.0, 1000.0]) + 1e-9) and np.all(fit.predict([100.0, 1000.0]) <= high + 1e-9)


def test_plan_from_known_curves_orders_by_gain_and_says_unreachable_plainly():
    n = np.array([10, 20, 40, 70, 100], dtype=float)
    rows = []
    for cls, (a, b, c) in {"slow": (0.99, 0.9, 0.4), "fast": (0.99, 3.0, 1.0), "capped": (0.8, 0.5, 0.5),
                           "done": (0.999, 0.05, 1.0)}.items():
        for seed in range(3):
            noise = np.random.default_rng(seed).normal(0, 0.003, n.size)
            rows += [{"seed": seed, "class": cls, "n": k, "labeled": int(k), "accuracy": v}
                     for k, v in zip(n, lc.power_law(n, a, b, c) + noise)]
    curves = lc.fit_curves(pd.DataFrame(rows))
    plan = lc.collection_plan(curves, target=0.9, unit="images").set_index("class")
    assert plan.loc["slow", "more"] == pytest.approx((0.9 / 0.09) ** (1 / 0.4) - 100, rel=0.25)  # ≈ 216
    assert plan.loc["slow", "plan"].startswith("+") and plan.loc["slow", "plan"].endswith(" images")
    assert math.isinf(plan.loc["capped", "more"]) and not plan.loc["capped", "reachable"]
    assert lc.UNREACHABLE in plan.loc["capped", "plan"]
    assert plan.loc["capped", "asymptote"] == pytest.approx(0.8, abs=0.02)
    assert plan.loc["done", "more"] == 0 and plan.loc["done", "plan"].startswith("already at target")
    assert plan.loc["slow", "more_low"] <= plan.loc["slow", "more"] <= plan.loc["slow", "more_high"]
    order = list(plan.index)
    assert order[-1] == "done" and order.index("capped") > order.index("slow")  # reachable weak classes first


def test_measured_curves_the_hard_class_needs_more_and_twins_are_unreachable():
    d = 80
    spread = np.r_[0, 0, np.ones(d - 2)] / np.sqrt(d - 2)  # a weak signal spread over many features
    X, y = blobs({"easy": np.r_[8, np.zeros(d - 1)], "other": np.r_[0, 8, np.zeros(d - 2)],
                  "hard": 2.0 * spread, "near": -2.0 * spread,
                  "twin_1": np.r_[0, -8, np.zeros(d - 2)], "twin_2": np.r_[0, -8, np.zeros(d - 2)]})
    curves = lc.learning_curves(X, y, seeds=(0, 1))
    assert set(curves.measurements["class"]) == set(y) and curves.labeled["hard"] == 250
    assert sorted(curves.measurements["fraction"].unique()) == list(lc.FRACTIONS)
    points = curves.summary().set_index(["class", "fraction"])["accuracy"]
    assert points["hard", 1.0] - points["hard", 0.1] > 0.1  # the hard class learns slowly
    assert points["easy", 0.1] > points["hard", 0.1] + 0.1  # the easy one is learnt from few samples
    plan = lc.collection_plan(curves, target=0.97).set_index("class")
    assert plan.loc["easy", "more"] == 0 and plan.loc["easy", "plan"].startswith("already at target")
    assert 0 < plan.loc["hard", "more"] < math.inf  # the hard class needs more samples, a finite number
    for twin in ("twin_1", "twin_2"):  # identical distributions: no amount of data separates them
        assert curves.fits[twin].a < 0.75
        assert not plan.loc[twin, "reachable"] and math.isinf(plan.loc[twin, "more"])


def test_measure_refuses_a_single_class_with_the_fix():
    with pytest.raises(ValueError, match="at least 2 classes"):
        lc.measure(np.zeros((10, 2)), ["a"] * 10)
