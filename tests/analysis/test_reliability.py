"""The reliability planner: delivered accuracy and cost of a labeling plan, and the cheapest plan for a target."""

import numpy as np
import pandas as pd
import pytest

import sda2
from sda2.analysis import reliability as rel


def pool(mean=0.82, n=300, seed=0):
    return pd.Series(np.clip(np.random.default_rng(seed).normal(mean, 0.05, n), 0.5, 1.0),
                     index=[f"w{i}" for i in range(n)])


def majority_of_three(p: float, k: int) -> float:
    """Exact accuracy of the vote of three equal labelers with uniform errors over k-1 wrong classes."""
    q = (1 - p) / (k - 1)
    all_right = p ** 3 + 3 * p ** 2 * (1 - p)
    # one right, two wrong: right wins when the two wrong differ (a three-way tie broken at random: 1/3)
    one_right = 3 * p * (1 - p) ** 2 * (1 - (k - 1) * q * q / (1 - p) ** 2) / 3
    return all_right + one_right


def test_one_labeler_delivers_their_accuracy_and_three_match_the_exact_vote():
    acc = pd.Series([0.8] * 50)
    one = rel.plan_accuracy(acc, 1, classes=10)
    assert one.accuracy == pytest.approx(0.8, abs=0.01) and one.cost == 1.0
    assert one.accuracy_low < one.accuracy < one.accuracy_high
    three = rel.plan_accuracy(acc, 3, classes=10)
    assert three.accuracy == pytest.approx(majority_of_three(0.8, 10), abs=0.008)
    assert three.cost == 3.0


def test_concentrated_errors_make_wrong_majorities_likelier():
    acc = pool()
    uniform = rel.plan_accuracy(acc, 3, classes=10)
    confusable = rel.plan_accuracy(acc, 3, classes=10, error_shares=[0.8, 0.1, 0.1])
    assert confusable.accuracy < uniform.accuracy - 0.01


def test_review_and_honeypots_raise_accuracy_and_cost():
    acc = pd.concat([pool(n=200), pd.Series([0.45] * 40, index=[f"bad{i}" for i in range(40)])])
    base = rel.plan_accuracy(acc, 3)
    reviewed = rel.plan_accuracy(acc, 3, review_share=0.2, reviewer_accuracy=0.99)
    assert reviewed.accuracy > base.accuracy + 0.02 and reviewed.cost == pytest.approx(3.2)
    honeypots = rel.plan_accuracy(acc, 3, honeypot_rate=0.1, pause_below=0.7)
    assert honeypots.workers_kept == 200 and base.workers_kept == 240
    assert honeypots.accuracy > base.accuracy and honeypots.cost == pytest.approx(3 / 0.9)
    # reviewing the least certain items first beats what the same review share would add at random
    assert reviewed.accuracy - base.accuracy > 0.2 * (0.99 - base.accuracy)


def test_ambiguous_items_make_errors_coincide_at_the_same_mean_accuracy():
    acc = pd.Series([0.7] * 100)
    plain = [rel.plan_accuracy(acc, m).accuracy for m in (1, 3)]
    ambiguous = [rel.plan_accuracy(acc, m, ambiguous_share=0.3).accuracy for m in (1, 3)]
    assert ambiguous[0] == pytest.approx(plain[0], abs=0.01)  # each labeler as accurate as measured
    assert ambiguous[1] < plain[1] - 0.02  # but three of them fail together more often


def test_cheapest_plan_reaches_the_target_at_least_cost():
    acc = pool()
    best, table = rel.cheapest_plan(acc, target=0.99, max_answers=5, review_shares=(0.0, 0.1, 0.2, 0.3, 0.5))
    assert best is not None and best.accuracy >= 0.99
    assert table["cost"].is_monotonic_increasing
    cheaper = table[table["cost"] < best.cost - 1e-9]
    assert not cheaper["meets_target"].any()
    assert len(table) == 25
    none, _ = rel.cheapest_plan(pd.Series([0.3] * 10), target=0.999, max_answers=2, review_shares=(0.0,))
    assert none is None


def test_error_spread_from_answers():
    answers = pd.DataFrame({"item": [1, 1, 2, 2, 3], "label": ["cat", "dog", "dog", "dog", "cat"]})
    truth = pd.Series({1: "cat", 2: "dog", 3: "dog"})
    spread = rel.error_spread(answers, truth)
    assert spread[0] == pytest.approx(1.0) and spread.sum() == pytest.approx(1.0)


def test_bad_input_names_the_fix():
    with pytest.raises(ValueError, match="No labeler accuracies"):
        rel.plan_accuracy(pd.Series(dtype=float))
    with pytest.raises(ValueError, match="shares, not percentages"):
        rel.plan_accuracy(pd.Series([82.0]))
    with pytest.raises(ValueError, match="honeypot_rate"):
        rel.plan_accuracy(pool(), honeypot_rate=1.0)
    with pytest.raises(ValueError, match="target"):
        rel.cheapest_plan(pool(), target=99)


def test_notebook_api():
    estimate = sda2.plan_labeling(pool(), answers_per_item=3, review_share=0.1)
    best, table = sda2.cheapest_plan(pool(), target=0.95, max_answers=3, review_shares=(0.0, 0.2))
    assert estimate.review_share == 0.1 and best.accuracy >= 0.95 and len(table) == 6
