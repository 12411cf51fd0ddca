"""Benchmark: how many labels each selection strategy needs on MNIST, against random picks (the reference).

MNIST test (10,000 real digits, read with sda2's idx reader from ``../shared/data/mnist``). Per seed, a stratified
20 % is held out for scoring and the other 8,000 images are the unlabeled pool. Each strategy of
``sda2.analysis.active_learning`` picks 100, 200, 500 and 1,000 of them; the default classifier (standardised
features + L2 logistic regression, ``sda2.analysis.oof.default_classifier``) is trained on the picks and
scored on the held-out part. Strategies that need a model start from the same 50 random labels as random
and grow in rounds of at most half the labeled set (see ``sda2.analysis.data_efficiency``).

Features: PCA-50 of the raw pixels (fitted without labels on all 10,000 images), and EfficientNet-Lite0
embeddings when the ``bench_mnist_10k`` dataset in the ``sda2_bench`` database has them for every image
(``benchmarks/bench_predictions.py`` computes them; ``--effnet`` computes them here, slow on a small CPU).

Reported: accuracy vs budget per strategy (mean ± sd over seeds) as HTML and PNG plots, and the labels the
best strategy needs for random's accuracy at each budget (goal: at most half at some budget).

    .venv/bin/python benchmarks/bench_data_efficiency.py            # pixels (+ effnet when stored), 3 seeds
    .venv/bin/python benchmarks/bench_data_efficiency.py --seeds 5 --effnet
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"

import numpy as np
from sklearn.decomposition import PCA

import sda2  # noqa: F401  (environment first)
from sda2.ingest.mnist import read_idx  # noqa: E402
from sda2.analysis.data_efficiency import (
    BUDGETS,
    accuracy_table,
    data_efficiency,
    label_savings,
)
from sda2.ui.label_next_figures import accuracy_vs_budget

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = ROOT / "benchmarks" / "results"
BENCH_DATASET = "bench_mnist_10k"


def read_mnist(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images n×784 float32 in 0..1, labels) of the MNIST test set."""
    images = read_idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784)
    labels = read_idx(folder / "t10k-labels-idx1-ubyte.gz")
    return images.astype(np.float32) / 255, labels.astype(str)


def effnet_features(compute: bool) -> tuple[np.ndarray, np.ndarray] | None:
    """EfficientNet-Lite0 embeddings and labels of all 10,000 images, or None when not stored (and not asked)."""
    from sda2 import arrays, store

    if BENCH_DATASET not in store.list_datasets():
        if not compute:
            return None
        from sda2.ingest.mnist import import_mnist

        import_mnist(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz", BENCH_DATASET)
    dataset = store.open_dataset(BENCH_DATASET)
    key = "embeddings_effnet_lite0"
    stored = arrays.info(BENCH_DATASET, key)["shape"][0] if arrays.exists(BENCH_DATASET, key) else 0
    if stored < len(dataset):
        if not compute:
            print(f"effnet: {stored:,} of {len(dataset):,} images embedded in {BENCH_DATASET!r}; skipping "
                  "(pass --effnet to compute the rest)")
            return None
        from sda2.compute.embeddings import compute_embeddings

        compute_embeddings(dataset, model="effnet_lite0")
    ids, X = arrays.load(BENCH_DATASET, key)
    labels = dict(zip(*dataset.values(["id", "ground_truth.label"])))
    return np.asarray(X, dtype=np.float32), np.array([labels[i] for i in ids])


def save_png(results, path: Path, title: str) -> None:
    """Accuracy vs budget per strategy with a ±1 sd band, as a PNG (matplotlib: no browser needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = accuracy_table(results).fillna({"std": 0.0})
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for strategy, part in table.groupby("strategy"):
        part = part.sort_values("budget")
        mean, std = 100 * part["mean"], 100 * part["std"]
        style = {"color": "black", "linestyle": "--", "linewidth": 2.5} if strategy == "random" else {}
        line, = ax.plot(part["budget"], mean, marker="o", label=strategy, **style)
        ax.fill_between(part["budget"], mean - std, mean + std, color=line.get_color(), alpha=0.15)
    ax.set_xscale("log")
    ax.set_xticks(sorted(table["budget"].unique()), [str(b) for b in sorted(table["budget"].unique())])
    ax.set_xlabel("labels (budget)")
    ax.set_ylabel("held-out accuracy (%)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(X: np.ndarray, y: np.ndarray, features: str, seeds: int) -> dict:
    """The experiment on one feature set: tables printed, plots written, a JSON-ready summary returned."""
    start = time.perf_counter()
    results = data_efficiency(X, y, BUDGETS, seeds=tuple(range(seeds)))
    seconds = time.perf_counter() - start
    table = accuracy_table(results)
    means = table.pivot(index="strategy", columns="budget", values="mean")
    print(f"\n{features}: held-out accuracy (%), mean of {seeds} seeds ({seconds:.0f} s)")
    print((100 * means).round(1).sort_values(BUDGETS[-1], ascending=False).to_string())
    savings = label_savings(results)
    shares = savings.pivot(index="strategy", columns="random_budget", values="share_of_random")
    print("labels needed for random's accuracy at each budget, as a share of random's labels (NaN: not reached "
          "within 1,000)")
    print(shares.round(2).to_string())
    others = savings[savings["strategy"] != "random"].dropna(subset=["labels_needed"])
    best = others.loc[others["share_of_random"].idxmin()]
    print(f"best: {best['strategy']} reaches random's {100 * best['target_accuracy']:.1f}% at "
          f"{int(best['random_budget']):,} labels with {best['labels_needed']:.0f} labels "
          f"= {best['share_of_random']:.2f}x random's ({1 / best['share_of_random']:.1f}x fewer labels)")
    title = f"MNIST test, {features}: accuracy vs labels ({seeds} seeds, ±1 sd)"
    stem = f"data_efficiency_{features}"
    accuracy_vs_budget(results, title).write_html(RESULTS / f"{stem}.html", include_plotlyjs="cdn")
    save_png(results, RESULTS / f"{stem}.png", title)
    return {"features": features, "dims": int(X.shape[1]), "seeds": seeds, "seconds": round(seconds, 1),
            "accuracy": json.loads(table.round(4).to_json(orient="records")),
            "share_of_random_labels": json.loads(savings.round(4).to_json(orient="records")),  # NaN -> null
            "best": {"strategy": best["strategy"], "random_budget": int(best["random_budget"]),
                     "target_accuracy": round(float(best["target_accuracy"]), 4),
                     "labels_needed": round(float(best["labels_needed"]), 1),
                     "share_of_random": round(float(best["share_of_random"]), 3),
                     "goal_at_most_half_met": bool(best["share_of_random"] <= 0.5)},
            "plots": [f"benchmarks/results/{stem}.html", f"benchmarks/results/{stem}.png"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds (held-out splits and picks), default 3")
    parser.add_argument("--effnet", action="store_true", help="compute EfficientNet-Lite0 embeddings if missing")
    parser.add_argument("--skip-effnet", action="store_true", help="pixel features only")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"MNIST not found at {MNIST}; put the idx .gz files there to run this benchmark.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    images, y = read_mnist(MNIST)
    pixels = PCA(50, random_state=0).fit_transform(images).astype(np.float32)
    rows = [run(pixels, y, "pixels_pca50", args.seeds)]
    effnet = None if args.skip_effnet else effnet_features(args.effnet)
    if effnet is not None:
        rows.append(run(*effnet, "effnet_lite0", args.seeds))
    result = {"benchmark": "data efficiency of selection strategies, MNIST test 10k (8,000 pool / 2,000 held out)",
              "reference": "random picks of the same budgets, same seeds, same classifier, measured in the same run",
              "classifier": "sda2.analysis.oof.default_classifier (floored scaling + LogisticRegression C=0.05)",
              "protocol": "model-based strategies: 50 random labels, then rounds adding max(50, half the labeled "
                          "set) until each budget",
              "budgets": list(BUDGETS), "machine": f"{platform.processor() or platform.machine()}, "
                                                   f"{os.cpu_count()} cores", "results": rows}
    (RESULTS / "data_efficiency.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS / 'data_efficiency.json'}")


if __name__ == "__main__":
    main()
