"""Benchmark: label-error detection on MNIST test with injected label noise, beside cleanlab and FiftyOne Brain.

Quality: labels flipped at 5 % (uniform) and 10 % (class-conditional: 7→1, 1→7, 3→8, 8→3, 4→9, 9→4, 5→6, 6→5,
2→7, 0→6); out-of-fold probabilities (5-fold, PCA-64 + logistic regression on the pixels, trained on the
noisy labels); precision / recall of the flags, average precision and R-precision of the ranking for
sda2, cleanlab.filter.find_label_issues / cleanlab.rank.get_label_quality_scores and FiftyOne Brain's
compute_mistakenness, all on the same predictions.
Issue 8's reference, measured in the same run: a small CNN trained from scratch out of fold on the noisy labels
(``sda2.compute.small_cnn``, 5 folds), ranked by cleanlab (get_label_quality_scores, find_label_issues) and by
sda2 on the same CNN probabilities; beside it sda2's default CPU pipeline for up to 20,000 small images
("frozen_knn_cnn": EfficientNet-Lite0 embeddings → frozen-feature classifier + kNN label agreement, fused with the
same small CNN by geometric mean → temperature calibration → find_label_issues), and frozen + kNN alone.
The goal: the default pipeline's AP at least that of cleanlab given the small CNN.
Speed: the dataset-level pass (read, score, write back) on a 100,000-sample dataset against
compute_mistakenness on the same dataset; array scoring of 1,000,000 x 10 against cleanlab.

    .venv/bin/python benchmarks/bench_label_issues.py            # everything (about 10-20 min on 2 cores)
    .venv/bin/python benchmarks/bench_label_issues.py --quick    # 20k-sample speed dataset, brain on 5k
    .venv/bin/python benchmarks/bench_label_issues.py --quick --skip-effnet   # no EfficientNet embeddings
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402
from sklearn.model_selection import cross_val_predict  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

import sda2  # noqa: E402,F401  (sets the database environment before FiftyOne is imported)
from sda2 import arrays, config, store  # noqa: E402
from sda2.analysis.calibration import calibrate_out_of_fold  # noqa: E402
from sda2.analysis.label_issues import find_label_issues, label_quality_scores  # noqa: E402
from sda2.analysis.oof import out_of_fold_proba  # noqa: E402
from sda2.analysis.view_fusion import frozen_knn_proba, fuse_log_mean  # noqa: E402
from sda2.compute.small_cnn import small_cnn_out_of_fold  # noqa: E402
from sda2.compute.label_issues import detect_label_issues  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.mnist import read_idx, write_pngs  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

import fiftyone as fo  # noqa: E402
import fiftyone.brain as fob  # noqa: E402
from cleanlab.filter import find_label_issues as cl_find_label_issues  # noqa: E402
from cleanlab.rank import get_label_quality_scores as cl_quality  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = ROOT / "benchmarks" / "results"
CLASSES = [str(c) for c in range(10)]
PAIRS = {7: 1, 1: 7, 3: 8, 8: 3, 4: 9, 9: 4, 5: 6, 6: 5, 2: 7, 0: 6}


def flip_labels(y: np.ndarray, scenario: str, rng) -> np.ndarray:
    """Noisy copy of ``y``: 5 % uniform flips to another class, or 10 % class-conditional flips."""
    noisy = y.copy()
    if scenario == "uniform_5pct":
        flip = rng.random(len(y)) < 0.05
        noisy[flip] = (y[flip] + rng.integers(1, 10, flip.sum())) % 10
    else:
        flip = rng.random(len(y)) < 0.10
        noisy[flip] = [PAIRS[v] for v in y[flip]]
    return noisy


def oof_probabilities(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    model = make_pipeline(PCA(64, random_state=0), LogisticRegression(max_iter=300, C=0.5))
    return cross_val_predict(model, X, y, cv=5, method="predict_proba")


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def best_of(n: int, fn, *args, **kwargs) -> float:
    return min(timed(fn, *args, **kwargs)[1] for _ in range(n))


def flag_metrics(flags: np.ndarray, truth: np.ndarray) -> dict:
    tp = int((flags & truth).sum())
    precision = tp / max(int(flags.sum()), 1)
    recall = tp / max(int(truth.sum()), 1)
    return {"flagged": int(flags.sum()), "precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(2 * precision * recall / max(precision + recall, 1e-12), 4)}


def rank_metrics(suspicion: np.ndarray, truth: np.ndarray) -> dict:
    top = np.argsort(-suspicion, kind="stable")[: int(truth.sum())]
    return {"average_precision": round(float(average_precision_score(truth, suspicion)), 4),
            "r_precision": round(float(truth[top].mean()), 4)}


def sda2_row(noisy: np.ndarray, probs: np.ndarray, truth: np.ndarray, seconds: float | None = None) -> dict:
    """sda2's flags and ranking (self-confidence, as the app) on ``probs``; ``seconds``: making them, added."""
    frame, t = timed(find_label_issues, noisy, probs)
    return {**flag_metrics(frame["is_label_issue"].to_numpy(), truth),
            **rank_metrics(-frame["label_quality"].to_numpy(), truth),
            "seconds": round(t if seconds is None else seconds + t, 2)}


def cleanlab_row(noisy: np.ndarray, probs: np.ndarray, truth: np.ndarray, seconds: float | None = None) -> dict:
    """cleanlab's find_label_issues flags and get_label_quality_scores ranking on ``probs``."""
    flags, t = timed(cl_find_label_issues, noisy, probs)
    scores, t_rank = timed(cl_quality, noisy, probs)
    return {**flag_metrics(flags, truth), **rank_metrics(-scores, truth),
            "seconds": round((seconds or 0.0) + t + t_rank, 2)}


def effnet_embeddings(n: int) -> tuple[np.ndarray, float, bool]:
    """(EfficientNet-Lite0 embeddings of the MNIST test images in idx order, seconds to compute, whether they were
    cached): sda2's default embeddings for 28 px images, on dataset bench_mnist_10k (cached in sda2_bench)."""
    from sda2.compute.embeddings import compute_embeddings, default_model, load_embeddings
    from sda2.ingest.mnist import import_mnist

    name = "bench_mnist_10k"
    if name not in store.list_datasets():
        import_mnist(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz", name)
    dataset = store.open_dataset(name)
    model = default_model(dataset)
    if model != "effnet_lite0":
        print(f"note: sda2's default embedding model for MNIST is now {model!r}; this row uses effnet_lite0")
    cached = bool([k for k in arrays.list_keys(name) if k == "embeddings_effnet_lite0"])
    _, seconds = timed(compute_embeddings, dataset, model="effnet_lite0", progress=False)
    ids, X = load_embeddings(dataset, "embeddings_effnet_lite0")
    index = dict(zip(dataset.values("id"), dataset.values("source_index")))
    order = np.argsort([index[i] for i in ids.tolist()])
    if len(order) != n:
        raise SystemExit(f"{name} holds {len(order)} embedded samples, not {n}. Fix: delete it and run again.")
    return np.asarray(X, dtype=np.float32)[order], seconds, cached


def frozen_knn(X: np.ndarray, noisy: np.ndarray) -> np.ndarray:
    """compute_predictions' "frozen_knn" view (5 folds, not yet calibrated), on arrays."""
    frozen, _ = out_of_fold_proba(X, [CLASSES[v] for v in noisy], CLASSES, folds=5, seed=0)
    return frozen_knn_proba(frozen, X, noisy, len(CLASSES))


def make_dataset(name: str, paths: list[str], labels: np.ndarray, probs: np.ndarray) -> fo.Dataset:
    """A persistent dataset with ground truth, predictions (label, confidence, logits) and the stored probabilities."""
    if name in store.list_datasets():
        store.delete_dataset(name)
    write_dataset(name, [Record(p, CLASSES[v], "test") for p, v in zip(paths, labels)], "classification",
                  classes=CLASSES, check_images=False)
    ds = store.open_dataset(name)
    logs = np.log(np.clip(probs, 1e-12, None))
    best = probs.argmax(axis=1)
    ds.set_values("predictions", [fo.Classification(label=CLASSES[b], confidence=float(p[b]), logits=lg.tolist())
                                  for b, p, lg in zip(best, probs, logs)])
    arrays.save(name, "probabilities", ds.values("id"), probs.astype(np.float32), classes=CLASSES,
                kind="classification", source="benchmark")
    return ds


def quality(paths: list[str], images: np.ndarray, y: np.ndarray, brain: bool, effnet: bool = True) -> dict:
    X = images.reshape(len(images), -1).astype(np.float32) / 255
    out = {}
    clean_cnn, t_clean = timed(small_cnn_out_of_fold, images, y, len(CLASSES), seed=0, progress=False)
    out["small_cnn_clean_labels"] = {"oof_accuracy": round(float((clean_cnn.argmax(1) == y).mean()), 4),
                                     "seconds": round(t_clean, 1), "folds": 5}
    print(f"[small CNN, clean labels] out-of-fold accuracy {out['small_cnn_clean_labels']['oof_accuracy']:.2%} "
          f"in {t_clean:.0f} s")
    X_eff = None
    if effnet:
        X_eff, t_emb, cached = effnet_embeddings(len(y))
        out["effnet_lite0_embeddings"] = {"seconds": round(t_emb, 1), "cached": cached, "dims": int(X_eff.shape[1])}
        print(f"[EfficientNet-Lite0 embeddings] {t_emb:.0f} s{' (cached)' if cached else ''}")
    for scenario in ("uniform_5pct", "class_conditional_10pct"):
        noisy = flip_labels(y, scenario, np.random.default_rng(0))
        truth = noisy != y
        probs, oof_s = timed(oof_probabilities, X, noisy)
        row = {"flipped": int(truth.sum()), "oof_accuracy_vs_true": round(float((probs.argmax(1) == y).mean()), 4),
               "oof_seconds": round(oof_s, 1)}
        ours, t_ours = timed(find_label_issues, noisy, probs)
        margin = find_label_issues(noisy, probs, rank_by="normalized_margin")
        cl_flags, t_cl = timed(cl_find_label_issues, noisy, probs)
        cl_scores = cl_quality(noisy, probs)
        row["sda2"] = {**flag_metrics(ours["is_label_issue"].to_numpy(), truth),
                       **rank_metrics(-ours["label_quality"].to_numpy(), truth), "seconds": round(t_ours, 3),
                       "ranking_normalized_margin": rank_metrics(-margin["label_quality"].to_numpy(), truth)}
        row["cleanlab"] = {**flag_metrics(cl_flags, truth), **rank_metrics(-cl_scores, truth),
                           "seconds": round(t_cl, 3)}
        row["flags_identical_to_cleanlab"] = float((ours["is_label_issue"].to_numpy() == cl_flags).mean())
        suggested_right = (ours["suggested_label"].astype(int).to_numpy() == y)[ours["is_label_issue"].to_numpy()]
        row["sda2"]["suggestion_restores_true_label"] = round(float(suggested_right.mean()), 4)
        if brain:
            ds = make_dataset(f"bench_labels_{scenario}", paths, noisy, probs)
            _, t_brain = timed(fob.compute_mistakenness, ds, "predictions", label_field="ground_truth",
                               use_logits=True, progress=False)
            mistakenness = np.asarray(ds.values("mistakenness"), dtype=float)
            row["fiftyone_brain_mistakenness"] = {**rank_metrics(mistakenness, truth), "seconds": round(t_brain, 2)}
            detected, t_detect = timed(detect_label_issues, ds)
            row["sda2_dataset_pass"] = {"seconds": round(t_detect, 2),
                                        "same_flags_as_array_call": bool((detected["is_label_issue"].to_numpy()
                                                                          == ours["is_label_issue"].to_numpy()).all())}
            store.delete_dataset(ds.name)
        cnn, t_cnn = timed(small_cnn_out_of_fold, images, noisy, len(CLASSES), seed=0, progress=False)
        row["small_cnn"] = {"oof_accuracy_vs_true": round(float((cnn.argmax(1) == y).mean()), 4),
                            "oof_accuracy_vs_noisy": round(float((cnn.argmax(1) == noisy).mean()), 4),
                            "seconds": round(t_cnn, 1)}
        row["cleanlab_on_small_cnn"] = cleanlab_row(noisy, cnn, truth, t_cnn)
        row["sda2_on_small_cnn"] = sda2_row(noisy, cnn, truth, t_cnn)
        if X_eff is not None:
            raw, t_default = timed(frozen_knn, X_eff, noisy)
            default = calibrate_out_of_fold(raw, noisy, CLASSES, seed=0)[0]
            row["frozen_knn"] = {"oof_accuracy_vs_true": round(float((default.argmax(1) == y).mean()), 4),
                                 "seconds_without_embeddings": round(t_default, 1)}
            row["sda2_frozen_knn"] = sda2_row(noisy, default, truth, t_default)
            row["cleanlab_on_frozen_knn"] = cleanlab_row(noisy, default, truth, t_default)
            # compute_predictions' default for up to 20,000 images of 17-32 px on CPU ("frozen_knn_cnn"):
            # the two views fused by geometric mean, then calibrated
            both = calibrate_out_of_fold(fuse_log_mean(raw, cnn), noisy, CLASSES, seed=0)[0]
            row["default_pipeline"] = {"oof_accuracy_vs_true": round(float((both.argmax(1) == y).mean()), 4),
                                       "model": "frozen_knn_cnn"}
            row["sda2_default_pipeline"] = sda2_row(noisy, both, truth, t_cnn + t_default)
            row["cleanlab_on_default_pipeline"] = cleanlab_row(noisy, both, truth, t_cnn + t_default)
            row["goal_default_ap_over_cleanlab_cnn_ap"] = round(
                row["sda2_default_pipeline"]["average_precision"]
                / row["cleanlab_on_small_cnn"]["average_precision"], 3)
        out[scenario] = row
        print_table(scenario, row)
        print(f"[{scenario}] flipped {row['flipped']}: sda2 P/R {row['sda2']['precision']}/{row['sda2']['recall']} "
              f"AP {row['sda2']['average_precision']} | cleanlab P/R {row['cleanlab']['precision']}/"
              f"{row['cleanlab']['recall']} AP {row['cleanlab']['average_precision']}"
              + (f" | brain AP {row['fiftyone_brain_mistakenness']['average_precision']}" if brain else ""))
    return out


def print_table(scenario: str, row: dict) -> None:
    """The quality rows of one scenario: AP, R-precision, flag precision / recall, seconds (probabilities + scoring)."""
    rows = [("sda2 on PCA-64 + logistic regression", row["sda2"], row["oof_seconds"]),
            ("cleanlab on PCA-64 + logistic regression", row["cleanlab"], row["oof_seconds"]),
            ("sda2 on small CNN", row["sda2_on_small_cnn"], None),
            ("cleanlab on small CNN (issue 8 reference)", row["cleanlab_on_small_cnn"], None)]
    if "sda2_default_pipeline" in row:
        rows += [("sda2 frozen+kNN (EffNet-Lite0, calibrated; default above 20k images)",
                  row["sda2_frozen_knn"], None),
                 ("cleanlab on the frozen+kNN probabilities", row["cleanlab_on_frozen_knn"], None),
                 ("sda2 default for 10k small images: frozen+kNN x small CNN",
                  row["sda2_default_pipeline"], None),
                 ("cleanlab on the default pipeline's probabilities", row["cleanlab_on_default_pipeline"], None)]
    print(f"\n{scenario}: {row['flipped']} flipped labels; small CNN out-of-fold accuracy vs true labels "
          f"{row['small_cnn']['oof_accuracy_vs_true']:.2%} ({row['small_cnn']['seconds']:.0f} s)"
          + (f"; default pipeline {row['default_pipeline']['oof_accuracy_vs_true']:.2%}"
             if "default_pipeline" in row else ""))
    print(f"{'ranking / flags':<66} {'AP':>6} {'R-prec':>6} {'prec':>6} {'recall':>6} {'flagged':>7} {'seconds':>8}")
    for label, r, extra in rows:
        seconds = r["seconds"] + (extra or 0)
        print(f"{label:<66} {r['average_precision']:>6.3f} {r['r_precision']:>6.3f} {r['precision']:>6.3f} "
              f"{r['recall']:>6.3f} {r['flagged']:>7} {seconds:>8.1f}")
    if "goal_default_ap_over_cleanlab_cnn_ap" in row:
        ratio = row["goal_default_ap_over_cleanlab_cnn_ap"]
        print(f"goal (issue 8): default pipeline AP / cleanlab-on-small-CNN AP = {ratio:.3f} "
              f"({'met' if ratio >= 1 else 'not met'})")
    print("seconds: making the probabilities (out of fold; embeddings not counted) + scoring\n")


def dataset_speed(paths: list[str], y: np.ndarray, n: int, brain_n: int) -> dict:
    """Full dataset-level pass on n samples vs compute_mistakenness (on brain_n samples, scaled if fewer)."""
    rng = np.random.default_rng(1)
    reps = -(-n // len(y))
    labels = flip_labels(np.tile(y, reps)[:n], "uniform_5pct", rng)
    probs = rng.dirichlet(np.full(10, 0.3), n)
    probs[np.arange(n), labels] += 1.5
    probs /= probs.sum(axis=1, keepdims=True)
    name = f"bench_labels_speed_{n}"
    _, t_build = timed(make_dataset, name, (paths * reps)[:n], labels, probs)
    ds = store.open_dataset(name)
    frame, t_ours = timed(detect_label_issues, ds)
    view = ds if brain_n >= n else ds.limit(brain_n)
    _, t_brain = timed(fob.compute_mistakenness, view, "predictions", label_field="ground_truth", use_logits=True,
                       progress=False)
    brain_full = t_brain * n / min(brain_n, n)
    result = {"samples": n, "build_seconds": round(t_build, 1), "sda2_detect_label_issues_seconds": round(t_ours, 2),
              "brain_samples_timed": min(brain_n, n), "brain_compute_mistakenness_seconds": round(t_brain, 1),
              "brain_seconds_for_all_samples": round(brain_full, 1),
              "brain_extrapolated": brain_n < n, "speedup": round(brain_full / t_ours, 1),
              "flagged": int(frame["is_label_issue"].sum())}
    store.delete_dataset(name)
    print(f"[dataset pass, {n:,} samples] sda2 {t_ours:.2f} s vs brain compute_mistakenness "
          f"{brain_full:.1f} s{f' (extrapolated from {brain_n})' if brain_n < n else ''}: "
          f"{result['speedup']}x")
    return result


def array_speed(n: int = 1_000_000, k: int = 10) -> dict:
    rng = np.random.default_rng(2)
    labels = rng.integers(0, k, n)
    probs = rng.dirichlet(np.ones(k), n)
    result = {"shape": [n, k]}
    for method in ("self_confidence", "normalized_margin"):
        ours = best_of(3, label_quality_scores, labels, probs, method=method)
        ref = best_of(3, cl_quality, labels, probs, method=method)
        result[method] = {"sda2_seconds": round(ours, 4), "cleanlab_seconds": round(ref, 4),
                          "ratio_sda2_over_cleanlab": round(ours / ref, 2)}
        print(f"[array scoring {n:,}x{k}, {method}] sda2 {ours * 1000:.0f} ms, cleanlab {ref * 1000:.0f} ms "
              f"(ratio {ours / ref:.2f})")
    ours = best_of(1, find_label_issues, labels, probs)
    ref = best_of(1, cl_find_label_issues, labels, probs)
    result["find_label_issues"] = {"sda2_seconds": round(ours, 2), "cleanlab_seconds": round(ref, 2),
                                   "ratio_sda2_over_cleanlab": round(ours / ref, 2)}
    print(f"[find_label_issues {n:,}x{k}] sda2 {ours:.2f} s, cleanlab {ref:.2f} s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small speed dataset (20k), brain timed on 5k")
    parser.add_argument("--speed-samples", type=int, default=100_000)
    parser.add_argument("--speed-only", action="store_true", help="skip the quality part (MNIST flips)")
    parser.add_argument("--skip-effnet", action="store_true",
                        help="leave out the default pipeline on EfficientNet-Lite0 embeddings")
    parser.add_argument("--brain-samples", type=int, default=None,
                        help="time compute_mistakenness on this many samples and scale (default: all)")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        sys.exit(f"MNIST not found at {MNIST}: put t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz there.")
    n_speed = 20_000 if args.quick else args.speed_samples
    brain_n = args.brain_samples or (5_000 if args.quick else n_speed)
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    y = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    folder = config.home() / "bench" / "mnist_png"  # a cache of the benchmarks, outside the datasets' media
    paths = ([str(folder / f"{i:05d}.png") for i in range(len(images))] if (folder / "09999.png").exists()
             else write_pngs(images, folder))
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", "command": " ".join(sys.argv)}
    if not args.speed_only:
        results["quality"] = quality(paths, images, y, brain=True, effnet=not args.skip_effnet)
    results["dataset_pass"] = dataset_speed(paths, y, n_speed, brain_n)
    results["array_scoring"] = array_speed()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / ("label_issues_speed.json" if args.speed_only else "label_issues.json")
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
