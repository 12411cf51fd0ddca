"""Inter-annotator agreement on nominal labels, and a consensus label per sample.

Input is the annotation records (one row per human answer, columns ``sample_id``, ``annotator``,
``label`` and optionally ``created_at``), turned by :func:`ratings_matrix` into one row per sample and one
column per labeler holding that labeler's latest label (missing where they did not label the sample).
Every statistic below takes that matrix.

- Cohen's kappa for every pair of labelers, on the samples both labeled.
- Fleiss' kappa: it needs the same number of ratings on every sample, so it is computed on the samples
  carrying the most common number of ratings (at least 2); the others are counted as ``excluded``.
  Krippendorff's alpha needs no such cut: it uses every sample with at least two ratings.
- Krippendorff's alpha (nominal), from the coincidence matrix, missing ratings allowed.
- Per class: specific agreement (given one labeler chose the class, the chance another did too) and
  the per-category kappa (Fleiss' kappa of "this class" vs "any other"). Multi-tag labels ("|"-joined
  sorted tags) count as one category for the whole-label statistics (exact-set agreement); per class,
  each tag is looked at on its own.
- Consensus: majority vote, and a weighted vote (the sparse EM of :mod:`sda2.analysis.consensus`: each labeler's
  accuracy and the per-sample class posterior estimated together, optionally with model probabilities as the prior).
- Each labeler's agreement with the leave-one-out majority of the others, and the samples with the most
  disagreement, for adjudication.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd

from sda2.analysis.consensus import aggregate_answers, answers_from_ratings

TAG_SEP = "|"
# Landis & Koch (1977): upper bound of each band and its name
LANDIS_KOCH = ((0.0, "poor"), (0.20, "slight"), (0.40, "fair"), (0.60, "moderate"), (0.80, "substantial"),
               (1.0, "almost perfect"))
_REQUIRED = ("sample_id", "annotator", "label")
CONSENSUS_COLUMNS = ["sample_id", "ratings", "majority", "majority_votes", "agreement", "pairwise_agreement", "tie",
                     "weighted", "weighted_confidence", "votes"]


def landis_koch(value: float) -> str:
    """The Landis & Koch reading of a kappa or alpha ("poor" … "almost perfect"; "undefined" for NaN)."""
    if value is None or not np.isfinite(value):
        return "undefined"
    return next(name for bound, name in LANDIS_KOCH if value <= bound + 1e-12)


def latest_answers(annotations: pd.DataFrame) -> pd.DataFrame:
    """One row per (sample, labeler): their latest answer (by ``created_at`` when present); missing labels dropped
    ("" stays: for multi-tag labels it is the answer "no tag applies")."""
    missing = [c for c in _REQUIRED if c not in annotations.columns]
    if missing:
        raise ValueError(f"Annotation records lack the column(s) {missing}. Fix: pass the frame of "
                         "sda2.curation.annotations.annotations_frame (sample_id, annotator, label, ...).")
    frame = annotations[annotations["label"].notna()]
    if "created_at" in frame.columns:
        frame = frame.sort_values("created_at", kind="stable")
    return frame.drop_duplicates(["sample_id", "annotator"], keep="last").reset_index(drop=True)


def ratings_matrix(annotations: pd.DataFrame) -> pd.DataFrame:
    """Samples x labelers: each labeler's latest label of each sample (NaN where they gave none)."""
    latest = latest_answers(annotations)
    matrix = latest.pivot(index="sample_id", columns="annotator", values="label")
    matrix.columns.name = "annotator"
    return matrix.reindex(columns=sorted(matrix.columns, key=str))


def _encode(ratings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(codes, categories): labels as integer codes (-1 for missing), categories sorted."""
    values = ratings.to_numpy(dtype=object)
    present = pd.notna(values)
    categories = np.array(sorted({str(v) for v in values[present]}), dtype=object)
    codes = np.full(values.shape, -1, dtype=np.int64)
    codes[present] = np.searchsorted(categories, values[present].astype(str))
    return codes, categories


def _count_table(codes: np.ndarray, k: int) -> np.ndarray:
    """Units x categories: how many ratings each unit got in each category."""
    table = np.zeros((codes.shape[0], k), dtype=np.int64)
    rows, cols = np.nonzero(codes >= 0)
    np.add.at(table, (rows, codes[rows, cols]), 1)
    return table


def _kappa(a: np.ndarray, b: np.ndarray, k: int) -> tuple[float, float]:
    """(observed agreement, Cohen's kappa) of two aligned code arrays (NaN kappa when chance agreement is 1)."""
    if len(a) == 0:
        return np.nan, np.nan
    confusion = np.bincount(a * k + b, minlength=k * k).reshape(k, k) / len(a)
    observed = float(np.trace(confusion))
    expected = float(confusion.sum(1) @ confusion.sum(0))
    return observed, (np.nan if np.isclose(expected, 1.0) else (observed - expected) / (1 - expected))


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two labelers' label sequences, on the positions where both gave a label."""
    frame = pd.DataFrame({"a": pd.Series(list(a), dtype=object), "b": pd.Series(list(b), dtype=object)})
    codes, categories = _encode(frame)
    both = (codes >= 0).all(1)
    return _kappa(codes[both, 0], codes[both, 1], len(categories))[1]


def pairwise_kappa(ratings: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa of every pair of labelers on the samples both labeled (annotator_a, annotator_b, samples,
    observed agreement, kappa); pairs without common samples are left out."""
    codes, categories = _encode(ratings)
    rows = []
    for i, j in combinations(range(codes.shape[1]), 2):
        both = (codes[:, i] >= 0) & (codes[:, j] >= 0)
        if both.any():
            observed, kappa = _kappa(codes[both, i], codes[both, j], len(categories))
            rows.append((ratings.columns[i], ratings.columns[j], int(both.sum()), observed, kappa))
    return pd.DataFrame(rows, columns=["annotator_a", "annotator_b", "samples", "observed", "kappa"])


def kappa_matrix(pairs: pd.DataFrame, annotators=None) -> pd.DataFrame:
    """The pairwise kappas as a symmetric labeler x labeler matrix (1 on the diagonal, NaN for pairs never compared)."""
    names = list(annotators) if annotators is not None else sorted(
        set(pairs["annotator_a"]) | set(pairs["annotator_b"]), key=str)
    position = {name: i for i, name in enumerate(names)}
    values = np.full((len(names), len(names)), np.nan)
    for a, b, kappa in pairs[["annotator_a", "annotator_b", "kappa"]].itertuples(index=False):
        values[position[a], position[b]] = values[position[b], position[a]] = kappa
    np.fill_diagonal(values, 1.0)
    return pd.DataFrame(values, index=names, columns=names)


@dataclass(frozen=True)
class FleissResult:
    """Fleiss' kappa and the samples it was computed on."""

    kappa: float
    samples: int  # samples used: those with exactly ``raters_per_sample`` ratings
    raters_per_sample: int  # the most common number of ratings per sample (0 when no sample has 2+)
    excluded: int  # samples with 2+ ratings but another count, left out (Krippendorff's alpha keeps them)
    observed: float  # mean pairwise agreement on a sample
    expected: float  # agreement expected by chance from the overall label shares


def _fleiss_subset(table: np.ndarray) -> tuple[np.ndarray, int, int]:
    """(rows of ``table`` with the modal rating count ≥ 2, that count, samples with 2+ ratings left out)."""
    m = table.sum(1)
    counts = pd.Series(m[m >= 2]).value_counts()
    if counts.empty:
        return table[:0], 0, 0
    modal = int(max(counts.index[counts == counts.max()]))  # ties: the larger count
    keep = m == modal
    return table[keep], modal, int((m >= 2).sum() - keep.sum())


def fleiss_kappa(ratings: pd.DataFrame) -> FleissResult:
    """Fleiss' kappa on the samples that carry the most common number of ratings (see :class:`FleissResult`)."""
    codes, categories = _encode(ratings)
    table, m, excluded = _fleiss_subset(_count_table(codes, len(categories)))
    if len(table) == 0:
        return FleissResult(np.nan, 0, 0, excluded, np.nan, np.nan)
    n = len(table)
    shares = table.sum(0) / (n * m)
    observed = float(((table * (table - 1)).sum(1) / (m * (m - 1))).mean())
    expected = float((shares ** 2).sum())
    kappa = np.nan if np.isclose(expected, 1.0) else (observed - expected) / (1 - expected)
    return FleissResult(float(kappa), n, m, excluded, observed, expected)


def _alpha_from_table(table: np.ndarray) -> float:
    """Krippendorff's nominal alpha of a units x categories count table (units with < 2 ratings are ignored)."""
    m = table.sum(1)
    table = table[m >= 2].astype(float)
    m = m[m >= 2]
    if len(table) == 0:
        return np.nan
    weighted = table / (m - 1)[:, None]
    coincidence = weighted.T @ table - np.diag(weighted.sum(0))
    n_c = coincidence.sum(1)
    n = n_c.sum()
    expected = n ** 2 - (n_c ** 2).sum()
    if expected <= 0:
        return np.nan
    return float(1 - (n - 1) * (coincidence.sum() - np.trace(coincidence)) / expected)


def krippendorff_alpha(ratings: pd.DataFrame) -> float:
    """Krippendorff's alpha for nominal labels, missing ratings allowed (NaN when only one label was ever given)."""
    codes, categories = _encode(ratings)
    return _alpha_from_table(_count_table(codes, len(categories)))


def _class_table(ratings: pd.DataFrame, multilabel: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(units x classes: ratings naming each class, ratings per unit, class names); tags split when ``multilabel``."""
    values = ratings.to_numpy(dtype=object)
    present = pd.notna(values)
    cells = [[str(v)] if not multilabel else [t for t in str(v).split(TAG_SEP) if t] for v in values[present]]
    classes = sorted({c for cell in cells for c in cell}, key=str)
    index = {c: i for i, c in enumerate(classes)}
    rows = np.nonzero(present)[0]
    table = np.zeros((values.shape[0], len(classes)), dtype=np.int64)
    for row, cell in zip(rows, cells):
        for c in cell:
            table[row, index[c]] += 1
    return table, present.sum(1), classes


def per_class_agreement(ratings: pd.DataFrame, multilabel: bool = False) -> pd.DataFrame:
    """Per class (per tag when ``multilabel``): label, given (ratings naming it), samples (samples where at least
    one labeler named it), specific_agreement and kappa (class vs rest, on Fleiss' samples)."""
    table, m, classes = _class_table(ratings, multilabel)
    multi = m >= 2
    t, mm = table[multi], m[multi][:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        specific = (t * (t - 1)).sum(0) / (t * (mm - 1)).sum(0)
    modal_counts = pd.Series(m[multi]).value_counts()
    kappa = np.full(len(classes), np.nan)
    if not modal_counts.empty:
        modal = int(max(modal_counts.index[modal_counts == modal_counts.max()]))
        sub = table[m == modal]
        share = sub.sum(0) / (len(sub) * modal)
        with np.errstate(invalid="ignore", divide="ignore"):
            kappa = 1 - (sub * (modal - sub)).sum(0) / (len(sub) * modal * (modal - 1) * share * (1 - share))
    frame = pd.DataFrame({"label": classes, "given": table.sum(0), "samples": (table > 0).sum(0),
                          "specific_agreement": specific, "kappa": kappa})
    return frame.sort_values("given", ascending=False, kind="stable").reset_index(drop=True)


def _majority(table: np.ndarray, tie_break: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(winning category per unit, whether the top count was tied); ties go to the larger ``tie_break`` score."""
    top = table.max(1, keepdims=True)
    tied = (table == top).sum(1) > 1
    score = table.astype(float) + (0 if tie_break is None else 1e-6 * tie_break / (1 + np.abs(tie_break).max()))
    return score.argmax(1), tied & (top[:, 0] > 0)


def leave_one_out(ratings: pd.DataFrame) -> pd.DataFrame:
    """One row per rating: sample_id, annotator, label, consensus (majority of the *other* labelers; None when
    they tie or there are none) and agrees (1.0 / 0.0, NaN without a consensus)."""
    codes, categories = _encode(ratings)
    if len(categories) == 0:
        return pd.DataFrame(columns=["sample_id", "annotator", "label", "consensus", "agrees"])
    table = _count_table(codes, len(categories))
    units, raters = np.nonzero(codes >= 0)
    own = codes[units, raters]
    others = table[units].copy()
    others[np.arange(len(units)), own] -= 1
    winner, tied = _majority(others)
    has = (others.sum(1) > 0) & ~tied
    return pd.DataFrame({"sample_id": ratings.index[units], "annotator": ratings.columns[raters],
                         "label": categories[own], "consensus": np.where(has, categories[winner], None),
                         "agrees": np.where(has, (winner == own).astype(float), np.nan)})


@dataclass(frozen=True)
class WeightedVote:
    """A one-coin Dawid–Skene estimate: the class posterior per sample and each labeler's accuracy."""

    posterior: pd.DataFrame  # samples x categories, rows sum to 1
    accuracy: pd.Series  # labeler -> estimated probability that their label is right
    iterations: int


def weighted_vote(ratings: pd.DataFrame, probabilities: pd.DataFrame | None = None, max_iter: int = 100,
                  floor: float = 1e-3) -> WeightedVote:
    """Labeler accuracies and class posteriors by the sparse EM of :func:`sda2.analysis.consensus.aggregate_answers`.

    Each labeler is right with a (per-class, shrunk) accuracy and otherwise errs the way the crowd errs;
    ``probabilities`` (samples x class names, e.g. a model's out-of-fold probabilities) replace the estimated
    class shares as each sample's prior, floored at ``floor`` so no label is ruled out.
    """
    codes, categories = _encode(ratings)
    k = len(categories)
    if k == 0:
        return WeightedVote(pd.DataFrame(index=ratings.index), pd.Series(dtype=float, name="accuracy"), 0)
    answers = answers_from_ratings(ratings.astype(object).where(ratings.isna(), ratings.astype(str)))
    model = None
    if probabilities is not None:
        if not np.isfinite(probabilities.to_numpy(dtype=float)).all():
            raise ValueError("Model probabilities contain NaN or infinite values. Fix: recompute the predictions.")
        model = probabilities.rename(columns=str).reindex(columns=[str(c) for c in categories], fill_value=0.0)
        model = model[model.index.isin(ratings.index)]
        model = model.where(model.sum(axis=1) > 0, 1.0)  # no mass on any answered class: no model opinion
    result = aggregate_answers(answers, "sda2", probabilities=model, floor=floor, max_iter=max_iter)
    posterior = result.posteriors.reindex(index=ratings.index, columns=list(categories)).fillna(1.0 / k)
    posterior.index.name, posterior.columns.name = ratings.index.name, None
    accuracy = result.worker_accuracy.reindex(ratings.columns).rename("accuracy")
    accuracy.index.name = ratings.columns.name
    return WeightedVote(posterior, accuracy, result.iterations)


def _votes_text(row: np.ndarray, names) -> str:
    """The labels given to one sample with who gave them, e.g. "3: alice, bob · 5: carol"."""
    groups: dict[str, list[str]] = {}
    for name, label in zip(names, row):
        if pd.notna(label):
            groups.setdefault(str(label), []).append(str(name))
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return " · ".join(f"{label}: {', '.join(who)}" for label, who in ordered)


def consensus(ratings: pd.DataFrame, vote: WeightedVote | None = None) -> pd.DataFrame:
    """One row per sample: ratings, majority (ties broken by the weighted vote; ``tie`` marks them), votes for it,
    agreement (share of ratings equal to the majority), pairwise_agreement (share of agreeing labeler pairs),
    weighted (the Dawid–Skene label), weighted_confidence (its posterior) and votes (who said what)."""
    codes, categories = _encode(ratings)
    if len(categories) == 0:
        return pd.DataFrame(columns=CONSENSUS_COLUMNS)
    vote = vote if vote is not None else weighted_vote(ratings)
    table = _count_table(codes, len(categories))
    n = table.sum(1)
    posterior = vote.posterior.reindex(index=ratings.index, columns=categories).fillna(0.0).to_numpy()
    winner, tied = _majority(table, posterior)
    with np.errstate(invalid="ignore", divide="ignore"):
        pairwise = np.where(n >= 2, (table * (table - 1)).sum(1) / (n * (n - 1)), np.nan)
        share = table.max(1) / n
    values = ratings.to_numpy(dtype=object)
    return pd.DataFrame({
        "sample_id": ratings.index, "ratings": n, "majority": categories[winner], "majority_votes": table.max(1),
        "agreement": share, "pairwise_agreement": pairwise, "tie": tied,
        "weighted": categories[posterior.argmax(1)], "weighted_confidence": posterior.max(1),
        "votes": [_votes_text(row, list(ratings.columns)) for row in values],
    }, columns=CONSENSUS_COLUMNS)


def labeler_agreement(ratings: pd.DataFrame, vote: WeightedVote | None = None) -> pd.DataFrame:
    """Per labeler: labels, compared (ratings with a leave-one-out consensus), agreement with it, kappa against it,
    and the Dawid–Skene estimated_accuracy."""
    vote = vote if vote is not None else weighted_vote(ratings)
    loo = leave_one_out(ratings)
    rows = []
    for name in ratings.columns:
        mine = loo[loo["annotator"] == name]
        compared = mine[mine["consensus"].notna()]
        kappa = cohen_kappa(compared["label"], compared["consensus"]) if len(compared) else np.nan
        rows.append((name, len(mine), len(compared), compared["agrees"].mean() if len(compared) else np.nan,
                     kappa, vote.accuracy.get(name, np.nan)))
    return pd.DataFrame(rows, columns=["annotator", "labels", "compared", "agreement", "kappa",
                                       "estimated_accuracy"])


def adjudication_queue(samples: pd.DataFrame, limit: int | None = 50) -> pd.DataFrame:
    """The samples of :func:`consensus` whose labelers disagree, most disagreement first (lowest majority share,
    then lowest weighted confidence, then most ratings)."""
    disputed = samples[(samples["ratings"] >= 2) & (samples["agreement"] < 1)]
    ordered = disputed.sort_values(["agreement", "weighted_confidence", "ratings"], ascending=[True, True, False],
                                   kind="stable")
    return (ordered if limit is None else ordered.head(limit)).reset_index(drop=True)
