"""Benchmark: EfficientNet-Lite0 embedding throughput on this CPU against a naive eager torch loop, same run.

Images: the MNIST test set (real 28x28 digits), imported once as PNG files into the ``sda2_bench`` database.

- naive (the reference): per image, PIL load, RGB, 224x224 resize, ImageNet normalisation, one forward of
  the same pretrained EfficientNet-Lite0 per image, autograd on (no ``inference_mode``), pooled 1280-d.
- sda2: ``compute_embeddings`` end to end on the same samples (reads the file paths from the database,
  decodes the next batch in threads while the model runs, batches of ~100k pixels (8 images at 112), uint8
  NHWC into a channels-last graph, TorchScript trace + freeze, ``inference_mode``, stores the array).
- sda2 at 224: the same pipeline at the native input size, to separate the engineering from the input size.

The three run in interleaved rounds over the same images, so load from other processes hits them alike.
Accuracy cost of the input size: 5-fold logistic-regression accuracy on the embeddings of the first
2,000 test images at the default size and at 224 (raw pixels for context). Then all 10k test images are
embedded when that is estimated to take under 5 minutes (or ``--full``); otherwise the time is extrapolated.

    .venv/bin/python benchmarks/bench_embeddings.py
    .venv/bin/python benchmarks/bench_embeddings.py --n 200 --accuracy-n 1000 --skip-full
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import sda2  # noqa: E402,F401  (environment first)
from sda2 import arrays, store  # noqa: E402
from sda2.compute import effnet  # noqa: E402  (sets OMP_WAIT_POLICY before torch is imported)
from sda2.compute.embeddings import compute_embeddings, load_embeddings  # noqa: E402
from sda2.ingest.mnist import import_mnist  # noqa: E402

import torch  # noqa: E402,I001  (after sda2.compute.effnet, which sets OMP_WAIT_POLICY for it)

ROOT = Path(__file__).resolve().parent.parent
MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = ROOT / "benchmarks" / "results" / "embeddings.json"
DATASET = "bench_embeddings_mnist_10k"
FULL_BUDGET_S = 300


def naive_embed(model, paths: list[str]) -> np.ndarray:
    """The reference: one image at a time, PIL 224x224 transform, eager forward with autograd on."""
    mean, std = effnet.INPUT_MEAN / 255.0, effnet.INPUT_STD / 255.0
    rows = []
    for path in paths:
        image = Image.open(path).convert("RGB").resize((224, 224), Image.BILINEAR)
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float().div(255)
        x = ((x - mean) / std).unsqueeze(0)
        rows.append(model.extract_features(x).mean((2, 3)).detach().numpy()[0])
    return np.stack(rows)


def clock(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of ``fn()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def accuracy(X: np.ndarray, y: np.ndarray) -> float:
    """Mean 5-fold accuracy of a standardised logistic regression on ``X``."""
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    return float(cross_val_score(clf, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0)).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=400, help="images timed for each method (default 400)")
    parser.add_argument("--rounds", type=int, default=4, help="interleaved rounds (default 4)")
    parser.add_argument("--size", type=int, default=effnet.auto_input_size(28),
                        help="sda2 input size (default: what sda2 picks for 28x28 images, 160)")
    parser.add_argument("--accuracy-n", type=int, default=2000, help="images for the accuracy check")
    parser.add_argument("--threads", type=int, default=None, help="torch threads for every method (default: torch's)")
    parser.add_argument("--full", action="store_true", help="embed all 10k even if estimated over 5 minutes")
    parser.add_argument("--skip-full", action="store_true", help="do not embed all 10k (extrapolate)")
    args = parser.parse_args()
    if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        raise SystemExit(f"MNIST not found at {MNIST}; put the idx .gz files there to run this benchmark.")
    if args.threads:
        torch.set_num_threads(args.threads)
    load_start = os.getloadavg()
    if DATASET not in store.list_datasets():
        import_mnist(MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz", DATASET)
    dataset = store.open_dataset(DATASET)
    ids, paths = dataset.values(["id", "filepath"])
    sizes = {"sda2": args.size, "sda2_224": effnet.EFFNET_NATIVE_SIZE}
    keys = {method: f"bench_embeddings_{size}" for method, size in sizes.items()}
    for key in keys.values():
        arrays.delete(DATASET, key)

    reference = effnet.load_backbone(224)
    naive_embed(reference, paths[:2])  # warm-up: first calls allocate
    batch_sizes = {}
    for method, size in sizes.items():  # warm-up: build, trace and freeze the graph, two batch shapes
        embedder = effnet.EffNetEmbedder(size, "cpu")
        batch_sizes[method] = embedder.batch_size
        for batch in (embedder.batch_size, embedder.batch_size, 1):
            embedder.embed(np.zeros((batch, size, size, 3), np.uint8))
    compute_embeddings(dataset.limit(2), key="bench_embeddings_warmup", progress=False)  # first-call imports
    arrays.delete(DATASET, "bench_embeddings_warmup")

    runs = {"naive": lambda chunk: naive_embed(reference, [paths[i] for i in chunk])}
    for method, size in sizes.items():
        runs[method] = lambda chunk, size=size, key=keys[method]: compute_embeddings(
            dataset.select([ids[i] for i in chunk], ordered=True), key=key, input_size=size, progress=False)
    totals = {method: [0.0, 0.0] for method in runs}
    for r, chunk in enumerate(np.array_split(np.arange(args.n), args.rounds)):
        order = list(runs)[r % 3:] + list(runs)[:r % 3]  # rotate who goes first
        for method in order:
            wall, cpu = clock(lambda run=runs[method], chunk=chunk: run(chunk))
            totals[method][0] += wall
            totals[method][1] += cpu
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(
            f"{m} {totals[m][0]:.1f} s" for m in runs), flush=True)
    rate = {m: args.n / wall for m, (wall, _) in totals.items()}
    cpu_rate = {m: args.n / cpu for m, (_, cpu) in totals.items()}
    for method in runs:
        print(f"{method:>9}: {rate[method]:7.1f} images/s ({cpu_rate[method]:6.1f} images per CPU-second), "
              f"{rate[method] / rate['naive']:.2f}x the naive loop")

    # the accuracy the input size costs
    n_acc = args.accuracy_n
    view = dataset.limit(n_acc)
    labels = np.array(view.values("ground_truth.label"))
    acc = {}
    for method, size in sizes.items():
        compute_embeddings(view, key=keys[method], input_size=size, progress=True)  # resumes after the timed ones
        acc[f"effnet_{size}"] = accuracy(load_embeddings(view, keys[method])[1], labels)
    compute_embeddings(view, model="pixels", key="bench_embeddings_pixels", overwrite=True, progress=False)
    acc["pixels_28"] = accuracy(load_embeddings(view, "bench_embeddings_pixels")[1], labels)
    for name, value in acc.items():
        print(f"5-fold logistic-regression accuracy on {n_acc:,} MNIST test images, {name}: {value:.2%}")

    # all 10k test images at the default size
    estimate = len(ids) / rate["sda2"]
    full = {"images": len(ids), "estimated_seconds": round(estimate, 1)}
    if args.full or (estimate <= FULL_BUDGET_S and not args.skip_full):
        run = compute_embeddings(dataset, input_size=args.size, overwrite=True, progress=True)
        full.update(seconds=round(run.seconds, 1), images_per_s=round(run.computed / run.seconds, 1),
                    extrapolated=False)
        print(f"all {len(ids):,} MNIST test images embedded in {run.seconds:.1f} s "
              f"({run.computed / run.seconds:.1f} images/s), stored as {run.key}")
    else:
        full.update(extrapolated=True)
        print(f"all {len(ids):,} MNIST test images: not run, extrapolated {estimate:.0f} s "
              f"from {rate['sda2']:.1f} images/s")

    result = {
        "benchmark": "image embeddings, EfficientNet-Lite0 (ImageNet), MNIST test PNGs",
        "reference": "naive eager loop: per-image PIL load + 224x224 transform, batch 1, autograd on",
        "sda2": f"compute_embeddings: input {args.size}, batch {batch_sizes['sda2']}, threaded decode, channels-last, "
                "TorchScript trace+freeze, inference_mode, results stored",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other "
                   f"processes (load average {load_start[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end)",
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "timed_images": args.n, "rounds": args.rounds, "batch_sizes": batch_sizes,
        "images_per_s": {m: round(v, 2) for m, v in rate.items()},
        "images_per_cpu_s": {m: round(v, 2) for m, v in cpu_rate.items()},
        "speedup_vs_naive": {m: round(rate[m] / rate["naive"], 2) for m in runs if m != "naive"},
        "speedup_vs_naive_cpu": {m: round(cpu_rate[m] / cpu_rate["naive"], 2) for m in runs if m != "naive"},
        "accuracy": {"images": n_acc, "method": "5-fold StandardScaler + LogisticRegression(C=0.1)",
                     **{k: round(v, 4) for k, v in acc.items()}},
        "full_10k": full,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
