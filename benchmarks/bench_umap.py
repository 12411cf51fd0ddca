"""UMAP map time at 10k and 100k points: sda2's projection beside umap-learn's defaults, in the same run.

10k: the real MNIST test set (../shared/data/mnist, 784 raw pixels). 100k: ten jittered copies of it
(each image shifted by up to 2 pixels and given pixel noise), so the clusters are real but the points new.
sda2 (``sda2.compute.projection.project``): PCA to 50-d first, and above 20k points a UMAP fit on a 20k
subsample with ``transform`` for the rest. The reference is ``umap.UMAP()`` with its defaults on the same
array. Map quality for both: 10-NN accuracy of the digit class from the 2-D positions (3-fold CV on
10k points). numba compiles once per process: a warm-up run on small data comes first and is reported.

    .venv/bin/python benchmarks/bench_umap.py [--skip-reference-100k]

Writes benchmarks/results/umap.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

import sda2  # noqa: F401  (environment first)
from sda2.compute.projection import project
from sda2.ingest.mnist import read_idx

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = Path(__file__).resolve().parent / "results" / "umap.json"


def load_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 10k MNIST test images as float32 rows in 0..1, and their labels."""
    images, labels = MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz"
    if not images.exists():
        raise SystemExit(f"MNIST not found at {MNIST}: put t10k-images-idx3-ubyte.gz and the labels file there.")
    return read_idx(images), read_idx(labels)


def jittered(X: np.ndarray, copies: int, seed: int = 0) -> np.ndarray:
    """``copies`` versions of every image, each shifted by up to 2 px and with pixel noise, as float32 rows."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(copies):
        dx, dy = rng.integers(-2, 3, size=2)
        shifted = np.roll(X, (int(dy), int(dx)), axis=(1, 2)).astype(np.float32) / 255
        out.append((shifted + rng.normal(0, 0.05, shifted.shape).astype(np.float32)).reshape(len(X), -1))
    return np.concatenate(out)


def quality(xy: np.ndarray, y: np.ndarray, n: int = 10_000) -> float:
    """10-NN accuracy of the class from 2-D positions (3-fold CV) on the first ``n`` points."""
    return float(cross_val_score(KNeighborsClassifier(10), xy[:n], y[:n], cv=3).mean())


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - start


def umap_default(X: np.ndarray) -> np.ndarray:
    import umap

    return umap.UMAP().fit_transform(X)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-reference-100k", action="store_true",
                        help="skip umap-learn defaults on 100k points (the slowest run, minutes on 2 cores)")
    args = parser.parse_args()
    images, labels = load_mnist()
    X10 = images.reshape(len(images), -1).astype(np.float32) / 255
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} CPU cores", "runs": {}}

    _, warm = timed(project, X10[:3000], fit_limit=1000, n_epochs=20, progress=False)  # compiles fit + transform
    results["numba_warmup_s"] = round(warm, 1)
    print(f"warm-up (numba compilation, once per process): {warm:.1f} s")

    def record(name: str, xy: np.ndarray, seconds: float, y: np.ndarray, n: int) -> None:
        results["runs"][name] = {"points": n, "seconds": round(seconds, 2), "knn10_accuracy": round(quality(xy, y), 4)}
        print(f"{name:34s} {n:>7,} points {seconds:7.1f} s   10-NN accuracy in 2-D {results['runs'][name]['knn10_accuracy']:.3f}",
              flush=True)

    xy, s = timed(lambda: PCA(2).fit_transform(X10))
    record("10k pca2 (sklearn)", xy, s, labels, len(X10))
    xy, s = timed(umap_default, X10)
    record("10k umap-learn defaults", xy, s, labels, len(X10))
    xy, s = timed(project, X10, progress=False)
    record("10k sda2 (pca50 + umap)", xy, s, labels, len(X10))

    X100 = jittered(images, 10)
    y100 = np.tile(labels, 10)
    order = np.random.default_rng(1).permutation(len(X100))  # quality is measured on the first 10k: mixed copies
    X100, y100 = X100[order], y100[order]
    xy, s = timed(project, X100, progress=False)
    record("100k sda2 (pca50, fit 20k + place rest)", xy, s, y100, len(X100))
    xy, s = timed(project, X100, fit_limit=len(X100), progress=False)
    record("100k sda2 full fit (pca50 + umap)", xy, s, y100, len(X100))
    if not args.skip_reference_100k:
        xy, s = timed(umap_default, X100)
        record("100k umap-learn defaults", xy, s, y100, len(X100))

    runs = results["runs"]
    ratios = {"10k: umap-learn defaults / sda2": runs["10k umap-learn defaults"]["seconds"]
              / runs["10k sda2 (pca50 + umap)"]["seconds"],
              "100k: sda2 full fit / sda2 subsample fit": runs["100k sda2 full fit (pca50 + umap)"]["seconds"]
              / runs["100k sda2 (pca50, fit 20k + place rest)"]["seconds"]}
    if "100k umap-learn defaults" in runs:
        ratios["100k: umap-learn defaults / sda2"] = (runs["100k umap-learn defaults"]["seconds"]
                                                      / runs["100k sda2 (pca50, fit 20k + place rest)"]["seconds"])
    results["speedup"] = {k: round(v, 2) for k, v in ratios.items()}
    for name, ratio in ratios.items():
        print(f"{name}: {ratio:.2f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
