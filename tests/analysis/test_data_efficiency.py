"""The data-efficiency experiment on sklearn's digits (small budgets), and labels-needed on hand-made curves."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression

from sda2.analysis.data_efficiency import (
    STRATEGIES,
    accuracy_table,
    data_efficiency,
    label_savings,
    labels_needed,
)


class CountingLogisticRegression(LogisticRegression):
    """A real logistic regression that records how many labeled rows each fit saw."""

    sizes: ClassVar[list[int]] = []

    def fit(self, X, y, sample_weight=None):
        CountingLogisticRegression.sizes.append(len(X))
        return super().fit(X, y, sample_weight)


@pytest.fixture(scope="module")
def digits_xy():
    X, y = load_digits(return_X_y=True)
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def results(digits_xy):
    return data_efficiency(*digits_xy, budgets=(20, 60), seeds=(0,), initial=10, progress=False)


def test_results_are_tidy_and_complete(results):
    assert list(results.columns) == ["strategy", "budget", "seed", "accuracy"]
    assert len(results) == len(STRATEGIES) * 2
    assert set(results["strategy"]) == set(STRATEGIES) and set(results["budget"]) == {20, 60}
    assert results["accuracy"].between(0, 1).all()
    means = accuracy_table(results).pivot(index="strategy", columns="budget", values="mean")
    assert (means[60] > means[20]).all()  # more labels help every strategy
    assert means.loc["random", 60] > 0.75  # the default classifier learns digits from 60 random labels


def test_each_strategy_trains_on_exactly_its_budget(digits_xy):
    CountingLogisticRegression.sizes = []
    data_efficiency(*digits_xy, budgets=(30, 60), strategies=["random", "margin"], seeds=(0,), initial=10,
                    classifier=CountingLogisticRegression(max_iter=200), progress=False)
    # random: one fit per budget; margin: a round fit at 10 and 20 labels, scored at 30, a round fit at 30 and 45
    # (each round adds max(initial, half the labeled set)), scored at 60
    assert CountingLogisticRegression.sizes == [30, 60, 10, 20, 30, 30, 45, 60]


def test_labels_needed_interpolates_between_budgets():
    df = pd.DataFrame({"strategy": ["random"] * 4 + ["smart"] * 4, "budget": [100, 200, 500, 1000] * 2,
                       "seed": 0, "accuracy": [0.5, 0.6, 0.8, 0.9, 0.6, 0.8, 0.9, 0.95]})
    need = labels_needed(df, 0.9)
    assert need.loc["random", "labels_needed"] == 1000 and need.loc["smart", "labels_needed"] == 500
    assert need.loc["smart", "share_of_random"] == 0.5
    assert labels_needed(df, 0.7).loc["smart", "labels_needed"] == pytest.approx(150)  # halfway 0.6 → 0.8
    assert np.isnan(labels_needed(df, 0.99).loc["smart", "labels_needed"])
    savings = label_savings(df).set_index(["random_budget", "strategy"])
    assert savings.loc[(1000, "smart"), "share_of_random"] == 0.5
    assert savings.loc[(500, "smart"), "labels_needed"] == 200


def test_bad_input_is_named(digits_xy):
    X, y = digits_xy
    with pytest.raises(ValueError, match="largest budget \\(5,000\\) exceeds the unlabeled pool"):
        data_efficiency(X, y, budgets=(100, 5000), progress=False)
    with pytest.raises(ValueError, match="Unknown strategies \\['smart'\\]"):
        data_efficiency(X, y, strategies=["smart"], progress=False)
    with pytest.raises(ValueError, match="no 'random' strategy"):
        label_savings(pd.DataFrame({"strategy": ["margin"], "budget": [10], "seed": [0], "accuracy": [0.5]}))
