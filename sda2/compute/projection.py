"""2-D maps of a dataset's embeddings (UMAP, or PCA for a quick linear look), cached beside them.

A map is stored with :mod:`sda2.arrays` under ``map_<embeddings key>``: the sample ids it covers, float32
(x, y) rows, the method and parameters, and a fingerprint of the embeddings it was made from.
:func:`compute_map` returns the stored map while it still matches; it recomputes only when asked
(``force=True``), when the embeddings changed (other ids, shape or values) or when other parameters are
asked for. Pages call it and never recompute by themselves.

Speed: embeddings wider than ``pca_dims`` are first reduced with PCA (nearest-neighbour search in 50-d
instead of 1280-d is several times faster and keeps the neighbourhoods), and above ``fit_limit`` points
UMAP learns the layout on a random subsample of that size and every other point is placed at the
distance-weighted mean position of its 10 nearest fitted points (in the PCA space), in chunks with a
progress bar; umap-learn's own ``transform`` was slower here than fitting all 100k points.
``benchmarks/bench_umap.py`` measures both against umap-learn's defaults.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
import warnings
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from sda2 import arrays, config, runs, store
from sda2.label_versions import label_version
from sda2.compute.embeddings import compute_embeddings, default_model, embedding_keys

METHODS = ("umap", "pca")
PLACE_CHUNK = 10_000
UMAP_MODULES = ("umap.umap_", "umap.layouts", "umap.distances", "umap.spectral", "umap.utils", "umap.sparse")
_caching_lock = threading.Lock()
_caching_on = False


def numba_cache_dir() -> Path:
    """Where UMAP's compiled machine code is kept between processes (``NUMBA_CACHE_DIR``, else ``<repo>/.sda2/numba``)."""
    return Path(os.environ.get("NUMBA_CACHE_DIR") or config.PROJECT_ROOT / ".sda2" / "numba").resolve()


def cache_umap_compiles() -> int:
    """Make umap-learn's numba functions keep their compiled code on disk; the number of functions switched.

    umap-learn compiles about 40 numba functions on its first fit in a process (a minute and more on a busy
    2-core machine) and, unlike pynndescent, asks numba to cache almost none of them. Switched on here, the
    compile happens once per machine (``scripts/setup.sh`` warms it with :func:`warm_up`); later processes
    load the machine code from :func:`numba_cache_dir`.
    """
    global _caching_on
    with _caching_lock:
        if _caching_on:
            return 0
        import importlib

        import numba
        from numba.core.registry import CPUDispatcher

        modules = [importlib.import_module(name) for name in UMAP_MODULES]
        folder = numba_cache_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return 0  # a read-only checkout: numba keeps its own defaults and compiles per process
        numba.config.CACHE_DIR = str(folder)
        switched = 0
        for module in modules:
            for value in list(vars(module).values()):
                if isinstance(value, CPUDispatcher) and type(value._cache).__name__ == "NullCache":
                    value.enable_caching()
                    switched += 1
        _caching_on = True
        return switched


def warm_up(n: int = 300, dims: int = 64) -> float:
    """Compile (or load from the disk cache) everything a UMAP map needs on a small random set; seconds taken."""
    started = time.perf_counter()
    rows = np.random.default_rng(0).normal(size=(n, dims)).astype(np.float32)
    project(rows, "umap", n_epochs=20, progress=False)
    return time.perf_counter() - started



def map_key(embeddings_key: str) -> str:
    """The :mod:`sda2.arrays` key of the map made from embeddings ``embeddings_key``."""
    return f"map_{embeddings_key}"


def _fingerprint(dataset_name: str, key: str) -> str:
    """A digest of stored embeddings: their ids, shape, creation time and a strided sample of rows."""
    ids, values = arrays.load(dataset_name, key)
    digest = hashlib.sha1()
    digest.update(np.ascontiguousarray(ids).tobytes())
    digest.update(repr((values.shape, str(values.dtype), arrays.info(dataset_name, key).get("created_at"))).encode())
    step = max(1, len(values) // 1024)
    digest.update(np.ascontiguousarray(values[::step]).tobytes())
    return digest.hexdigest()


def _resolve_key(dataset, embeddings_key: str | None, compute_missing: bool, progress=False) -> str:
    """The embeddings key to map: the one given, else the preferred stored one, else new ones of the default model."""
    keys = embedding_keys(dataset.name)
    if embeddings_key is not None:
        if embeddings_key not in keys:
            raise KeyError(f"Dataset {dataset.name!r} has no embeddings {embeddings_key!r} "
                           f"(stored: {', '.join(keys) or 'none'}). Fix: pass one of those, or compute it with "
                           "sda2.compute_embeddings.")
        return embeddings_key
    if keys:
        return keys[0]
    if not compute_missing:
        raise KeyError(f"Dataset {dataset.name!r} has no embeddings yet. Fix: run "
                       "sda2.compute_embeddings(dataset) first, or pass compute_missing=True.")
    compute_embeddings(dataset, model=default_model(dataset), progress=progress)
    return embedding_keys(dataset.name)[0]


EPOCHS_200_FROM = 5_000  # points fitted from which UMAP runs 200 epochs instead of 500
_DEFAULTS = {"n_neighbors": 15, "min_dist": 0.1, "n_epochs": None, "pca_dims": 50, "fit_limit": 20_000, "seed": None}


def _params(method: str, **params) -> dict:
    """The full parameter record of a map (defaults filled in), as stored with it and compared on reuse."""
    if method not in METHODS:
        raise ValueError(f"Unknown map method {method!r}. Fix: use one of {', '.join(METHODS)}.")
    unknown = set(params) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"Unknown map parameter(s) {', '.join(sorted(unknown))}. Fix: use {', '.join(_DEFAULTS)}.")
    return {"method": "pca"} if method == "pca" else {"method": method, **_DEFAULTS, **params}


def project(X: np.ndarray, method: str = "umap", n_neighbors: int = 15, min_dist: float = 0.1,
            n_epochs: int | None = None, pca_dims: int | None = 50, fit_limit: int = 20_000,
            seed: int | None = None, progress=True) -> np.ndarray:
    """2-D float32 coordinates of the rows of ``X`` (PCA, or UMAP with the speed-ups described above).

    ``progress``: True for umap-learn's log and a tqdm bar, False for none, or a callable
    ``progress(fraction, eta_s, text)`` told each stage (PCA, UMAP fit, placing the rest).
    """
    from sklearn.decomposition import PCA

    report = progress if callable(progress) else (lambda fraction, eta_s, text: None)

    X = np.asarray(X, dtype=np.float32).reshape(len(X), -1)
    n = len(X)
    if method == "pca" or n < 4:
        components = min(2, n, X.shape[1])
        xy = PCA(components, random_state=0).fit_transform(X) if n > 1 else np.zeros((n, 0))
        return np.pad(xy, ((0, 0), (0, 2 - xy.shape[1]))).astype(np.float32)
    if pca_dims and X.shape[1] > pca_dims and n > pca_dims:
        report(0.02, None, f"reducing {n:,} embeddings from {X.shape[1]:,} to {pca_dims} dims with PCA")
        X = PCA(pca_dims, random_state=0).fit_transform(X).astype(np.float32)
    import umap  # imported here: umap-learn takes seconds to import and compiles with numba on first use

    cache_umap_compiles()

    fit_n = min(n, fit_limit)
    rng = np.random.default_rng(seed)
    fit_rows = np.arange(n) if fit_n == n else np.sort(rng.choice(n, fit_n, replace=False))
    report(0.05, None, f"finding the {min(n_neighbors, fit_n - 1)} nearest neighbours of {fit_n:,} points")
    knn = exact_neighbours(X[fit_rows], min(n_neighbors, fit_n - 1))
    if n_epochs is None:  # umap-learn uses 500 up to 10,000 points; 200 from 5,000 on halves a 10k map's fit
        n_epochs = 500 if fit_n < EPOCHS_200_FROM else 200  # (10k MNIST: 10-NN kept 0.250 -> 0.239)
    reducer = umap.UMAP(n_neighbors=min(n_neighbors, fit_n - 1), min_dist=min_dist, n_epochs=n_epochs,
                        random_state=seed, n_jobs=1 if seed is not None else -1, verbose=progress is True,
                        precomputed_knn=knn)
    report(0.1, None, f"fitting UMAP on {fit_n:,} points (a machine's first map also compiles UMAP)")
    with warnings.catch_warnings():  # "no search index: transform unavailable": sda2 never calls transform
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        fitted = reducer.fit_transform(X[fit_rows]).astype(np.float32)
    if fit_n == n:
        report(1.0, 0.0, f"UMAP fitted on {n:,} points")
        return fitted
    rest = np.setdiff1d(np.arange(n), fit_rows)
    xy = np.empty((n, 2), dtype=np.float32)
    xy[fit_rows] = fitted
    report(0.8, None, f"placing the other {len(rest):,} points by their nearest fitted ones")
    xy[rest] = _place(X[fit_rows], xy[fit_rows], X[rest], progress is True)
    report(1.0, 0.0, f"{n:,} points on the map")
    return xy


def exact_neighbours(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, None]:
    """(indices, distances, None) of each row's ``k`` exact Euclidean nearest rows, itself first, for UMAP.

    umap-learn computes these itself either through a Python callback per pair of points (under 4,096 points:
    seconds of pure overhead, 1.6 M calls on 1,797 digits) or with pynndescent (approximate, and minutes
    of numba compiling in a fresh process); scikit-learn's exact search in the PCA space is faster than both.
    """
    from sklearn.neighbors import NearestNeighbors

    distances, indices = NearestNeighbors(n_neighbors=k).fit(X).kneighbors(X)
    return indices.astype(np.int32), distances.astype(np.float32), None


def _place(fitted: np.ndarray, fitted_xy: np.ndarray, rest: np.ndarray, progress: bool, k: int = 10) -> np.ndarray:
    """Positions for ``rest``: the inverse-distance-weighted mean position of each one's k nearest fitted points."""
    from sklearn.neighbors import NearestNeighbors

    index = NearestNeighbors(n_neighbors=min(k, len(fitted))).fit(fitted)
    out = np.empty((len(rest), 2), dtype=np.float32)
    for start in tqdm(range(0, len(rest), PLACE_CHUNK), desc="placing points on the map", unit="chunk",
                      disable=not progress):
        distances, neighbours = index.kneighbors(rest[start:start + PLACE_CHUNK])
        weights = 1 / (distances + 1e-6)
        out[start:start + PLACE_CHUNK] = (fitted_xy[neighbours] * weights[..., None]).sum(1) / weights.sum(1, keepdims=True)
    return out


def _is_current(dataset_name: str, key: str, wanted: dict, fingerprint: str) -> bool:
    """True when the stored map of ``key`` was made with ``wanted`` from the embeddings of ``fingerprint``."""
    if not arrays.exists(dataset_name, map_key(key)) or \
            map_key(key) in runs.incomplete_arrays(store.as_dataset(dataset_name)):
        return False
    info = arrays.info(dataset_name, map_key(key))
    return info.get("params") == wanted and info.get("embeddings_fingerprint") == fingerprint


def map_status(dataset_or_name, embeddings_key: str | None = None, method: str | None = None, **params) -> str:
    """"missing", "stale" or "current": the stored map of the embeddings against the embeddings now.

    Stale means the embeddings changed since the map was made, or, when ``method`` or ``params`` are
    given, that the map was made with other ones.
    """
    dataset = store.as_dataset(dataset_or_name)
    key = _resolve_key(dataset, embeddings_key, compute_missing=False)
    if not arrays.exists(dataset, map_key(key)):
        return "missing"
    info = arrays.info(dataset, map_key(key))
    wanted = _params(method or info.get("method", "umap"), **params) if (method or params) else info.get("params")
    return "current" if _is_current(dataset.name, key, wanted, _fingerprint(dataset.name, key)) else "stale"


def compute_map(dataset_or_name, embeddings_key: str | None = None, method: str = "umap", *, force: bool = False,
                compute_missing: bool = False, progress=True, **params) -> tuple[np.ndarray, np.ndarray]:
    """(ids, xy) of the 2-D map of a dataset's embeddings: the stored one while current, else computed and stored.

    ``params``: n_neighbors (15), min_dist (0.1), n_epochs (None: 500 below 5,000 fitted points, else 200),
    pca_dims (50),
    fit_limit (20,000: fit on a subsample above it, place the rest by nearest neighbours) and seed (None:
    fastest, parallel).
    Rows of embeddings that are not finite (a failed image) are left off the map; ``compute_missing``
    computes pixel embeddings first when the dataset has none. ``progress``: True (tqdm), False, or a callable
    ``progress(fraction, eta_s, text)``: embeddings take its first half when computed here, the map the rest.
    """
    wanted = _params(method, **params)
    options = {**_DEFAULTS, **params}
    dataset = store.as_dataset(dataset_or_name)
    report = progress if callable(progress) else None
    share = 0.5 if report is not None and compute_missing and not embedding_keys(dataset.name) else 0.0

    def embedding_stage(fraction, eta_s, text):
        report(share * fraction, None, f"embeddings: {text}")

    def map_stage(fraction, eta_s, text):
        report(share + (1 - share) * fraction, eta_s, f"map: {text}")

    key = _resolve_key(dataset, embeddings_key, compute_missing, embedding_stage if report else progress)
    fingerprint = _fingerprint(dataset.name, key)
    if not force and _is_current(dataset.name, key, wanted, fingerprint):
        ids, xy = arrays.load(dataset, map_key(key))
        return ids, np.asarray(xy)
    ids, values = arrays.load(dataset, key)
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    finite = np.isfinite(values).all(axis=1)
    if finite.sum() < 2:
        raise ValueError(f"Embeddings {key!r} of {dataset.name!r} have {int(finite.sum())} usable rows; a map needs "
                         "at least 2. Fix: recompute the embeddings (sda2.compute_embeddings).")
    started = time.perf_counter()
    version = label_version(dataset)
    xy = project(values[finite], method, progress=map_stage if report else progress, **options)
    ids = ids[finite]
    fit_samples = min(len(ids), options["fit_limit"]) if method == "umap" else len(ids)
    with runs.recording(dataset, runs.array_run_key(map_key(key)), "map", arrays=[map_key(key)],
                        params={**wanted, "embeddings_key": key}, label_version_used=version,
                        summary={"samples": len(ids), "fit_samples": fit_samples}):
        arrays.save(dataset, map_key(key), ids, xy, method=method, params=wanted, embeddings_key=key,
                    embeddings_fingerprint=fingerprint, left_off_nonfinite=int((~finite).sum()),
                    fit_samples=fit_samples, seconds=round(time.perf_counter() - started, 2), run_id=uuid.uuid4().hex)
    return ids, xy


def load_map(dataset_or_name, embeddings_key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, xy) of the stored map of ``embeddings_key`` (default: the preferred embeddings); never computes."""
    dataset = store.as_dataset(dataset_or_name)
    key = _resolve_key(dataset, embeddings_key, compute_missing=False)
    if not arrays.exists(dataset, map_key(key)):
        raise KeyError(f"Dataset {dataset.name!r} has no map of embeddings {key!r} yet. "
                       f"Fix: run sda2.compute_map({dataset.name!r}, {key!r}).")
    ids, xy = arrays.load(dataset, map_key(key))
    return ids, np.asarray(xy)


def map_info(dataset_or_name, embeddings_key: str | None = None) -> dict:
    """The stored record of a map (method, parameters, run id, seconds), or {} when there is none."""
    dataset = store.as_dataset(dataset_or_name)
    key = _resolve_key(dataset, embeddings_key, compute_missing=False)
    return arrays.info(dataset, map_key(key)) if arrays.exists(dataset, map_key(key)) else {}
