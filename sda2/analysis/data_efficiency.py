"""Data efficiency: how many labels each selection strategy needs to reach an accuracy, against random.

The experiment, per seed: a stratified held-out part (``test_size``) is set aside for scoring; the rest is
the unlabeled pool. Each strategy picks subsets of the pool at every budget; the default classifier
(:func:`sda2.analysis.oof.default_classifier`: floor-scaled features + L2 logistic regression) is trained
on the picked rows with their true labels and scored on the held-out part.

- random and diversity need no model: one ordered pick of the largest budget gives every budget as a
  prefix (both are nested: greedy k-center picks the same first rows whatever the budget).
- strategies that need a model (class_balanced on predicted labels, uncertainty, hybrid) start from the
  same ``initial`` random rows as random does, then grow in rounds: a model trained on the rows labeled so
  far scores the pool and the strategy adds rows, at most ``growth`` x the labeled set (and at least
  ``initial``) per round: 50 → 100 → 150 → 200 → 300 → 450 → 500 → 750 → 1000 for the defaults (eight
  rounds, the batch sizes a labeling team would work in). Labeled rows count towards class balance.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import train_test_split
from tqdm.auto import tqdm

from sda2.analysis import active_learning
from sda2.analysis.oof import default_classifier

BUDGETS = (100, 200, 500, 1000)
STRATEGIES = ("random", "class_balanced", "least_confidence", "margin", "entropy", "diversity", "hybrid")
MODEL_FREE = ("random", "diversity")


def _fit(model, X: np.ndarray, y: np.ndarray):
    """``model`` fitted on (X, y); None when y holds a single class (nothing to learn yet)."""
    if len(np.unique(y)) < 2:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence warnings on tiny training sets
        return clone(model).fit(X, y)


def _accuracy(fitted, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray) -> float:
    if fitted is None:  # a single class seen: predicting it is all a model could do
        return float(np.mean(y_test == y_train[0]))
    return float(fitted.score(X_test, y_test))


def _model_free(strategy: str, X_pool, y_pool, X_test, y_test, budgets, seed: int, model) -> list[dict]:
    order = active_learning.select(strategy, max(budgets), embeddings=X_pool, seed=seed)
    rows = []
    for b in budgets:
        picked = order[:b]
        fitted = _fit(model, X_pool[picked], y_pool[picked])
        rows.append({"budget": b, "accuracy": _accuracy(fitted, y_pool[picked], X_test, y_test)})
    return rows


def _with_model(strategy: str, X_pool, y_pool, X_test, y_test, budgets, seed: int, model, initial: int,
                growth: float) -> list[dict]:
    labeled = np.zeros(len(y_pool), dtype=bool)
    labeled[active_learning.random_rows(len(y_pool), min(initial, min(budgets)), seed=seed)] = True
    rows = []
    for b in budgets:
        while labeled.sum() < b:
            fitted = _fit(model, X_pool[labeled], y_pool[labeled])
            if fitted is None:  # one class so far: the model cannot score, so take random rows
                extra = active_learning.random_rows(len(y_pool), b - int(labeled.sum()), seed=seed, labeled=labeled)
            else:
                proba = fitted.predict_proba(X_pool)
                predicted = np.where(labeled, y_pool, fitted.classes_[proba.argmax(axis=1)])
                step = min(b - int(labeled.sum()), max(initial, int(growth * labeled.sum())))
                extra = active_learning.select(strategy, step, embeddings=X_pool, probabilities=proba, seed=seed,
                                         labels=predicted if strategy == "class_balanced" else None, labeled=labeled)
            labeled[extra] = True
        fitted = _fit(model, X_pool[labeled], y_pool[labeled])
        rows.append({"budget": b, "accuracy": _accuracy(fitted, y_pool[labeled], X_test, y_test)})
    return rows


def data_efficiency(X, y, budgets=BUDGETS, strategies=STRATEGIES, seeds=(0, 1, 2), *, test_size: float = 0.2,
                    initial: int = 50, growth: float = 0.5, classifier=None, progress: bool = True) -> pd.DataFrame:
    """Held-out accuracy of the default classifier trained on each strategy's picks: strategy, budget, seed, accuracy."""
    X = np.asarray(X, dtype=np.float32)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) != len(y):
        raise ValueError(f"X must be 2-D with one row per label; got shape {X.shape} for {len(y):,} labels.")
    budgets = sorted({int(b) for b in budgets})
    if not budgets or budgets[0] < 1:
        raise ValueError(f"budgets are numbers of labels: whole numbers >= 1, not {budgets!r}.")
    unknown = [s for s in strategies if s not in active_learning.STRATEGIES]
    if unknown:
        raise ValueError(f"Unknown strategies {unknown}. Fix: use names from {', '.join(active_learning.STRATEGIES)}.")
    pool_size = len(y) - int(np.ceil(test_size * len(y)))
    if budgets[-1] > pool_size:
        raise ValueError(f"The largest budget ({budgets[-1]:,}) exceeds the unlabeled pool ({pool_size:,} rows after "
                         f"holding out {test_size:.0%}). Fix: use smaller budgets or more data.")
    model = classifier if classifier is not None else default_classifier()
    records = []
    with tqdm(total=len(seeds) * len(strategies), desc="data efficiency", disable=not progress) as bar:
        for seed in seeds:
            X_pool, X_test, y_pool, y_test = train_test_split(X, y, test_size=test_size, stratify=y,
                                                              random_state=seed)
            for strategy in strategies:
                if strategy in MODEL_FREE:
                    rows = _model_free(strategy, X_pool, y_pool, X_test, y_test, budgets, seed, model)
                else:
                    rows = _with_model(strategy, X_pool, y_pool, X_test, y_test, budgets, seed, model, initial,
                                      growth)
                records += [{"strategy": strategy, "budget": r["budget"], "seed": seed, "accuracy": r["accuracy"]}
                            for r in rows]
                bar.update()
    return pd.DataFrame.from_records(records, columns=["strategy", "budget", "seed", "accuracy"])


def accuracy_table(df: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation of accuracy over seeds, per strategy and budget."""
    return (df.groupby(["strategy", "budget"])["accuracy"].agg(["mean", "std", "count"])
            .reset_index().rename(columns={"count": "seeds"}))


def _first_crossing(budgets: np.ndarray, accuracy: np.ndarray, target: float) -> float:
    """The budget at which the (linearly interpolated) accuracy curve first reaches ``target``; NaN if never."""
    above = np.flatnonzero(accuracy >= target)
    if not len(above):
        return float("nan")
    k = above[0]
    if k == 0:
        return float(budgets[0])
    b0, b1, a0, a1 = budgets[k - 1], budgets[k], accuracy[k - 1], accuracy[k]
    return float(b0 + (target - a0) / (a1 - a0) * (b1 - b0))


def labels_needed(df: pd.DataFrame, target_accuracy: float) -> pd.DataFrame:
    """Per strategy, labels needed to reach ``target_accuracy`` (mean over seeds, interpolated between budgets;
    NaN when never reached; the smallest budget when reached already there) and the share of random's need."""
    table = accuracy_table(df)
    out = []
    for strategy, part in table.groupby("strategy"):
        part = part.sort_values("budget")
        out.append({"strategy": strategy, "target_accuracy": target_accuracy,
                    "labels_needed": _first_crossing(part["budget"].to_numpy(float), part["mean"].to_numpy(),
                                                     target_accuracy)})
    frame = pd.DataFrame(out).set_index("strategy")
    random_need = frame["labels_needed"].get("random", np.nan)
    frame["share_of_random"] = frame["labels_needed"] / random_need
    return frame.sort_values("labels_needed")


def label_savings(df: pd.DataFrame) -> pd.DataFrame:
    """For each budget of random: its mean accuracy as the target, and the labels each strategy needs for it."""
    table = accuracy_table(df)
    random_curve = table[table["strategy"] == "random"].sort_values("budget")
    if random_curve.empty:
        raise ValueError("The results hold no 'random' strategy to compare against. Fix: include 'random'.")
    parts = []
    for budget, target in zip(random_curve["budget"], random_curve["mean"]):
        need = labels_needed(df, float(target)).reset_index()
        need["random_budget"] = int(budget)
        need["share_of_random"] = need["labels_needed"] / budget
        parts.append(need)
    return pd.concat(parts, ignore_index=True)[["random_budget", "target_accuracy", "strategy", "labels_needed",
                                                "share_of_random"]]
