"""A reliability planner: the label accuracy a labeling plan delivers, its cost, and the cheapest plan for a target.

A plan is: ``answers_per_item`` labelers per item (drawn from the pool whose accuracies were measured, e.g. by
:func:`sda2.analysis.consensus.aggregate_answers` or by gold), a ``honeypot_rate`` (the share of each labeler's
answers spent on hidden gold items; with it, labelers whose accuracy is below ``pause_below`` are caught and
paused, so they leave the pool), and a ``review_share`` (the share of items a reviewer of ``reviewer_accuracy``
settles: the least certain ones first). The delivered accuracy is estimated by simulating items (a fixed seed,
so the same plan always gives the same figure): each labeler is right with their accuracy and otherwise gives a
wrong class drawn from ``error_shares`` (how the crowd's errors spread over the wrong classes, most likely first:
real errors concentrate on look-alike classes, which makes wrong majorities likelier than uniform errors would);
the answers are combined by the accuracy-weighted vote (the Bayes decision when accuracies are known).

Cost is counted in answers per delivered item: ``answers_per_item / (1 - honeypot_rate)`` (the honeypot answers
are paid for too) plus ``review_share * review_cost`` (a review counted as ``review_cost`` answers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sda2.analysis.calibration import wilson_interval

SIMULATED_ITEMS = 40_000


@dataclass(frozen=True)
class PlanEstimate:
    """What one labeling plan delivers and costs."""

    answers_per_item: int
    honeypot_rate: float
    review_share: float
    accuracy: float  # expected share of delivered labels that are right
    accuracy_low: float  # 95 % interval of the simulation (Wilson), not of the measured accuracies
    accuracy_high: float
    cost: float  # answers per delivered item, honeypots and reviews included
    workers_kept: int  # labelers left in the pool after honeypot pausing

    def as_dict(self) -> dict:
        """The estimate as a plain dict (for tables and JSON)."""
        return dict(self.__dict__)


def _check_pool(accuracies, weights=None) -> tuple[np.ndarray, np.ndarray]:
    """(accuracies, answer shares) as arrays; ValueError naming the fix for an empty or out-of-range pool."""
    acc = pd.Series(accuracies, dtype=float).dropna()
    if acc.empty:
        raise ValueError("No labeler accuracies given. Fix: pass a Series worker -> accuracy (e.g. "
                         "sda2.aggregate_answers(answers).worker_accuracy).")
    if ((acc < 0) | (acc > 1)).any():
        raise ValueError("Labeler accuracies must lie in [0, 1]. Fix: pass shares, not percentages.")
    if weights is None:
        share = np.ones(len(acc))
    else:
        share = pd.Series(weights, dtype=float).reindex(acc.index).fillna(0.0).to_numpy()
        if share.sum() <= 0 or (share < 0).any():
            raise ValueError("weights must be non-negative with a positive sum (each labeler's share of answers). "
                             "Fix: pass answer counts per worker, or None for equal shares.")
    return acc.to_numpy(), share / share.sum()


def distinct_draws(rng: np.random.Generator, shares: np.ndarray, n: int, m: int) -> np.ndarray:
    """``n`` rows of ``m`` labelers drawn by ``shares``, distinct within a row where the pool allows (redrawn)."""
    workers = rng.choice(len(shares), size=(n, m), p=shares)
    for _ in range(20):
        ordered = np.sort(workers, axis=1)
        dup = np.zeros_like(workers, dtype=bool)
        dup[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
        rows = np.nonzero(dup.any(1))[0]
        if not len(rows):
            break
        # redraw the later copies of a repeated labeler
        first = np.zeros((len(rows), m), dtype=bool)
        for j in range(1, m):
            first[:, j] = (workers[rows, j][:, None] == workers[rows, :j]).any(1)
        workers[rows[:, None].repeat(m, 1)[first], np.nonzero(first)[1]] = rng.choice(
            len(shares), size=int(first.sum()), p=shares)
    return workers


def simulate_items(accuracies: np.ndarray, shares: np.ndarray, answers_per_item: int, classes: int,
                   error_shares: np.ndarray, reviewer_accuracy: float = 0.99, n: int = SIMULATED_ITEMS,
                   seed: int = 0, ambiguous_share: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For ``n`` simulated items: (weighted vote right, its posterior confidence, right once a reviewer's answer
    joins the vote with the weight of ``reviewer_accuracy``).

    ``ambiguous_share`` of the items look like their most confusable class (a cat that could be a dog): there a
    labeler who would be right picks either of the two with equal chance, and elsewhere each labeler is right
    more often, so their mean accuracy stays the one measured. It is what makes real errors coincide.
    """
    rng = np.random.default_rng(seed)
    m = min(answers_per_item, len(accuracies))
    truth = rng.integers(0, classes, n)
    # a wrong answer: the r-th most likely wrong class for this true class (a fixed random order per class)
    order = np.stack([rng.permutation(np.delete(np.arange(classes), c)) for c in range(classes)])
    ambiguous = rng.random(n) < ambiguous_share
    lift = 1.0 / (1.0 - ambiguous_share / 2)

    def answer(acc: np.ndarray, lifted: bool = True) -> np.ndarray:
        if lifted:
            acc = np.minimum(acc * lift, 1.0)
        right = rng.random(acc.shape) < acc
        rank = rng.choice(len(error_shares), size=acc.shape, p=error_shares)
        wrong = order[truth[:, None], rank]
        if lifted:  # on an ambiguous item half of the "right" answers go to the look-alike class
            swap = right & ambiguous[:, None] & (rng.random(acc.shape) < 0.5)
            right = right & ~swap
            wrong = np.where(swap, order[truth, 0][:, None], wrong)
        return np.where(right, truth[:, None], wrong)

    def log_odds(acc: np.ndarray) -> np.ndarray:
        return np.log(acc) - np.log((1 - acc) / max(classes - 1, 1))

    acc = np.clip(accuracies[distinct_draws(rng, shares, n, m)], 1e-3, 1 - 1e-3)
    labels, weight = answer(acc), log_odds(acc)
    score = np.zeros((n, classes))
    rows = np.arange(n)
    for j in range(m):
        np.add.at(score, (rows, labels[:, j]), weight[:, j])
    tie = rng.random((n, classes)) * 1e-9  # ties broken at random
    post = np.exp(score - score.max(1, keepdims=True))
    post /= post.sum(1, keepdims=True)
    chosen = (post + tie).argmax(1)
    reviewer = np.clip(np.full((n, 1), reviewer_accuracy), 1e-3, 1 - 1e-3)
    np.add.at(score, (rows, answer(reviewer, lifted=False)[:, 0]), log_odds(reviewer)[:, 0])
    reviewed = (score + tie).argmax(1)
    return chosen == truth, post[rows, chosen], reviewed == truth


def _check_plan(answers_per_item, honeypot_rate, reviewer_accuracy, classes, review_shares) -> None:
    """ValueError naming the fix for a plan parameter out of range."""
    if not 1 <= int(answers_per_item) <= 50:
        raise ValueError(f"answers_per_item must be 1 to 50, not {answers_per_item}. Fix: pass a small integer.")
    if not 0 <= honeypot_rate < 1:
        raise ValueError(f"honeypot_rate must be a share in [0, 1), not {honeypot_rate}. Fix: 0.05 means 5 %.")
    if not 0 < reviewer_accuracy <= 1:
        raise ValueError(f"reviewer_accuracy must be a share in (0, 1], not {reviewer_accuracy}. Fix: 0.99 means 99 %.")
    if any(not 0 <= r <= 1 for r in review_shares):
        raise ValueError(f"review shares must lie in [0, 1], not {list(review_shares)}. Fix: 0.1 means 10 %.")
    if classes < 2:
        raise ValueError(f"classes must be at least 2, not {classes}. Fix: pass the number of classes.")


def plan_estimates(accuracies, answers_per_item: int = 3, honeypot_rate: float = 0.0, review_shares=(0.0,),
                   reviewer_accuracy: float = 0.99, classes: int = 10, error_shares=None, weights=None,
                   pause_below: float = 0.7, review_cost: float = 1.0, n: int = SIMULATED_ITEMS,
                   seed: int = 0, ambiguous_share: float = 0.0) -> list[PlanEstimate]:
    """One :class:`PlanEstimate` per review share for ``answers_per_item`` answers (one simulation shared by all)."""
    acc, share = _check_pool(accuracies, weights)
    _check_plan(answers_per_item, honeypot_rate, reviewer_accuracy, classes, review_shares)
    spread = np.full(classes - 1, 1.0) if error_shares is None else np.asarray(error_shares, dtype=float)[:classes - 1]
    spread = np.pad(spread, (0, classes - 1 - len(spread)))
    spread = spread / spread.sum()
    if honeypot_rate > 0:  # honeypots catch and pause the labelers below pause_below
        keep = acc >= pause_below
        if keep.any():
            acc, share = acc[keep], share[keep] / share[keep].sum()
    right, confidence, fixed = simulate_items(acc, share, int(answers_per_item), classes, spread, reviewer_accuracy,
                                              n, seed, ambiguous_share)
    least_sure = np.argsort(confidence, kind="stable")
    out = []
    for review_share in review_shares:
        delivered = right.copy()
        take = least_sure[:int(round(review_share * n))]
        delivered[take] = fixed[take]
        accuracy = float(delivered.mean())
        low, high = wilson_interval(accuracy * n, n)
        cost = int(answers_per_item) / (1 - honeypot_rate) + review_share * review_cost
        out.append(PlanEstimate(int(answers_per_item), float(honeypot_rate), float(review_share), accuracy,
                                float(low), float(high), float(cost), int(len(acc))))
    return out


def plan_accuracy(accuracies, answers_per_item: int = 3, honeypot_rate: float = 0.0, review_share: float = 0.0,
                  **kwargs) -> PlanEstimate:
    """Expected accuracy of the delivered labels and cost (answers per item) of one plan (see the module doc);
    ``kwargs``: reviewer_accuracy, classes, error_shares, weights, pause_below, review_cost, n, seed,
    ambiguous_share (see :func:`simulate_items`)."""
    return plan_estimates(accuracies, answers_per_item, honeypot_rate, (review_share,), **kwargs)[0]


def cheapest_plan(accuracies, target: float = 0.99, max_answers: int = 7,
                  review_shares=(0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0), honeypot_rate: float = 0.05,
                  **kwargs) -> tuple[PlanEstimate | None, pd.DataFrame]:
    """(the cheapest plan whose expected accuracy reaches ``target``, or None; every plan tried, cheapest first).

    Searches answers per item 1..``max_answers`` and the ``review_shares``; ``kwargs`` go to :func:`plan_estimates`.
    """
    if not 0 < target < 1:
        raise ValueError(f"target must be a share between 0 and 1, not {target}. Fix: 0.99 means 99 %.")
    plans = [p for m in range(1, max_answers + 1)
             for p in plan_estimates(accuracies, m, honeypot_rate, review_shares, **kwargs)]
    table = pd.DataFrame([p.as_dict() for p in plans]).sort_values(["cost", "accuracy"], ascending=[True, False],
                                                                     kind="stable").reset_index(drop=True)
    table["meets_target"] = table["accuracy"] >= target
    good = [p for p in plans if p.accuracy >= target]
    best = min(good, key=lambda p: (p.cost, -p.accuracy)) if good else None
    return best, table


def error_spread(answers: pd.DataFrame, truth: pd.Series) -> np.ndarray:
    """How wrong answers spread over the wrong classes (shares, most likely first), from answers with a known or
    consensus truth (item -> label): the mean over true classes of the sorted shares of its wrong answers."""
    true = truth.reindex(answers["item"]).to_numpy()
    wrong = answers.loc[(answers["label"].to_numpy() != true) & pd.notna(true)]
    if wrong.empty:
        return np.array([1.0])
    table = pd.crosstab(truth.reindex(wrong["item"]).to_numpy(), wrong["label"].to_numpy())
    rows = -np.sort(-table.to_numpy(dtype=float), axis=1)
    rows = rows / rows.sum(1, keepdims=True)
    return rows.mean(0)
