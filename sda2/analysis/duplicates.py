"""Duplicates and outliers from embeddings: cosine k-nearest neighbours (faiss), grouped by connected components.

Two samples are near duplicates when their cosine similarity reaches ``threshold``; exact duplicates share a
content hash. Pairs link into groups (a union-find over the pair graph), and each group keeps one
representative (the highest ``priority``, else the first in input order); every other member is marked
``is_duplicate``. The same neighbour search scores outliers: the mean cosine distance to the k nearest
neighbours. No N x N matrix is ever built: an exact flat index up to ``exact_limit`` rows, an IVF index
(approximate, searched in batches) beyond.
"""

from __future__ import annotations

import faiss
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from tqdm.auto import tqdm

from sda2.analysis.validation import embedding_matrix

EXACT_LIMIT = 50_000
BATCH = 20_000
DEFAULT_THRESHOLD = 0.99
CANDIDATE_THRESHOLD = 0.5


def _normalised(embeddings) -> np.ndarray:
    X = embedding_matrix(embeddings, "compute those embeddings again").copy()
    faiss.normalize_L2(X)
    return X


def _zero_rows(X: np.ndarray) -> np.ndarray:
    """Rows with no direction (all zeros): cosine similarity is undefined for them."""
    return ~X.any(axis=1)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k is the number of nearest neighbours to compare and must be a whole number ≥ 1; got "
                         f"{k!r}. Fix: pass k=10 (the default) or another positive number.")
    return int(k)


def _index(X: np.ndarray, method: str, exact_limit: int, nprobe: int):
    n, d = X.shape
    if method == "auto":
        method = "exact" if n <= exact_limit else "ivf"
    if method == "exact":
        index = faiss.IndexFlatIP(d)
    elif method == "ivf":
        nlist = int(np.clip(4 * np.sqrt(n), 1, max(1, n // 20)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10
        index.train(X[np.random.default_rng(0).choice(n, min(n, nlist * 20), replace=False)])
        index.nprobe = min(nprobe, nlist)
    elif method == "hnsw":
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = 64
    else:
        raise ValueError(f"Unknown method {method!r}; use 'auto', 'exact', 'ivf' or 'hnsw'.")
    index.add(X)
    return index


def nearest_neighbors(embeddings, k: int = 10, method: str = "auto", exact_limit: int = EXACT_LIMIT,
                      nprobe: int = 4, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(cosine similarities, indices), each n x k: every row's k nearest other rows, nearest first."""
    return _search(_normalised(embeddings), _check_k(k), method, exact_limit, nprobe, progress)


def _search(X: np.ndarray, k: int, method: str, exact_limit: int, nprobe: int,
            progress: bool) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    k = int(min(k, n - 1))
    if k < 1:
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    index = _index(X, method, exact_limit, nprobe)
    sims = np.empty((n, k), dtype=np.float32)
    idx = np.empty((n, k), dtype=np.int64)
    for start in tqdm(range(0, n, BATCH), desc="nearest neighbours", unit="batch", disable=not progress):
        stop = min(start + BATCH, n)
        s, i = index.search(X[start:stop], k + 1)
        own = i == np.arange(start, stop)[:, None]
        own[~own.any(axis=1), -1] = True  # self not returned (many ties): drop the farthest instead
        keep = np.argsort(own, axis=1, kind="stable")[:, :k]
        sims[start:stop] = np.take_along_axis(s, keep, axis=1)
        idx[start:stop] = np.take_along_axis(i, keep, axis=1)
    missing = idx < 0  # an approximate index may return fewer than k
    sims[missing] = -1.0
    return sims, idx


def _components(n: int, pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    rows = np.concatenate([a for a, _ in pairs] or [np.zeros(0, dtype=np.int64)])
    cols = np.concatenate([b for _, b in pairs] or [np.zeros(0, dtype=np.int64)])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def _hash_pairs(hashes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (each sample, first sample with its hash) and the per-sample hash codes (-1: no hash)."""
    values = pd.Series(list(hashes), dtype=object)
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    rows = np.flatnonzero(codes >= 0)
    first = pd.Series(rows).groupby(codes[rows]).transform("min").to_numpy()
    return rows, first, codes


def find_duplicates(embeddings=None, threshold: float | None = None, *, k: int = 10, hashes=None,
                    splits=None, priority=None, outlier_fraction: float = 0.01, method: str = "auto",
                    exact_limit: int = EXACT_LIMIT, nprobe: int = 4, progress: bool = False,
                    verifier=None, verify_threshold: float | None = None) -> pd.DataFrame:
    """Duplicate groups (near by cosine ≥ threshold, or verified copies; exact by equal hash) and kNN outlier scores.

    Without ``verifier`` pairs at cosine ≥ ``threshold`` (default 0.99) link into connected components. With
    ``verifier(rows, cols) -> similarities in [0, 1]`` the k-nearest-neighbour pairs at cosine ≥ ``threshold``
    (default 0.5, a loose candidate cut) are verified, those ≥ ``verify_threshold`` kept, and grouped as stars
    around a representative (sda2.analysis.copy_groups): no chains of look-alikes.
    """
    if threshold is None:
        threshold = DEFAULT_THRESHOLD if verifier is None else CANDIDATE_THRESHOLD
    if verifier is not None:
        return verified_duplicates(embeddings, threshold, k=k, hashes=hashes, splits=splits, priority=priority,
                                   outlier_fraction=outlier_fraction, method=method, exact_limit=exact_limit,
                                   nprobe=nprobe, progress=progress, verifier=verifier,
                                   verify_threshold=verify_threshold)
    if embeddings is None and hashes is None:
        raise ValueError("Nothing to compare: pass embeddings (near duplicates) and/or hashes (exact copies).")
    X = None if embeddings is None else _normalised(embeddings)
    n = len(X) if X is not None else len(hashes)
    for name, values in (("hashes", hashes), ("splits", splits), ("priority", priority)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values):,} entries for {n:,} samples: they must be aligned.")
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold is a cosine similarity in (0, 1]; got {threshold}.")
    k = _check_k(k)
    pairs = []
    sims = idx = None
    zero = np.zeros(n, dtype=bool)
    if X is not None:
        sims, idx = _search(X, k, method, exact_limit, nprobe, progress)
        zero = _zero_rows(X)
        close = (sims >= threshold) & ~zero[:, None]
        pairs.append((np.repeat(np.arange(n), close.sum(axis=1)), idx[close]))
        if zero.sum() > 1:  # identical all-zero embeddings (e.g. blank images): one group, as exact copies
            rows = np.flatnonzero(zero)
            pairs.append((rows, np.full(len(rows), rows[0])))
    codes = np.full(n, -1)
    if hashes is not None:
        rows, first, codes = _hash_pairs(hashes)
        pairs.append((rows, first))
    component = _components(n, pairs)

    # representative: highest priority, then earliest row
    rank = np.zeros(n) if priority is None else -np.asarray(priority, dtype=float)
    order = np.lexsort((np.arange(n), rank, component))
    starts = np.r_[True, component[order][1:] != component[order][:-1]]
    sizes = np.diff(np.r_[np.flatnonzero(starts), n])
    rep_sorted = np.repeat(order[starts], sizes)
    rep = np.empty(n, dtype=np.int64)
    rep[order] = rep_sorted
    size = np.empty(n, dtype=np.int64)
    size[order] = np.repeat(sizes, sizes)
    grouped = size > 1

    group = np.full(n, -1, dtype=np.int64)
    reps = np.unique(rep[grouped])
    group[grouped] = np.searchsorted(reps, rep[grouped])
    similarity = np.full(n, np.nan)
    if X is not None:
        similarity[grouped] = np.einsum("ij,ij->i", X[grouped], X[rep[grouped]])
    exact = grouped & (codes >= 0) & (codes == codes[rep]) & (np.arange(n) != rep)
    similarity[exact | (grouped & (np.arange(n) == rep)) | (grouped & zero & zero[rep])] = 1.0
    frame = pd.DataFrame({
        "duplicate_group": group,
        "is_duplicate": grouped & (np.arange(n) != rep),
        "duplicate_similarity": similarity,
        "is_exact_duplicate": exact,
        "crosses_split": _crosses_split(group, splits),
    })
    scores = np.full(n, np.nan) if sims is None else outlier_scores(sims)
    scores[zero] = np.nan  # no direction, no distance: not scored rather than all called outliers
    frame["outlier_score"] = scores
    frame["is_outlier"] = top_fraction(scores, outlier_fraction)
    frame.attrs.update(threshold=threshold, k=k, groups=len(reps), duplicates=int(frame.is_duplicate.sum()),
                       zero_embeddings=int(zero.sum()))
    return frame


def _crosses_split(group: np.ndarray, splits) -> np.ndarray:
    if splits is None:
        return np.zeros(len(group), dtype=bool)
    frame = pd.DataFrame({"group": group, "split": pd.Series(list(splits), dtype=object).fillna("")})
    spans = frame[frame.group >= 0].groupby("group")["split"].nunique()
    return frame.group.map(spans).fillna(0).to_numpy() > 1


def outlier_scores(similarities: np.ndarray) -> np.ndarray:
    """Mean cosine distance to the k nearest neighbours (higher = more outlying)."""
    return (1 - np.asarray(similarities, dtype=np.float64)).mean(axis=1)


def top_fraction(scores: np.ndarray, fraction: float) -> np.ndarray:
    """True for the ``fraction`` of finite scores that are highest (ties at the cut included)."""
    finite = np.isfinite(scores)
    if fraction <= 0 or not finite.any():
        return np.zeros(len(scores), dtype=bool)
    cut = np.quantile(scores[finite], 1 - min(fraction, 1))
    return finite & (scores >= cut)


def duplicate_groups(frame: pd.DataFrame, splits=None) -> pd.DataFrame:
    """One row per duplicate group: size, representative, members, lowest similarity, exact, splits spanned."""
    grouped = frame[frame.duplicate_group >= 0].copy()
    grouped["member"] = grouped.index
    grouped["split"] = None if splits is None else pd.Series(list(splits), index=frame.index)[grouped.index]
    rows = []
    for gid, members in grouped.groupby("duplicate_group", sort=True):
        rep = members.index[~members.is_duplicate.to_numpy()][0]
        rows.append({"duplicate_group": gid, "size": len(members), "representative": rep,
                     "members": members.member.tolist(),
                     "min_similarity": float(members.duplicate_similarity.min()),
                     "all_exact": bool(members.is_exact_duplicate.sum() == len(members) - 1),
                     "crosses_split": bool(members.crosses_split.any()),
                     "splits": sorted({s for s in members.split if s is not None})})
    return pd.DataFrame(rows, columns=["duplicate_group", "size", "representative", "members", "min_similarity",
                                       "all_exact", "crosses_split", "splits"])


def candidate_pairs(sims: np.ndarray, idx: np.ndarray, threshold: float, skip=None) -> tuple[np.ndarray, np.ndarray]:
    """Unordered nearest-neighbour pairs (i < j, each once) at cosine ≥ threshold, leaving out ``skip`` rows."""
    close = (sims >= threshold) & (idx >= 0)
    if skip is not None:
        close &= ~skip[:, None] & ~skip[np.maximum(idx, 0)]
    rows = np.repeat(np.arange(len(sims)), close.sum(axis=1))
    cols = idx[close]
    a, b = np.minimum(rows, cols), np.maximum(rows, cols)
    keep = a != b
    pairs = np.unique(np.stack([a[keep], b[keep]], axis=1), axis=0) if keep.any() else np.zeros((0, 2), np.int64)
    return pairs[:, 0], pairs[:, 1]


def verified_duplicates(embeddings, threshold: float, *, k: int, hashes, splits, priority, outlier_fraction: float,
                        method: str, exact_limit: int, nprobe: int, progress: bool, verifier,
                        verify_threshold: float | None) -> pd.DataFrame:
    """find_duplicates with candidate pairs verified by ``verifier`` and grouped as stars (no chaining)."""
    from sda2.analysis.copy_check import THRESHOLD
    from sda2.analysis.copy_groups import identical_classes, star_groups

    verify_threshold = THRESHOLD if verify_threshold is None else verify_threshold
    if embeddings is None:
        raise ValueError("Verification needs candidate pairs: pass embeddings (e.g. image fingerprints) with verifier.")
    if not 0 < threshold <= 1 or not 0 < verify_threshold <= 1:
        raise ValueError(f"threshold (candidate cosine cut) and verify_threshold must be in (0, 1]; got {threshold} "
                         f"and {verify_threshold}.")
    X = _normalised(embeddings)
    n = len(X)
    for name, values in (("hashes", hashes), ("splits", splits), ("priority", priority)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values):,} entries for {n:,} samples: they must be aligned.")
    k = _check_k(k)
    sims, idx = _search(X, k, method, exact_limit, nprobe, progress)
    zero = _zero_rows(X)
    node = identical_classes(n, hashes, zero)
    rows, cols = candidate_pairs(sims, idx, threshold, skip=zero)
    distinct = node[rows] != node[cols]  # identical content needs no check
    rows, cols = rows[distinct], cols[distinct]
    similarity = np.asarray(verifier(rows, cols), dtype=np.float64) if len(rows) else np.zeros(0)
    if similarity.shape != rows.shape:
        raise ValueError(f"The verifier returned {similarity.shape} similarities for {len(rows):,} pairs.")
    ok = similarity >= verify_threshold
    stars = star_groups(n, rows[ok], cols[ok], similarity[ok], identical=node, priority=priority)
    group = stars["duplicate_group"].to_numpy()
    frame = pd.DataFrame({
        "duplicate_group": group,
        "is_duplicate": stars["is_duplicate"].to_numpy(),
        "duplicate_similarity": stars["duplicate_similarity"].to_numpy(),
        "is_exact_duplicate": stars["is_identical"].to_numpy() & ~zero,
        "crosses_split": _crosses_split(group, splits),
    })
    scores = outlier_scores(sims)
    scores[zero] = np.nan
    frame["outlier_score"] = scores
    frame["is_outlier"] = top_fraction(scores, outlier_fraction)
    frame.attrs.update(threshold=threshold, k=k, groups=int(group.max() + 1) if len(group) else 0,
                       duplicates=int(frame.is_duplicate.sum()), zero_embeddings=int(zero.sum()), verified=True,
                       verify_threshold=verify_threshold, candidate_pairs=len(rows), verified_pairs=int(ok.sum()),
                       grouping="star around the representative")
    return frame
