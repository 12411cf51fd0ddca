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
CANDIDATE_K = 5  # verified candidates per row from the plain search (k nearest still score the outliers)
QUERY_K = 1  # neighbours kept per extra (edited) query; the plain fingerprint keeps k
QUERY_WARPS = ((6.0, 1.0), (-6.0, 1.0), (0.0, 0.95), (0.0, 1.05), (0.0, 0.9), (0.0, 1.11),
               (6.0, 0.95), (6.0, 1.05), (-6.0, 0.95), (-6.0, 1.05))
QUERY_SHIFTS = ((1.5, 0), (-1.5, 0), (0, 1.5), (0, -1.5), (1.5, 1.5), (-1.5, -1.5), (1.5, -1.5), (-1.5, 1.5))
QUERY_CENTRED = True  # fingerprints are standardised: centre each edited query again before the cosine


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
            progress: bool, index=None) -> tuple[np.ndarray, np.ndarray]:
    n = len(X)
    k = int(min(k, n - 1))
    if k < 1:
        return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
    index = _index(X, method, exact_limit, nprobe) if index is None else index
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
                    verifier=None, verify_threshold: float | None = None, queries=None,
                    query_k: int = QUERY_K, sure: float | None = None, ratio: float | None = None) -> pd.DataFrame:
    """Duplicate groups (near by cosine ≥ threshold, or verified copies; exact by equal hash) and kNN outlier scores.

    Without ``verifier`` pairs at cosine ≥ ``threshold`` (default 0.99) link into connected components. With
    ``verifier(rows, cols) -> similarities in [0, 1]`` the nearest-neighbour pairs (the first 5 of k) at cosine ≥ ``threshold``
    (default 0.5, a loose candidate cut) are verified; a pair is a copy at similarity ≥ ``sure`` (0.95), or ≥
    ``verify_threshold`` (0.8) with a residual 1 - similarity at most ``ratio`` (0.5) times that to both images'
    next-best candidate (a ratio test: sda2.analysis.copy_groups.distinct_matches); copies are grouped as stars
    around a representative: no chains of look-alikes. ``queries`` (verified path only): extra n x d query
    matrices (e.g. :func:`edited_queries`), each adding its ``query_k`` nearest rows as candidates, so an edited
    copy whose original is not among its own k nearest is still checked.
    """
    if threshold is None:
        threshold = DEFAULT_THRESHOLD if verifier is None else CANDIDATE_THRESHOLD
    if verifier is not None:
        return verified_duplicates(embeddings, threshold, k=k, hashes=hashes, splits=splits, priority=priority,
                                   outlier_fraction=outlier_fraction, method=method, exact_limit=exact_limit,
                                   nprobe=nprobe, progress=progress, verifier=verifier,
                                   verify_threshold=verify_threshold, queries=queries, query_k=query_k,
                                   sure=sure, ratio=ratio)
    if queries is not None:
        raise ValueError("queries (extra edited query fingerprints) need a verifier: pass verifier= as well.")
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


def edited_queries(X, size: int):
    """Each row of X (a size x size image fingerprint) as the edits a copy goes through would move it.

    Rotations by +-6 degrees, scales by 0.9 / 0.95 / 1.05 / 1.11, both together, a blur (sigma 1 pixel) and
    shifts of 1.5 pixels in eight directions: searching these finds the original of an edited copy that the
    fingerprint itself does not place among its nearest neighbours (look-alikes sit closer). A generator of
    n x size² matrices (one at a time: 19 of them would not fit in memory at scale).
    """
    import cv2

    images = np.asarray(X, dtype=np.float32).reshape(-1, size, size)
    c = (size - 1) / 2
    warps = [cv2.getRotationMatrix2D((c, c), angle, scale) for angle, scale in QUERY_WARPS]
    warps += [np.float32([[1, 0, dx], [0, 1, dy]]) for dx, dy in QUERY_SHIFTS]
    for m in warps:
        yield np.stack([cv2.warpAffine(a, np.float32(m), (size, size), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_REPLICATE) for a in images]).reshape(len(images), -1)
    yield np.stack([cv2.GaussianBlur(a, (0, 0), 1.0) for a in images]).reshape(len(images), -1)


def query_pairs(X: np.ndarray, queries, k: int, threshold: float, method: str, exact_limit: int, nprobe: int,
                progress: bool = False, index=None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (row, its k nearest rows of X other than itself, cosine ≥ threshold) for each extra query matrix
    (``index``: the search index of X when already built)."""
    if len(X) < 2:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    index = _index(X, method, exact_limit, nprobe) if index is None else index
    n, kk = len(X), int(min(k + 1, len(X)))
    rows, cols = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
    total = len(queries) if hasattr(queries, "__len__") else len(QUERY_WARPS) + len(QUERY_SHIFTS) + 1
    for Q in tqdm(queries, desc="edited queries", unit="query set", total=total, disable=not progress):
        Q = np.ascontiguousarray(np.asarray(Q, dtype=np.float32))
        if Q.shape != X.shape:
            raise ValueError(f"Each extra query set must have one row per sample ({X.shape}); got {Q.shape}.")
        Q = Q - Q.mean(axis=1, keepdims=True) if QUERY_CENTRED else Q.copy()
        faiss.normalize_L2(Q)
        for start in range(0, n, BATCH):
            s, i = index.search(Q[start:start + BATCH], kk)
            own = np.arange(start, min(start + BATCH, n))[:, None]
            s = np.where(i == own, -np.inf, s)
            order = np.argsort(-s, axis=1, kind="stable")[:, :k]
            s, i = np.take_along_axis(s, order, axis=1), np.take_along_axis(i, order, axis=1)
            close = (s >= threshold) & (i >= 0)
            rows.append(np.repeat(own[:, 0], close.sum(axis=1)))
            cols.append(i[close])
    return np.concatenate(rows), np.concatenate(cols)


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
                        verify_threshold: float | None, queries=None, query_k: int = QUERY_K,
                        sure: float | None = None, ratio: float | None = None) -> pd.DataFrame:
    """find_duplicates with candidate pairs verified by ``verifier`` and grouped as stars (no chaining)."""
    from sda2.analysis.copy_groups import LOWEST, RATIO, SURE, distinct_matches, identical_classes, star_groups

    verify_threshold = LOWEST if verify_threshold is None else verify_threshold
    sure, ratio = SURE if sure is None else sure, RATIO if ratio is None else ratio
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
    index = _index(X, method, exact_limit, nprobe) if n > 1 else None  # built once: plain and edited queries
    sims, idx = _search(X, k, method, exact_limit, nprobe, progress, index)
    zero = _zero_rows(X)
    node = identical_classes(n, hashes, zero)
    rows, cols = candidate_pairs(sims[:, :CANDIDATE_K], idx[:, :CANDIDATE_K], threshold, skip=zero)
    if queries is not None:
        extra_rows, extra_cols = query_pairs(X, queries, _check_k(query_k), threshold, method, exact_limit, nprobe,
                                             progress, index)
        extra = ~zero[extra_rows] & ~zero[extra_cols]
        pairs = np.stack([np.r_[rows, np.minimum(extra_rows, extra_cols)[extra]],
                          np.r_[cols, np.maximum(extra_rows, extra_cols)[extra]]], axis=1)
        pairs = np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)
        rows, cols = pairs[:, 0], pairs[:, 1]
    distinct = node[rows] != node[cols]  # identical content needs no check
    rows, cols = rows[distinct], cols[distinct]
    similarity = np.asarray(verifier(rows, cols), dtype=np.float64) if len(rows) else np.zeros(0)
    if similarity.shape != rows.shape:
        raise ValueError(f"The verifier returned {similarity.shape} similarities for {len(rows):,} pairs.")
    ok = distinct_matches(rows, cols, similarity, n, identical=node, lowest=verify_threshold, sure=sure,
                          ratio=ratio)
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
                       verify_threshold=verify_threshold, sure=sure, ratio=ratio, candidate_pairs=len(rows),
                       verified_pairs=int(ok.sum()),
                       grouping="star around the representative")
    return frame
