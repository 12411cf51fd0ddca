"""What to label next: subset-selection strategies on arrays, each returning row indices in the order picked.

Every strategy takes a ``budget`` (how many rows to pick), a ``seed``, rows already ``labeled`` (never picked
again; they count as centres for diversity and towards the class counts for class balance) and rows to
``exclude`` (never picked: outside the pool). Both are a boolean mask or a list of row indices. When fewer
rows are eligible than the budget, all of them are returned.

- ``random_rows``: a seeded random order.
- ``class_balanced``: water-filling over classes (given or predicted labels): always the class with the
  fewest rows so far, so class counts end within one of each other wherever the pool allows.
- ``uncertainty``: the rows the model is least sure of — least confidence (1 − max p), margin (1 − (p₁ − p₂))
  or entropy (−Σ p log p).
- ``k_center``: greedy k-center coreset on embeddings (each pick is the row farthest from every centre so
  far); one vectorised distance update per pick, O(budget · N · d), seeded from the labeled rows.
- ``hybrid``: the ``candidates`` × budget most uncertain rows, clustered by uncertainty-weighted k-means
  into ``budget`` groups, one row per group (uncertain *and* spread out, so one batch is not twenty copies
  of the same confusing digit). k-means rather than k-center among the candidates: k-center favours
  outliers, and on MNIST (benchmarks/bench_data_efficiency.py) it lost to plain random at 500 labels.
- ``duplicate_aware``: wraps any of them: never two members of one near-duplicate group (nor a member of a
  group that already has a labeled row).

:func:`select` dispatches by name and names the missing inputs; :func:`coverage` measures how well a
subset covers a pool (distance from each pool point to its nearest selected point).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.neighbors import NearestNeighbors

from sda2.analysis.validation import embedding_matrix

UNCERTAINTY_METHODS = ("least_confidence", "margin", "entropy")
# strategy -> the inputs it needs ("labels" is satisfied by probabilities too: predicted labels)
STRATEGIES = {
    "random": (),
    "class_balanced": ("labels",),
    "least_confidence": ("probabilities",),
    "margin": ("probabilities",),
    "entropy": ("probabilities",),
    "diversity": ("embeddings",),
    "hybrid": ("embeddings", "probabilities"),
}
DEFAULT_CANDIDATES = 5
_CHUNK = 1024


def _budget(budget) -> int:
    if isinstance(budget, bool) or int(budget) != budget or budget < 1:
        raise ValueError(f"budget is how many samples to select: a whole number >= 1, not {budget!r}.")
    return int(budget)


def _mask(rows, n: int, what: str) -> np.ndarray:
    """A boolean mask of length ``n`` from None, a boolean mask or row indices."""
    if rows is None:
        return np.zeros(n, dtype=bool)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if rows.shape != (n,):
            raise ValueError(f"{what} mask has {rows.size} entries for {n} rows; give one per row.")
        return rows.copy()
    rows = rows.astype(np.int64).ravel()
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"{what} holds row indices outside 0..{n - 1}.")
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def _matrix(embeddings) -> np.ndarray:
    return embedding_matrix(embeddings, "compute the embeddings for those samples, or leave them out of the pool")


def _probabilities(probabilities) -> np.ndarray:
    P = np.asarray(probabilities, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] < 2:
        raise ValueError(f"probabilities must be a 2-D array (samples x classes, at least 2 classes), "
                         f"got shape {P.shape}.")
    bad = ~np.isfinite(P).all(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum()):,} probability rows hold NaN or inf (first row {int(np.argmax(bad))}). "
                         "Fix: compute predictions for those samples (sda2.compute_predictions).")
    sums = P.sum(axis=1)
    off = np.flatnonzero((P.min(axis=1) < 0) | (np.abs(sums - 1) > 1e-3))
    if len(off):
        raise ValueError(f"{len(off):,} probability rows are not distributions (row {off[0]} sums to "
                         f"{sums[off[0]]:.3f}). Fix: pass softmax probabilities, not logits or multi-label scores.")
    return P


def _labels(labels, n: int) -> np.ndarray:
    values = np.asarray(labels, dtype=object)
    if values.shape != (n,):
        raise ValueError(f"labels must hold one label per row: got shape {values.shape} for {n} rows.")
    return values


def missing_labels(values) -> np.ndarray:
    """True where a label is absent (None, empty text or NaN)."""
    return np.array([v is None or v == "" or (isinstance(v, float) and np.isnan(v)) for v in values], dtype=bool)


def _eligible(n: int, labeled, exclude) -> tuple[np.ndarray, np.ndarray]:
    """(labeled mask, eligible mask): eligible rows are neither labeled nor excluded."""
    lab = _mask(labeled, n, "labeled")
    return lab, ~(lab | _mask(exclude, n, "exclude"))


def random_rows(n: int, budget: int, *, seed: int = 0, labeled=None, exclude=None) -> np.ndarray:
    """``budget`` eligible rows of ``n`` in a seeded random order."""
    budget = _budget(budget)
    _, eligible = _eligible(n, labeled, exclude)
    order = np.random.default_rng(seed).permutation(n)
    return order[eligible[order]][:budget]


def class_balanced(labels, budget: int, *, seed: int = 0, labeled=None, exclude=None) -> np.ndarray:
    """Rows picked so that class counts (labeled rows included) stay as even as the pool allows."""
    budget = _budget(budget)
    values = _labels(labels, len(labels))
    lab, eligible = _eligible(len(values), labeled, exclude)
    unlabeled = eligible & missing_labels(values)
    if unlabeled.any():
        raise ValueError(f"{int(unlabeled.sum()):,} candidate rows have no label to balance by. Fix: pass "
                         "predicted labels (or probabilities) for them, or leave them out of the pool.")
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(values))
    names = sorted({str(v) for v in values[eligible]})
    text = np.array([str(v) for v in values], dtype=object)
    queues = [order[eligible[order] & (text[order] == c)] for c in names]
    have = np.array([int((lab & (text == c)).sum()) for c in names], dtype=float)
    have += rng.random(len(names)) * 0.5  # random tie-break between classes with equal counts
    taken = np.zeros(len(names), dtype=np.int64)
    left = np.array([len(q) for q in queues])
    picked = []
    for _ in range(min(budget, int(left.sum()))):
        c = int(np.argmin(np.where(taken < left, have + taken, np.inf)))
        picked.append(queues[c][taken[c]])
        taken[c] += 1
    return np.array(picked, dtype=np.int64)


def uncertainty_scores(probabilities, method: str = "least_confidence") -> np.ndarray:
    """Per row how unsure the model is (higher = less sure): least_confidence, margin or entropy."""
    P = _probabilities(probabilities)
    if method == "least_confidence":
        return 1.0 - P.max(axis=1)
    if method == "margin":
        top2 = np.partition(P, -2, axis=1)[:, -2:]
        return 1.0 - (top2[:, 1] - top2[:, 0])
    if method == "entropy":
        return -(P * np.log(np.clip(P, 1e-12, None))).sum(axis=1)
    raise ValueError(f"Unknown uncertainty method {method!r}. Fix: use one of {', '.join(UNCERTAINTY_METHODS)}.")


def uncertainty(probabilities, budget: int, *, method: str = "least_confidence", seed: int = 0, labeled=None,
                exclude=None) -> np.ndarray:
    """The ``budget`` eligible rows with the highest uncertainty, most uncertain first (ties in seeded order)."""
    budget = _budget(budget)
    scores = uncertainty_scores(probabilities, method)
    _, eligible = _eligible(len(scores), labeled, exclude)
    order = np.random.default_rng(seed).permutation(len(scores))
    order = order[np.argsort(-scores[order], kind="stable")]
    return order[eligible[order]][:budget]


def _squared_distances(X: np.ndarray, sq: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared distance of every row of X to its nearest row among ``centres`` (chunked, never N x N)."""
    best = np.full(len(X), np.inf, dtype=np.float32)
    for start in range(0, len(centres), _CHUNK):
        C = X[centres[start:start + _CHUNK]]
        d = sq[:, None] - 2 * (X @ C.T) + sq[centres[start:start + _CHUNK]][None, :]
        np.minimum(best, d.min(axis=1), out=best)
    return np.maximum(best, 0)


def k_center(embeddings, budget: int, *, seed: int = 0, labeled=None, exclude=None) -> np.ndarray:
    """Greedy k-center coreset: each pick is the eligible row farthest from all labeled and picked rows."""
    budget = _budget(budget)
    X = _matrix(embeddings)
    lab, eligible = _eligible(len(X), labeled, exclude)
    sq = np.einsum("ij,ij->i", X, X)
    if lab.any():
        nearest = _squared_distances(X, sq, np.flatnonzero(lab))
    else:  # no centre yet: start from a seeded random eligible row
        nearest = np.full(len(X), np.inf, dtype=np.float32)
        start = np.flatnonzero(eligible)
        if len(start):
            nearest[np.random.default_rng(seed).choice(start)] = np.float32(np.finfo(np.float32).max)
    score = np.where(eligible, nearest, -np.inf)
    picked = []
    for _ in range(min(budget, int(eligible.sum()))):
        c = int(np.argmax(score))
        picked.append(c)
        eligible[c] = False
        score[c] = -np.inf
        np.minimum(score, np.maximum(sq - 2 * (X @ X[c]) + sq[c], 0), out=score, where=eligible)
    return np.array(picked, dtype=np.int64)


def hybrid(embeddings, probabilities, budget: int, *, method: str = "margin", candidates: float = DEFAULT_CANDIDATES,
           seed: int = 0, labeled=None, exclude=None) -> np.ndarray:
    """Uncertain and spread out: the ``candidates`` x budget most uncertain eligible rows, clustered into
    ``budget`` groups by k-means weighted by uncertainty; from each group the row nearest its centre, most
    uncertain first (diverse mini-batch active learning, Zhdanov 2019)."""
    budget = _budget(budget)
    if candidates < 1:
        raise ValueError(f"candidates is a multiple of the budget (>= 1), not {candidates!r}.")
    X = _matrix(embeddings)
    if len(probabilities) != len(X):
        raise ValueError(f"{len(X):,} embedding rows but {len(probabilities):,} probability rows: align them.")
    scores = uncertainty_scores(probabilities, method)
    pool = uncertainty(probabilities, int(np.ceil(candidates * budget)), method=method, seed=seed, labeled=labeled,
                       exclude=exclude)
    if len(pool) <= budget:
        return pool
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fewer distinct points than clusters: filled below
        km = KMeans(budget, n_init=1, random_state=seed).fit(X[pool], sample_weight=scores[pool] + 1e-9)
    distance = km.transform(X[pool])[np.arange(len(pool)), km.labels_]
    order = np.lexsort((distance, km.labels_))  # by cluster, nearest to its centre first
    first = order[np.r_[True, np.diff(km.labels_[order]) != 0]]
    picked = pool[first[np.argsort(-scores[pool[first]], kind="stable")]]
    if len(picked) < budget:  # identical candidates gave fewer clusters: top up with the most uncertain rest
        picked = np.concatenate([picked, pool[~np.isin(pool, picked)][:budget - len(picked)]])
    return picked


def duplicate_aware(strategy: Callable[..., np.ndarray], budget: int, duplicate_groups, *, labeled=None,
                    exclude=None) -> np.ndarray:
    """Run ``strategy(budget, labeled=, exclude=)`` but never keep two rows of one near-duplicate group.

    ``duplicate_groups`` gives each row its group id (-1 = in no group). Groups that already have a labeled
    row are skipped entirely. Rows dropped as duplicates are replaced by asking the strategy again, with the
    rows picked so far counted as labeled (so k-center keeps covering and class balance keeps counting).
    """
    budget = _budget(budget)
    groups = np.asarray(duplicate_groups, dtype=np.int64)
    n = len(groups)
    lab = _mask(labeled, n, "labeled")
    blocked = _mask(exclude, n, "exclude") | (np.isin(groups, groups[lab & (groups >= 0)]) & (groups >= 0))
    chosen: list[int] = []
    while len(chosen) < budget:
        picked = _mask(chosen, n, "picked")
        batch = strategy(budget - len(chosen), labeled=lab | picked, exclude=blocked)
        if not len(batch):
            break
        seen: set[int] = set()
        for row in batch:
            g = int(groups[row])
            if g >= 0 and g in seen:
                continue
            chosen.append(int(row))
            if g >= 0:
                seen.add(g)
        blocked |= np.isin(groups, list(seen)) & (groups >= 0)
    return np.array(chosen, dtype=np.int64)


def _check_inputs(strategy: str, embeddings, probabilities, labels) -> int:
    """The number of rows, after checking the strategy's inputs are given and aligned."""
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown selection strategy {strategy!r}. Fix: use one of {', '.join(STRATEGIES)}.")
    given = {"embeddings": embeddings, "probabilities": probabilities, "labels": labels}
    missing = [need for need in STRATEGIES[strategy] if given[need] is None
               and not (need == "labels" and probabilities is not None)]
    if missing:
        hint = {"embeddings": "embeddings= (e.g. sda2.compute_embeddings)",
                "probabilities": "probabilities= (e.g. sda2.compute_predictions)",
                "labels": "labels= (given labels) or probabilities= (predicted labels)"}
        raise ValueError(f"Strategy {strategy!r} needs {' and '.join(hint[m] for m in missing)}.")
    sizes = {k: len(v) for k, v in given.items() if v is not None}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"Inputs have different numbers of rows ({', '.join(f'{k}: {v:,}' for k, v in sizes.items())})"
                         ". Fix: give one row per sample, in the same order, in every array.")
    if not sizes:
        raise ValueError("Strategy 'random' needs the pool size: pass any of embeddings=, probabilities= or labels=.")
    return next(iter(sizes.values()))


def select(strategy: str, budget: int, *, embeddings=None, probabilities=None, labels=None, duplicate_groups=None,
           seed: int = 0, exclude=None, labeled=None, candidates: float = DEFAULT_CANDIDATES) -> np.ndarray:
    """Row indices picked by ``strategy`` (see STRATEGIES), in order; duplicate-aware when groups are given.

    class_balanced balances ``labels`` when given, else the predicted labels (argmax of ``probabilities``).
    ``labeled`` rows are never picked and seed diversity and balance; ``exclude`` rows are never picked.
    """
    n = _check_inputs(strategy, embeddings, probabilities, labels)
    budget = _budget(budget)
    if strategy == "random":
        def run(b, **rows):
            return random_rows(n, b, seed=seed, **rows)
    elif strategy == "class_balanced":
        balance_by = labels if labels is not None else _probabilities(probabilities).argmax(axis=1)

        def run(b, **rows):
            return class_balanced(balance_by, b, seed=seed, **rows)
    elif strategy in UNCERTAINTY_METHODS:
        def run(b, **rows):
            return uncertainty(probabilities, b, method=strategy, seed=seed, **rows)
    elif strategy == "diversity":
        def run(b, **rows):
            return k_center(embeddings, b, seed=seed, **rows)
    else:
        def run(b, **rows):
            return hybrid(embeddings, probabilities, b, candidates=candidates, seed=seed, **rows)
    if duplicate_groups is None:
        return run(budget, labeled=labeled, exclude=exclude)
    if len(duplicate_groups) != n:
        raise ValueError(f"duplicate_groups has {len(duplicate_groups):,} entries for {n:,} rows; give one per row "
                         "(-1 where a row is in no group).")
    return duplicate_aware(run, budget, duplicate_groups, labeled=labeled, exclude=exclude)


def nearest_selected_distance(points, selected) -> np.ndarray:
    """Per row of ``points``, the Euclidean distance to its nearest selected row."""
    X = _matrix(points)
    rows = np.flatnonzero(_mask(selected, len(X), "selected"))
    if not len(rows):
        raise ValueError("The selection is empty: nothing to measure coverage against.")
    distance, _ = NearestNeighbors(n_neighbors=1).fit(X[rows]).kneighbors(X)
    return distance[:, 0]


def neighbourhood_radius(points, budget: int, *, seed: int = 0, sample: int = 2000) -> float:
    """The median distance from a pool point to its (N / budget)-th nearest pool neighbour.

    A selection of ``budget`` points spread evenly would give each one about N / budget pool points to
    cover, so this is the radius within which an even selection covers most of the pool.
    """
    X = _matrix(points)
    k = int(np.clip(np.ceil(len(X) / _budget(budget)), 1, min(len(X) - 1, 500))) if len(X) > 1 else 0
    if k == 0:
        return 0.0
    rows = np.random.default_rng(seed).choice(len(X), min(sample, len(X)), replace=False)
    distance, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X[rows])
    return float(np.median(distance[:, k]))


def coverage(points, selected, radius: float | None = None, *, seed: int = 0) -> dict:
    """How well ``selected`` rows cover all rows of ``points``: mean and largest nearest-selected distance
    (the covering radius) and the share of points within ``radius`` (default :func:`neighbourhood_radius`),
    beside the same figures for a random subset of the same size (seeded) as the reference."""
    X = _matrix(points)
    chosen = _mask(selected, len(X), "selected")
    radius = neighbourhood_radius(X, max(1, int(chosen.sum())), seed=seed) if radius is None else float(radius)
    ours = nearest_selected_distance(X, chosen)
    reference = nearest_selected_distance(X, random_rows(len(X), int(chosen.sum()), seed=seed))
    return {"selected": int(chosen.sum()), "pool": len(X), "radius": radius,
            "share_within_radius": float((ours <= radius).mean()), "mean_distance": float(ours.mean()),
            "covering_radius": float(ours.max()),
            "random_share_within_radius": float((reference <= radius).mean()),
            "random_mean_distance": float(reference.mean()), "random_covering_radius": float(reference.max())}
