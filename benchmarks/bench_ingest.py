"""Ingest benchmark: the 10,000 MNIST test images as PNG files, sda2's import beside plain FiftyOne's.

    .venv/bin/python benchmarks/bench_ingest.py [--repeats 3]

Writes the PNGs once (cached in .sda2/bench/mnist_png/test/<digit>/), then in the same run times
  (a) sda2: ``import_folder`` (folder scan, image header checks with metadata, bulk insert, atomic rename);
  (b) plain FiftyOne: ``fo.Sample`` objects with ``fo.Classification`` labels + ``dataset.add_samples``
      (no image checks, no metadata);
  (c) with --metadata, once: plain FiftyOne as (b) followed by ``compute_metadata()`` (what (a) stores).
Prints samples/s and the ratios, checks the sda2 dataset is a valid FiftyOne dataset with the same
content as (b), and writes benchmarks/results/ingest.json. Uses its own database, ``sda2_bench``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"

import sda2  # noqa: E402,F401  (exports the database environment before FiftyOne is imported)
from sda2 import config, store  # noqa: E402
from sda2.ingest import import_folder  # noqa: E402
from sda2.ingest.mnist import read_idx, write_pngs  # noqa: E402

import fiftyone as fo  # noqa: E402

MNIST = config.PROJECT_ROOT.parent / "shared" / "data" / "mnist"
CACHE = config.home() / "bench" / "mnist_png"
RESULTS = config.PROJECT_ROOT / "benchmarks" / "results" / "ingest.json"
NAME = "bench_mnist_sda2"
GOAL = 5.0


def png_cache() -> list[tuple[str, str]]:
    """(path, label) of the 10,000 MNIST test PNGs, written once under CACHE/test/<label>/."""
    done = CACHE / "complete.json"
    if not done.exists():
        images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
        labels = read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")
        for label in range(10):
            write_pngs(images[labels == label], CACHE / "test" / str(label))
        done.write_text(json.dumps({"images": int(len(images))}))
    return [(str(p), p.parent.name) for p in sorted((CACHE / "test").glob("*/*.png"))]


def time_sda2() -> float:
    """Seconds for sda2's import of the cached folder (replacing the previous run's dataset)."""
    start = time.perf_counter()
    import_folder(CACHE, NAME, mode="overwrite")
    return time.perf_counter() - start


def time_fiftyone(files: list[tuple[str, str]], metadata: bool) -> tuple[float, fo.Dataset]:
    """Seconds for plain FiftyOne to build the samples and add them (and compute metadata if asked)."""
    start = time.perf_counter()
    dataset = fo.Dataset()
    samples = [fo.Sample(filepath=p, ground_truth=fo.Classification(label=label), split="test")
               for p, label in files]
    dataset.add_samples(samples, progress=False)
    if metadata:
        dataset.compute_metadata(progress=False)
    return time.perf_counter() - start, dataset


def check_valid(reference: fo.Dataset, n: int) -> dict:
    """Check the sda2 dataset reads back through FiftyOne like the plain one; returns what was checked."""
    dataset = store.open_dataset(NAME)
    assert len(dataset) == n, (len(dataset), n)
    assert dataset.count_values("ground_truth.label") == reference.count_values("ground_truth.label")
    assert dataset.count_values("split") == {"test": n}
    assert set(dataset.values("filepath")) == set(reference.values("filepath"))
    samples = list(dataset.iter_samples())  # every document deserialised as an fo.Sample
    assert all(isinstance(s.ground_truth, fo.Classification) and s.metadata.width == 28 for s in samples)
    widths = dataset.bounds("metadata.width")
    assert widths == (28, 28), widths
    stats = dataset.stats(include_media=True)
    assert stats["samples_count"] == n and stats["media_bytes"] > 0, stats
    assert dataset.get_field_schema()["ground_truth"].document_type is fo.Classification
    assert dataset.match(fo.ViewField("ground_truth.label") == "7").count() == reference.count_values(
        "ground_truth.label")["7"]
    return {"samples": n, "media_bytes": stats["media_bytes"], "classes": store.classes(dataset)}


def main() -> int:
    """Run the benchmark, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each (best and median reported)")
    parser.add_argument("--metadata", action="store_true", help="also time FiftyOne + compute_metadata (slow)")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        print(f"MNIST not found at {MNIST}; put the idx files there to run this benchmark.")
        return 1
    files = png_cache()
    n = len(files)
    times: dict[str, list[float]] = {"sda2": [], "fiftyone": []}
    reference = None
    for _ in range(args.repeats):
        times["sda2"].append(time_sda2())
        seconds, dataset = time_fiftyone(files, metadata=False)
        times["fiftyone"].append(seconds)
        if reference is not None:
            dataset.delete()
        else:
            reference = dataset
    if args.metadata:
        seconds, dataset = time_fiftyone(files, metadata=True)
        times["fiftyone_metadata"] = [seconds]
        dataset.delete()
    checked = check_valid(reference, n)
    reference.delete()
    store.delete_dataset(NAME)

    rate = {k: n / min(v) for k, v in times.items()}
    ratio = rate["sda2"] / rate["fiftyone"]
    ratio_metadata = rate["sda2"] / rate["fiftyone_metadata"] if args.metadata else None
    print(f"ingest of {n:,} MNIST PNG files (best of {args.repeats}):")
    print(f"  sda2 import_folder (header checks + metadata)  {rate['sda2']:>9,.0f} samples/s  "
          f"({min(times['sda2']):.2f} s)")
    print(f"  FiftyOne Sample + add_samples                  {rate['fiftyone']:>9,.0f} samples/s  "
          f"({min(times['fiftyone']):.2f} s)")
    if args.metadata:
        print(f"  FiftyOne add_samples + compute_metadata        {rate['fiftyone_metadata']:>9,.0f} samples/s  "
              f"({min(times['fiftyone_metadata']):.2f} s, one run)")
    print(f"  sda2 / FiftyOne add_samples: {ratio:.1f}x (goal >= {GOAL:.0f}x: {'met' if ratio >= GOAL else 'NOT met'})")
    if args.metadata:
        print(f"  sda2 / FiftyOne add_samples + compute_metadata: {ratio_metadata:.1f}x")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "ingest", "samples": n, "repeats": args.repeats,
        "seconds": times, "median_seconds": {k: statistics.median(v) for k, v in times.items()},
        "samples_per_s": rate, "ratio_vs_fiftyone_add_samples": ratio,
        "ratio_vs_fiftyone_with_metadata": ratio_metadata, "goal_ratio": GOAL, "goal_met": ratio >= GOAL,
        "checked": checked, "fiftyone": fo.__version__, "python": platform.python_version(),
        "cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }, indent=2))
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
