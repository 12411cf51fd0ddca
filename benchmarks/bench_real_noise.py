"""Benchmark: ranking real label errors on CIFAR-10N, frozen classifier vs frozen + kNN (the CPU default).

Real crowd noise, known truth: train on one worker's labels (``random_label1``, 17.2 % wrong; and
``worse_label``, 40 % wrong), score against ``clean_label``. The pipeline is sda2's frozen one:
EfficientNet-Lite0 embeddings (``compute_embeddings``), 5-fold out-of-fold logistic regression
(``out_of_fold_proba`` with ``default_classifier``), temperature scaling with a nested split
(``calibrate_out_of_fold``). On the same probabilities it reports, per ranking score: average precision
of the ranking (AP) against the real errors, R-precision; for the flag list: sda2's confident-learning
flags beside cleanlab.filter.find_label_issues, precision and recall, and the share of flags estimated to be
real errors (sda2's ``label_error_chance`` and the former 1 - p(given)) beside the measured one; out-of-fold
accuracy against the clean labels; ECE before/after calibration; wall times. Every figure is given for two
views of the same embeddings: the frozen-feature classifier alone, and fused with kNN label agreement
(``frozen_knn_proba``, what ``compute_predictions`` runs by default on CPU).

Ranking candidates: self_confidence, normalized_margin, confidence_weighted_entropy (cleanlab's
definitions, computed on the raw out-of-fold probabilities; cleanlab's own get_label_quality_scores is
run beside for each), expected_benefit = 1 - calibrated p(given label) (what the app orders by) and a
combination, the mean rank of self-confidence and normalized margin.

    .venv/bin/python benchmarks/bench_real_noise.py               # 10,000-image subset (~10 min on 2 busy cores)
    .venv/bin/python benchmarks/bench_real_noise.py --n 50000     # all of it

The 10,000 subset is the first 10,000 images of the official order (CIFAR's order is random; about 1,000
per class). Skips with a clear message where ../shared/data/cifar10n is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tarfile
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.stats import rankdata  # noqa: E402
from sklearn.metrics import average_precision_score  # noqa: E402

import sda2  # noqa: E402,F401  (sets the database environment before FiftyOne is imported)
from sda2 import arrays, store  # noqa: E402
from sda2.analysis.calibration import calibrate_out_of_fold, label_error_chance  # noqa: E402
from sda2.analysis.label_issues import find_label_issues, label_quality_scores  # noqa: E402
from sda2.analysis.oof import out_of_fold_proba  # noqa: E402
from sda2.analysis.view_fusion import frozen_knn_proba  # noqa: E402
from sda2.compute.effnet import auto_input_size  # noqa: E402
from sda2.compute.embeddings import compute_embeddings  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

from cleanlab.filter import find_label_issues as cl_find_label_issues  # noqa: E402
from cleanlab.rank import get_label_quality_scores as cl_quality  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "cifar10n"
CACHE = Path(os.environ.get("SDA2_BENCH_CACHE", Path.home() / ".cache" / "sda2_bench")) / "cifar10n"
RESULTS = ROOT / "benchmarks" / "results"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SCORES = ("self_confidence", "normalized_margin", "confidence_weighted_entropy")


def unpack() -> Path:
    """The unpacked image folder (unpacked once into the cache)."""
    if not (CACHE / "train").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tarfile.open(DATA / "train_images.tar.gz") as tar:
            tar.extractall(CACHE, filter="data")
    return CACHE


def stored_key(name: str, model: str, size: int) -> str | None:
    """A stored embeddings key of ``name`` made by ``model`` at ``size`` px for every sample, or None."""
    for key in arrays.list_keys(name):
        info = arrays.info(name, key)
        if info.get("kind") == "embeddings" and info.get("model") == model and info.get("input_size") == size:
            return key
    return None


def embeddings(table: pd.DataFrame, n: int, input_size: int | None = None) -> tuple[np.ndarray, float]:
    """EfficientNet-Lite0 embeddings of the first ``n`` images (a dataset kept between runs) at ``input_size`` px
    (default sda2's choice for 32 px) and the seconds; stored ones of that size are reused whatever their key
    (the default key may hold an older size: compute_embeddings resumes a key at its stored size)."""
    name = f"bench_cifar10n_{n}"
    if name not in store.list_datasets():
        root = unpack()
        write_dataset(name, [Record(str(root / p), lab, "train") for p, lab in
                             zip(table["filepath"], table["random_label1"])], "classification", classes=CLASSES,
                      check_images=False)
    dataset = store.open_dataset(name)
    start = time.perf_counter()
    size = input_size or auto_input_size(32)
    key = stored_key(name, "effnet_lite0", size) or (
        f"embeddings_effnet_lite0_{size}" if arrays.exists(name, "embeddings_effnet_lite0") else None)
    result = compute_embeddings(dataset, model="effnet_lite0", key=key, input_size=size, progress=False)
    seconds = time.perf_counter() - start
    paths = dict(zip(dataset.values("id"), dataset.values("filepath")))
    ids, X = arrays.load(name, result.key)
    order = {str(CACHE / p): i for i, p in enumerate(table["filepath"])}
    rows = np.array([order[paths[i]] for i in ids])
    out = np.full((len(table), X.shape[1]), np.nan, dtype=np.float32)
    out[rows] = X
    return out, seconds


def ranking(suspicion: np.ndarray, truth: np.ndarray) -> dict:
    """AP and R-precision of ``suspicion`` (higher = more likely wrong) against the real errors ``truth``."""
    top = np.argsort(-suspicion, kind="stable")[: int(truth.sum())]
    return {"ap": round(float(average_precision_score(truth, suspicion)), 4),
            "r_precision": round(float(truth[top].mean()), 4)}


def flags(mask: np.ndarray, truth: np.ndarray) -> dict:
    """Precision and recall of a flag list."""
    tp = int((mask & truth).sum())
    return {"flagged": int(mask.sum()), "precision": round(tp / max(int(mask.sum()), 1), 4),
            "recall": round(tp / max(int(truth.sum()), 1), 4)}


def one_view(view: str, raw: np.ndarray, given: np.ndarray, clean: np.ndarray, seconds: float) -> dict:
    """Every figure for one view's out-of-fold probabilities ``raw`` (frozen, or frozen+kNN) on labels ``given``."""
    truth = given != clean
    calibrated, cal = calibrate_out_of_fold(raw, given, CLASSES)
    row = {"view": view, "seconds": round(seconds, 1), "oof_accuracy_vs_given": round(cal.accuracy, 4),
           "oof_accuracy_vs_clean": round(float((raw.argmax(1) == clean).mean()), 4),
           "ece_before": round(cal.ece_before, 4), "ece_after": round(cal.ece_after, 4),
           "temperature": round(float(np.mean(cal.temperatures)), 3), "rank": {}, "flags": {}}
    quality = {}
    for score in SCORES:
        quality[score] = ours = label_quality_scores(given, raw, method=score)
        theirs = cl_quality(given, raw, method=score)
        row["rank"][score] = {**ranking(-ours, truth), "cleanlab_ap": ranking(-theirs, truth)["ap"],
                              "max_abs_diff_vs_cleanlab": float(np.abs(ours - theirs).max())}
    benefit = 1 - calibrated[np.arange(len(given)), given]
    row["rank"]["expected_benefit"] = ranking(benefit, truth)
    # a combination: the mean rank of self-confidence and normalized margin (the two cleanlab says trade places)
    row["rank"]["mean_rank_sc_nm"] = ranking(rankdata(-quality["self_confidence"]) +
                                             rankdata(-quality["normalized_margin"]), truth)
    mask = find_label_issues(given, calibrated)["is_label_issue"].to_numpy()
    row["flags"]["sda2_calibrated"] = flags(mask, truth)
    row["flags"]["sda2_calibrated"]["estimated_precision_naive"] = round(float(benefit[mask].mean()), 4)
    row["flags"]["sda2_calibrated"]["estimated_precision_sda2"] = round(
        float(label_error_chance(calibrated, given)[mask].mean()), 4)
    row["flags"]["sda2_raw"] = flags(find_label_issues(given, raw)["is_label_issue"].to_numpy(), truth)
    row["flags"]["cleanlab_raw"] = flags(cl_find_label_issues(given, raw), truth)
    row["flags"]["expected_benefit_ge_0.5"] = flags(benefit >= 0.5, truth)
    return row


def one_label_set(X: np.ndarray, given: np.ndarray, clean: np.ndarray, column: str) -> dict:
    """Frozen vs frozen+kNN (the CPU default) for training on labels ``given``, scored against ``clean``."""
    start = time.perf_counter()
    raw, _ = out_of_fold_proba(X, np.asarray(CLASSES, dtype=object)[given], CLASSES, folds=5)
    oof_seconds = time.perf_counter() - start
    start = time.perf_counter()
    fused = frozen_knn_proba(raw, X, given, len(CLASSES))
    knn_seconds = time.perf_counter() - start
    return {"labels": column, "noise": round(float((given != clean).mean()), 4),
            "views": [one_view("frozen", raw, given, clean, oof_seconds),
                      one_view("frozen+kNN", fused, given, clean, oof_seconds + knn_seconds)]}


def show(row: dict, n: int) -> None:
    """Print one label set's figures, a view per block."""
    for v in row["views"]:
        print(f"\n== {v['view']}, train on {row['labels']} (noise {row['noise']:.1%}), n={n:,}: OOF accuracy vs "
              f"clean {v['oof_accuracy_vs_clean']:.4f}, ECE {v['ece_before']:.4f} -> {v['ece_after']:.4f} "
              f"(T={v['temperature']}), {v['seconds']} s")
        print(f"{'ranking score':30s} {'AP':>7s} {'R-prec':>7s} {'cleanlab AP':>12s}")
        for score, m in v["rank"].items():
            print(f"{score:30s} {m['ap']:7.4f} {m['r_precision']:7.4f} {m.get('cleanlab_ap', float('nan')):12.4f}")
        print(f"{'flag list':30s} {'flagged':>8s} {'prec':>7s} {'recall':>7s}")
        for what, m in v["flags"].items():
            extra = (f"  (estimated precision: sda2 {m['estimated_precision_sda2']:.4f}, former 1-p(given) "
                     f"{m['estimated_precision_naive']:.4f})" if "estimated_precision_sda2" in m else "")
            print(f"{what:30s} {m['flagged']:8,d} {m['precision']:7.4f} {m['recall']:7.4f}{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="images (first n of the official order)")
    parser.add_argument("--input-size", type=int, default=None,
                        help="EfficientNet input size (default: sda2's choice for 32 px images, 160)")
    args = parser.parse_args()
    if not (DATA / "labels.csv.gz").exists():
        print(f"CIFAR-10N not found at {DATA}: skipping (see its README for the files).")
        return
    table = pd.read_csv(DATA / "labels.csv.gz").sort_values("index").head(args.n).reset_index(drop=True)
    code = {c: i for i, c in enumerate(CLASSES)}
    X, embed_seconds = embeddings(table, args.n, args.input_size)
    clean = table["clean_label"].map(code).to_numpy()
    result = {"n": len(table), "input_size": args.input_size or auto_input_size(32),
              "embedding_seconds_this_run": round(embed_seconds, 1), "runs": []}
    for column in ("random_label1", "worse_label"):
        row = one_label_set(X, table[column].map(code).to_numpy(), clean, column)
        result["runs"].append(row)
        show(row, len(table))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"real_noise_cifar10n_{len(table)}{f'_{args.input_size}' if args.input_size else ''}.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
