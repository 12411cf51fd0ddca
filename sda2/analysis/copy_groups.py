"""Duplicate groups from verified copy pairs: stars around a representative, never chains of look-alikes.

Connected components over "similar" pairs chain look-alikes (a ~ b ~ c ~ ... ) into groups of hundreds
whose ends have nothing in common. Here a group is a star: a representative and the samples verified as
copies OF IT. Samples are visited by priority (highest first, then input order); an unassigned sample
becomes a representative and takes every still-unassigned sample verified against it. So every member's
similarity is its real pair similarity to the representative, and a member is never in a group only
because it resembles another member.

Identical samples (same content hash, or no direction at all: blank images) are one node: what is
verified for one of them holds for all, and they always share a group.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


SURE = 0.95  # a verified similarity this high is a copy whatever else the images resemble (look-alike 1s reach 0.935)
LOWEST = 0.8  # below this a pair is never a copy (at 0.7: 56 false MNIST pairs per 10k, most at 0.70-0.80)
# between the two: the pair's residual (1 - similarity) must be at most this share of the residual to both images'
# next-best candidate. The similarity is one minus a residual ENERGY share, a squared distance, so 0.5 is Lowe's
# ratio test at 0.71 on distances. It replaced a fixed margin of 0.1 (and SURE 0.92), which let through look-alike
# 1s at 0.92-0.935 whose next-best was 0.88-0.93 (bench_duplicates, MNIST: 16 false pairs per 10k, now 6;
# ratio 0.4: 2 but crop recall 0.95, 0.6: 11. CIFAR-10N: 0 false pairs and min recall 0.95 for 0.4-0.6).
RATIO = 0.5


def distinct_matches(rows, cols, similarity, n: int, identical=None, lowest: float = LOWEST, sure: float = SURE,
                     ratio: float = RATIO) -> np.ndarray:
    """Which verified pairs are copies: similarity ≥ ``sure``, or ≥ ``lowest`` and passing the ratio test.

    The runner-up of a pair (a, b) is the best similarity either image reaches with any OTHER candidate. The
    ratio test (as in feature matching) keeps the pair when its residual 1 - similarity is at most ``ratio``
    times the runner-up's 1 - similarity: a copy stands out from everything else its original resembles; a
    look-alike does not (one handwritten "1" aligns about as well with dozens of others: 0.93 against 0.92).
    A ratio rather than a fixed margin, because what matters is how much closer the copy is than the next
    image, and near 1 a small difference in similarity is a large one in residual. Identical samples
    (``identical``: one node per content) count as one image.
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    similarity = np.asarray(similarity, dtype=np.float64)
    node = np.arange(n) if identical is None else np.asarray(identical, dtype=np.int64)
    a, b = node[rows], node[cols]
    if not len(a):
        return np.zeros(0, dtype=bool)
    edges = pd.DataFrame({"x": np.r_[a, b], "y": np.r_[b, a], "s": np.r_[similarity, similarity]})
    edges = edges[edges.x != edges.y].groupby(["x", "y"], sort=False)["s"].max().reset_index()
    edges = edges.sort_values(["x", "s"], ascending=[True, False])
    ranked = edges.groupby("x").head(2)
    first = ranked.groupby("x").nth(0).set_index("x")
    second = ranked.groupby("x").nth(1).set_index("x")["s"]
    best_s = first["s"].reindex(np.arange(n)).fillna(-1.0).to_numpy()
    best_y = first["y"].reindex(np.arange(n)).fillna(-1).to_numpy().astype(np.int64)
    next_s = second.reindex(np.arange(n)).fillna(-1.0).to_numpy()

    def other(x, y):
        return np.where(best_y[x] == y, next_s[x], best_s[x])

    runner_up = np.clip(np.maximum(other(a, b), other(b, a)), 0.0, 1.0)  # none: -1, as far as can be
    return (similarity >= sure) | ((similarity >= lowest) & (1.0 - similarity <= ratio * (1.0 - runner_up)))


def identical_classes(n: int, hashes=None, blank=None) -> np.ndarray:
    """Per sample, the first row with identical content (same hash; all blank rows together); itself if none."""
    node = np.arange(n)
    if hashes is not None:
        codes, _ = pd.factorize(pd.Series(list(hashes), dtype=object), use_na_sentinel=True)
        rows = np.flatnonzero(codes >= 0)
        node[rows] = pd.Series(rows).groupby(codes[rows]).transform("min").to_numpy()
    if blank is not None and np.count_nonzero(blank) > 1:
        rows = np.flatnonzero(blank)
        first = node[rows].min()
        merged = np.isin(node, node[rows])
        node[merged] = first
    return node


def star_groups(n: int, rows, cols, similarity, identical=None, priority=None) -> pd.DataFrame:
    """Groups from verified pairs (rows[i], cols[i], similarity[i]): stars around representatives, in input order.

    Returns columns duplicate_group (-1: none), representative (row; -1: none), is_duplicate,
    duplicate_similarity (to the representative; the representative carries its group's highest) and
    is_identical (same content as a member that comes before it: the representative, or the first of its content).
    """
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    similarity = np.asarray(similarity, dtype=np.float64)
    if not (len(rows) == len(cols) == len(similarity)):
        raise ValueError(f"rows, cols and similarity must be aligned; got {len(rows)}, {len(cols)} and "
                         f"{len(similarity)} entries.")
    node = np.arange(n) if identical is None else np.asarray(identical, dtype=np.int64)
    rank = np.zeros(n) if priority is None else np.asarray(priority, dtype=float)
    a, b = node[rows], node[cols]
    keep = a != b
    edges = pd.DataFrame({"a": np.r_[a[keep], b[keep]], "b": np.r_[b[keep], a[keep]],
                          "s": np.r_[similarity[keep], similarity[keep]]})
    edges = edges.groupby(["a", "b"], sort=False)["s"].max()
    neighbours: dict[int, dict[int, float]] = {}
    for (x, y), s in edges.items():
        neighbours.setdefault(int(x), {})[int(y)] = float(s)
    members = pd.Series(np.arange(n)).groupby(node).agg(list)
    node_rank = pd.Series(rank).groupby(node).max()
    nodes = np.asarray(members.index)
    order = nodes[np.lexsort((nodes, -node_rank.loc[nodes].to_numpy()))]

    group = np.full(n, -1, dtype=np.int64)
    rep = np.full(n, -1, dtype=np.int64)
    sim = np.full(n, np.nan)
    assigned: set[int] = set()
    next_group = 0
    for x in order:
        x = int(x)
        if x in assigned:
            continue
        joined = {y: s for y, s in neighbours.get(x, {}).items() if y not in assigned}
        own = members[x]
        if not joined and len(own) == 1:
            continue
        assigned.add(x)
        assigned.update(joined)
        own_rows = np.asarray(own)
        head = int(own_rows[np.lexsort((own_rows, -rank[own_rows]))][0])
        for y, s in {x: 1.0, **joined}.items():
            block = np.asarray(members[y])
            group[block] = next_group
            rep[block] = head
            sim[block] = s
        sim[head] = max(joined.values()) if joined else 1.0
        next_group += 1
    # groups numbered by their representative's row, as the connected-component path does
    used = group >= 0
    heads = np.unique(rep[used])
    group[used] = np.searchsorted(heads, rep[used])
    index = np.arange(n)
    # an exact copy: another member of its group has the same content and comes first (the representative,
    # else the highest-priority, then first, row of that content), so two copies joined to a third look-alike
    # are still told apart as exact
    order_rows = index[used][np.lexsort((index[used], -rank[used], rep[used] != index[used], node[used], group[used]))]
    first = pd.DataFrame({"g": group[order_rows], "node": node[order_rows]}).duplicated(keep="first").to_numpy()
    identical_rows = np.zeros(n, dtype=bool)
    identical_rows[order_rows] = first
    return pd.DataFrame({"duplicate_group": group, "representative": rep,
                         "is_duplicate": used & (rep != index),
                         "duplicate_similarity": sim,
                         "is_identical": identical_rows})
