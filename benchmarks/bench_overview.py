"""Benchmark: time to compute the Overview page's data on synthetic 100,000- and 1,000,000-sample datasets.

Goal: ≤ 2 s at 100k and ≤ 10 s at 1M for ``sda2.explore.overview.dataset_overview`` (ground truth and a
prediction field, per split). References measured in the same run on the same data:

- naive: ``values()`` of split, ground-truth and predicted labels, then pandas ``value_counts``;
- FiftyOne per split: ``count_values`` of each label field on one ``match`` view per split.

The synthetic datasets (10 imbalanced classes, train/val/test, predictions 85 % right, fake file paths)
live in a database of their own, ``sda2_bench``, and are built once and reused by later runs.

    .venv/bin/python benchmarks/bench_overview.py            # 100k and 1M
    .venv/bin/python benchmarks/bench_overview.py --sizes 100000 --repeats 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from tqdm import tqdm  # noqa: E402

import sda2  # noqa: E402,F401  (points FiftyOne at the project's database before it is imported)
from sda2 import store  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402
from sda2.explore.overview import dataset_overview  # noqa: E402

import fiftyone as fo  # noqa: E402
from fiftyone import ViewField as F  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "overview.json"
CLASSES = [f"class_{i}" for i in range(10)]
GOALS_S = {100_000: 2.0, 1_000_000: 10.0}
BENCH_VERSION = 2  # bump when the synthetic data changes: cached datasets of another version are rebuilt


def build(n: int, seed: int = 0) -> str:
    """The synthetic dataset of ``n`` samples (built once, then reused); returns its name."""
    name = f"bench_overview_{n}"
    if name in store.list_datasets() and store.open_dataset(name).info.get("bench_version") == BENCH_VERSION:
        return name
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(CLASSES) + 1) ** 1.2  # Zipf-like: about 16:1 largest / smallest
    labels = rng.choice(len(CLASSES), size=n, p=weights / weights.sum())
    splits = rng.choice(["train", "val", "test"], size=n, p=[0.8, 0.1, 0.1])
    records = (Record(f"/synthetic/{i:07d}.png", CLASSES[c], s)
               for i, c, s in tqdm(zip(range(n), labels, splits), total=n, desc=f"records {n:,}"))
    write_dataset(name, records, "classification", mode="overwrite", classes=CLASSES, check_images=False)
    dataset = store.open_dataset(name)
    # predictions: right 85 % of the time, else the next class; written server-side in one update
    wrong = {"$arrayElemAt": [CLASSES, {"$mod": [{"$add": [{"$indexOfArray": [CLASSES, "$ground_truth.label"]},
                                                            1]}, len(CLASSES)]}]}
    dataset._sample_collection.update_many({}, [
        {"$set": {"_r": {"$rand": {}}}},
        {"$set": {"predictions": {"_id": "$ground_truth._id", "_cls": "Classification", "tags": [], "confidence": "$_r",
                                  "label": {"$cond": [{"$lt": ["$_r", 0.85]}, "$ground_truth.label", wrong]}}}},
        {"$unset": "_r"}])
    dataset.add_sample_field("predictions", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classification)
    dataset.info = {**dataset.info, "bench_version": BENCH_VERSION}
    dataset.save()
    return name


def ours(dataset) -> dict:
    """sda2's Overview data: one aggregation pipeline."""
    result = dataset_overview(dataset, "ground_truth", prediction_field="predictions")
    return result.distribution.groupby("split")["count"].sum().to_dict()


def naive(dataset) -> dict:
    """values() of every label, then pandas."""
    frame = pd.DataFrame({"split": dataset.values("split"), "label": dataset.values("ground_truth.label"),
                          "pred": dataset.values("predictions.label")})
    frame.groupby("split")["label"].value_counts()
    frame["pred"].value_counts()
    return frame.groupby("split")["label"].count().to_dict()


def fiftyone_per_split(dataset) -> dict:
    """FiftyOne's count_values on one view per split."""
    counts = {}
    for split in dataset.distinct("split"):
        view = dataset.match(F("split") == split)
        counts[split] = sum(view.count_values("ground_truth.label").values())
    dataset.count_values("predictions.label")
    return counts


def timed(fn, dataset, repeats: int) -> tuple[float, dict]:
    """Median wall time of ``repeats`` calls (after one warm-up) and the last result."""
    result = fn(dataset)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn(dataset)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    """Build (or reuse) the datasets, time ours and the references, print and write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        start = time.perf_counter()
        dataset = store.open_dataset(build(n))
        setup_s = time.perf_counter() - start
        t_ours, r_ours = timed(ours, dataset, args.repeats)
        t_naive, r_naive = timed(naive, dataset, args.repeats)
        t_fo, r_fo = timed(fiftyone_per_split, dataset, args.repeats)
        assert r_ours == r_naive == r_fo, (r_ours, r_naive, r_fo)  # all three count the same samples
        goal = GOALS_S.get(n)
        row = {"samples": n, "ours_s": round(t_ours, 3), "naive_values_pandas_s": round(t_naive, 3),
               "fiftyone_count_values_per_split_s": round(t_fo, 3),
               "speedup_vs_naive": round(t_naive / t_ours, 2), "speedup_vs_fiftyone": round(t_fo / t_ours, 2),
               "goal_s": goal, "meets_goal": None if goal is None else t_ours <= goal,
               "setup_s": round(setup_s, 1)}
        rows.append(row)
        print(f"{n:>9,} samples: sda2 {t_ours:6.2f} s | naive values()+pandas {t_naive:6.2f} s "
              f"({row['speedup_vs_naive']:.1f}× slower) | FiftyOne count_values per split {t_fo:6.2f} s "
              f"({row['speedup_vs_fiftyone']:.1f}× slower) | goal ≤ {goal} s: "
              f"{'met' if row['meets_goal'] else 'MISSED'}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "overview", "what": "dataset_overview(ground_truth + predictions, per split), median of "
        f"{args.repeats} warm runs", "machine": f"{platform.node()} {os.cpu_count()} cores",
        "load_average_1_5_15min": [round(x, 1) for x in os.getloadavg()],
        "fiftyone": fo.__version__, "results": rows}, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
