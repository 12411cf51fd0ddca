"""Benchmark: out-of-fold prediction time and accuracy on the MNIST test set (10,000 real digits).

sda2's default (``sda2.analysis.oof.out_of_fold_proba``: StandardScaler + L2 logistic regression,
C=0.05, 5 stratified folds) against the reference measured in the same run on the same folds:
scikit-learn's ``cross_val_predict`` with a default ``LogisticRegression()`` on the same features.

Features: raw pixels (784-d, scaled to 0..1), read with sda2's idx reader from ``../shared/data/mnist``; and,
when ``sda2.compute.embeddings`` is present, EfficientNet-Lite0 embeddings of the same images (MNIST
imported once into the ``sda2_bench`` database; embeddings cached there by the embeddings module).

    .venv/bin/python benchmarks/bench_predictions.py
    .venv/bin/python benchmarks/bench_predictions.py --skip-effnet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"

import numpy as np  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # noqa: E402

import sda2  # noqa: E402,F401  (environment first)
from sda2.ingest.mnist import read_idx  # noqa: E402
from sda2.analysis.oof import DEFAULT_C, out_of_fold_proba  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = ROOT / "benchmarks" / "results" / "predictions.json"
FOLDS, SEED = 5, 0


def read_mnist(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images n×784 float32 in 0..1, labels as strings) of the MNIST test set."""
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return images.astype(np.float32) / 255, labels.astype(str)


def timed(fn):
    """(result, seconds) of ``fn()``."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def compare(X: np.ndarray, y: np.ndarray, features: str) -> dict:
    """Time and out-of-fold accuracy of sda2's default and of the sklearn reference on ``X``."""
    (proba, classes), ours_s = timed(lambda: out_of_fold_proba(X, y, folds=FOLDS, seed=SEED))
    ours_acc = float((np.asarray(classes)[proba.argmax(1)] == y).mean())
    cv = StratifiedKFold(FOLDS, shuffle=True, random_state=SEED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        ref, ref_s = timed(lambda: cross_val_predict(LogisticRegression(), X, y, cv=cv, method="predict_proba"))
    ref_acc = float((np.unique(y)[ref.argmax(1)] == y).mean())
    not_converged = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    row = {"features": features, "samples": len(y), "dims": int(X.shape[1]), "folds": FOLDS,
           "sda2_seconds": round(ours_s, 2), "sda2_oof_accuracy": round(ours_acc, 4),
           "reference_seconds": round(ref_s, 2), "reference_oof_accuracy": round(ref_acc, 4),
           "reference_folds_not_converged": not_converged,
           "speedup_vs_reference": round(ref_s / ours_s, 2)}
    print(f"{features:>14}: sda2 {ours_s:6.1f} s, OOF accuracy {ours_acc:.2%} | reference (default "
          f"LogisticRegression) {ref_s:6.1f} s, {ref_acc:.2%}, {not_converged}/{FOLDS} folds not converged | "
          f"sda2 is {ref_s / ours_s:.2f}× the reference's speed")
    return row


def confident_nonsense(X: np.ndarray, y: np.ndarray, features: str = "pixels", images: np.ndarray | None = None) -> dict:
    """Issue 8 item 2: the share of wrong out-of-fold predictions at calibrated confidence >= 0.99 (goal <= 1 %),
    for the frozen classifier and the CPU default (frozen + kNN label agreement), with their accuracy and ECE."""
    from sda2.analysis.calibration import calibrate_out_of_fold
    from sda2.analysis.view_fusion import frozen_knn_proba

    start = time.perf_counter()
    frozen, classes = out_of_fold_proba(X, y, folds=FOLDS, seed=SEED)
    codes = np.searchsorted(classes, y)
    views = {"frozen": frozen, "frozen_knn": frozen_knn_proba(frozen, X, codes, len(classes))}
    if images is not None:  # compute_predictions' CPU default for up to 20,000 images of 17-32 px
        from sda2.analysis.view_fusion import fuse_log_mean
        from sda2.compute.small_cnn import small_cnn_out_of_fold

        cnn = small_cnn_out_of_fold(images, codes, len(classes), seed=SEED, progress=False)
        views["frozen_knn_cnn"] = fuse_log_mean(views["frozen_knn"], cnn)
    row = {"seconds": round(time.perf_counter() - start, 1)}
    for view, proba in views.items():
        calibrated, cal = calibrate_out_of_fold(proba, codes)
        wrong = calibrated.argmax(1) != codes
        sure = wrong & (calibrated.max(1) >= 0.99)
        row[view] = {"oof_accuracy": round(1 - float(wrong.mean()), 4), "wrong": int(wrong.sum()),
                     "wrong_at_0.99": int(sure.sum()), "share": round(float(sure.sum() / max(wrong.sum(), 1)), 4),
                     "ece_after": round(cal.ece_after, 4), "temperature": round(float(np.mean(cal.temperatures)), 3)}
        print(f"{view:>11} on {features}: OOF accuracy {row[view]['oof_accuracy']:.2%}; {sure.sum()} of {wrong.sum()} "
              f"wrong predictions at calibrated confidence >= 0.99 ({row[view]['share']:.2%}, goal <= 1 %); "
              f"ECE {cal.ece_after:.4f}")
    return row


def effnet_features() -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """EfficientNet-Lite0 embeddings, labels and the 28 x 28 images of MNIST test (rows aligned), or None when the
    embeddings module is absent."""
    try:
        from sda2.compute.embeddings import compute_embeddings, load_embeddings
    except ImportError:
        print("sda2.compute.embeddings not present: skipping EfficientNet-Lite0 features")
        return None
    from sda2 import store
    from sda2.ingest.mnist import import_mnist

    name = "bench_mnist_10k"
    if name not in store.list_datasets():
        import_mnist(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz", name)
    dataset = store.open_dataset(name)
    compute_embeddings(dataset, model="effnet_lite0")
    ids, X = load_embeddings(dataset)
    labels = dict(zip(dataset.values("id"), dataset.values("ground_truth.label")))
    source = dict(zip(dataset.values("id"), dataset.values("source_index")))
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")[[source[i] for i in ids]]
    return np.asarray(X, dtype=np.float32), np.array([labels[i] for i in ids]), images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-effnet", action="store_true", help="pixel features only")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"MNIST not found at {MNIST}; put the idx .gz files there to run this benchmark.")
    X, y = read_mnist(MNIST)
    rows = [compare(X, y, "pixels")]
    nonsense = confident_nonsense(X, y)
    effnet = None if args.skip_effnet else effnet_features()
    if effnet is not None:
        rows.append(compare(*effnet[:2], "effnet_lite0"))
        nonsense_effnet = confident_nonsense(*effnet[:2], "effnet_lite0", images=effnet[2])
    result = {"benchmark": "out-of-fold predictions, MNIST test 10k", "classifier": f"StandardScaler + "
              f"LogisticRegression(C={DEFAULT_C}, tol=1e-3)", "reference": "sklearn cross_val_predict with "
              "LogisticRegression() defaults, same folds", "machine": f"{platform.processor() or platform.machine()}"
              f", {os.cpu_count()} cores", "results": rows,
              "confident_wrong_pixels": nonsense}
    if effnet is not None:  # what sda2 computes by default for 28 px digits (sda2.compute.embeddings.default_model)
        result["confident_wrong_effnet_lite0"] = nonsense_effnet
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
