"""UMAP's compiled code is cached on disk: the second process loads every umap-learn function it needs
from the cache (numba counts cache hits) instead of compiling it again, and the map's kNN is exact."""

from __future__ import annotations

import json
import sys

import numpy as np

from sda2.compute.projection import exact_neighbours, numba_cache_dir
from tests import forked

PROBE = """
import json, numpy as np
from sda2.compute.projection import warm_up
warm_up(n=120, dims=8)
import umap.layouts, umap.umap_
fns = {"layout": umap.layouts._nb_optimize_layout_euclidean_single_epoch_parallel,
       "smooth_knn_dist": umap.umap_.smooth_knn_dist,
       "membership": umap.umap_.compute_membership_strengths}
print(json.dumps({k: {"hits": sum(f.stats.cache_hits.values()), "misses": sum(f.stats.cache_misses.values())}
                  for k, f in fns.items()}))
"""


def _probe() -> dict:
    done = forked.run([sys.executable, "-c", PROBE], timeout=600)  # a new process; numba/UMAP not yet imported
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_second_process_loads_umap_from_the_disk_cache():
    """The machine's cache (compiled by setup.sh, or by the first probe here on a fresh machine) serves process two."""
    first = _probe()  # compiles into the cache only on a machine that never made a map
    assert all(stats["hits"] + stats["misses"] >= 1 for stats in first.values()), first
    assert list(numba_cache_dir().glob("*/layouts._optimize_layout_euclidean_single_epoch-*.nbi"))
    second = _probe()
    assert all(stats["hits"] >= 1 and stats["misses"] == 0 for stats in second.values()), second


def test_exact_neighbours_start_with_the_point_itself():
    rows = np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32)
    indices, distances, index = exact_neighbours(rows, 5)
    assert index is None and indices.shape == distances.shape == (50, 5)
    assert (indices[:, 0] == np.arange(50)).all() and np.allclose(distances[:, 0], 0)
    brute = np.argsort(((rows[:, None] - rows[None]) ** 2).sum(-1), axis=1)[:, :5]
    assert (np.sort(brute, 1) == np.sort(indices, 1)).all()
