"""Benchmark: duplicates on MNIST test plus injected copies with known truth, beside FiftyOne Brain and cleanlab.

Injected (from disjoint random sources, 200 each): exact file copies; JPEG re-encodes (quality 90 and 75);
a 1-pixel shift; brightness +30 grey levels; a 2x bicubic resize round trip (28 -> 56 -> 28); and two
harder kinds reported apart: brightness x1.2 + 20 (strokes clip at 255) and a lossy 0.75x round trip
(28 -> 21 -> 28). Sources are in split "train", copies in "test" (so every true group is a leak).
All tools get the same embeddings (sda2's image fingerprints) and the same cut (cosine similarity 0.99 =
cosine distance 0.01); cleanlab Datalab also runs with its own default threshold. Per kind: recall (the
copy ends in its source's group); precision: share of the predicted pairs that are true (overall and among
pairs touching that kind). Times in seconds, measured in the same run.

    .venv/bin/python benchmarks/bench_duplicates.py            # MNIST + injected copies (a few minutes)
    .venv/bin/python benchmarks/bench_duplicates.py --scale    # also 1,000,000 x 128 vectors, near duplicates
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

import sda2  # noqa: E402,F401  (sets the database environment before FiftyOne is imported)
from sda2 import arrays, config, store  # noqa: E402
from sda2.analysis.duplicates import find_duplicates  # noqa: E402
from sda2.compute.duplicates import FINGERPRINT_SIZE, detect_duplicates, file_hashes, image_fingerprints  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.mnist import read_idx, write_pngs  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

import fiftyone.brain as fob  # noqa: E402
from cleanlab.datalab.internal.issue_manager.duplicate import NearDuplicateIssueManager  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist"
RESULTS = ROOT / "benchmarks" / "results"
NAME = "bench_duplicates"
THRESHOLD = 0.99
PER_KIND = 200


def jpeg(quality: int):
    def encode(a: np.ndarray) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(a).save(buffer, "JPEG", quality=quality)
        return buffer.getvalue()
    return encode


def png(a: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(a.astype(np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def shifted(a):
    out = np.zeros_like(a)
    out[:, 1:] = a[:, :-1]
    return png(out)


def round_trip(size: int, method):
    return lambda a: png(np.asarray(Image.fromarray(a).resize((size, size), method).resize(a.shape[::-1], method)))


KINDS = {
    "exact": None,
    "jpeg_q90": jpeg(90),
    "jpeg_q75": jpeg(75),
    "shift_1px": shifted,
    "brightness_+30": lambda a: png(np.clip(a.astype(np.int16) + 30, 0, 255)),
    "resize_2x_roundtrip": round_trip(56, Image.BICUBIC),
}
HARD_KINDS = {
    "hard_brightness_x1.2+20": lambda a: png(np.clip(a * 1.2 + 20, 0, 255)),
    "hard_resize_0.75x_roundtrip": round_trip(21, Image.BILINEAR),
}


def build(images: np.ndarray) -> tuple[list[str], np.ndarray, list[str]]:
    """Originals plus copies on disk; returns paths, the family of each row (source index) and its kind."""
    originals = config.media_dir("bench_mnist")
    paths = ([str(originals / f"{i:05d}.png") for i in range(len(images))] if (originals / "09999.png").exists()
             else write_pngs(images, originals))
    folder = config.media_dir("bench_duplicate_copies")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    kinds = {**KINDS, **HARD_KINDS}
    sources = np.random.default_rng(0).choice(len(images), PER_KIND * len(kinds), replace=False)
    family = list(range(len(images)))
    labels = ["original"] * len(images)
    for n, (kind, make) in enumerate(kinds.items()):
        for s in sources[n * PER_KIND:(n + 1) * PER_KIND]:
            target = folder / f"{kind}_{s:05d}.{'jpg' if kind.startswith('jpeg') else 'png'}"
            if make is None:
                shutil.copy(paths[s], target)
            else:
                target.write_bytes(make(images[s]))
            paths.append(str(target))
            family.append(s)
            labels.append(kind)
    return paths, np.array(family), labels


def evaluate(pairs: np.ndarray, family: np.ndarray, kinds: list[str]) -> dict:
    """Recall per kind (copy connected to its source) and precision of the predicted pairs."""
    n = len(family)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    component = connected_components(graph, directed=False)[1]
    kinds = np.asarray(kinds)
    true_pair = family[pairs[:, 0]] == family[pairs[:, 1]]
    out = {"predicted_pairs": len(pairs),
           "precision": round(float(true_pair.mean()) if len(pairs) else 1.0, 4),
           "false_pairs_between_originals": int(((kinds[pairs[:, 0]] == "original") &
                                                 (kinds[pairs[:, 1]] == "original") & ~true_pair).sum())}
    for kind in dict.fromkeys(kinds):
        if kind == "original":
            continue
        rows = np.flatnonzero(kinds == kind)
        touching = (kinds[pairs[:, 0]] == kind) | (kinds[pairs[:, 1]] == kind)
        out[kind] = {"recall": round(float((component[rows] == component[family[rows]]).mean()), 4),
                     "precision": round(float(true_pair[touching].mean()) if touching.any() else 1.0, 4)}
    return out


def ours(ds, family, kinds) -> dict:
    arrays.delete(ds.name, f"fingerprints_{FINGERPRINT_SIZE}")  # a cold run: fingerprints computed in the timing
    start = time.perf_counter()
    frame = detect_duplicates(ds, threshold=THRESHOLD, progress=False)
    total = time.perf_counter() - start
    order = {i: r for r, i in enumerate(ds.values("id"))}
    rep = frame[~frame.is_duplicate & (frame.duplicate_group >= 0)].reset_index().set_index("duplicate_group")["id"]
    members = frame[frame.is_duplicate]
    pairs = [(order[i], order[rep[g]]) for i, g in zip(members.index, members.duplicate_group)]
    result = {"seconds_total": round(total, 2), **evaluate(np.array(pairs), family, kinds)}
    exact = frame["is_exact_duplicate"].to_numpy()
    truth_exact = np.asarray(kinds) == "exact"
    result["exact_flags"] = {"precision": round(float(truth_exact[exact].mean()), 4),
                             "recall": round(float(exact[truth_exact].mean()), 4)}
    result["cross_split_groups"] = int(frame.loc[frame.crosses_split, "duplicate_group"].nunique())
    return result


def parts(ds, X) -> dict:
    """Times of the pieces: hashing, fingerprints (cold), and the neighbour search + grouping alone."""
    paths, ids = ds.values("filepath"), ds.values("id")
    _, t_hash = timed(file_hashes, paths, False)
    arrays.delete(ds.name, f"fingerprints_{FINGERPRINT_SIZE}")
    _, t_fp = timed(image_fingerprints, ds, ids, paths, False)
    _, t_find = timed(find_duplicates, X, THRESHOLD)
    return {"hash_seconds": round(t_hash, 2), "fingerprint_seconds": round(t_fp, 2),
            "find_duplicates_seconds": round(t_find, 2)}


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def brain(ds, X, family, kinds) -> dict:
    order = {i: r for r, i in enumerate(ds.values("id"))}
    exact, t_exact = timed(fob.compute_exact_duplicates, ds, progress=False)
    pairs = [(order[a], order[b]) for a, dups in exact.items() for b in dups]
    exact_eval = evaluate(np.array(pairs), family, kinds)
    index, t_near = timed(fob.compute_near_duplicates, ds, threshold=1 - THRESHOLD, embeddings=X, progress=False)
    pairs = [(order[a], order[b]) for a, dups in index.neighbors_map.items() for b, _ in dups]
    near_eval = evaluate(np.array(pairs), family, kinds)
    return {"compute_exact_duplicates": {"seconds": round(t_exact, 2), "exact": exact_eval.get("exact"),
                                         "precision": exact_eval["precision"]},
            "compute_near_duplicates": {"seconds": round(t_near, 2), **near_eval}}


class _NoStatistics:
    """The one thing cleanlab's near-duplicate check asks of its Datalab: stored statistics (none here)."""

    def get_info(self, key):
        return {}


def cleanlab_near(X, family, kinds, threshold: float | None = None) -> dict:
    """cleanlab Datalab's near_duplicate check, run through its issue manager (Datalab itself needs the
    `datasets` package, not installed here); default threshold = 0.13 x the median nearest-neighbour distance."""
    manager = NearDuplicateIssueManager(_NoStatistics(), **({} if threshold is None else {"threshold": threshold}))
    _, seconds = timed(manager.find_issues, features=X)
    pairs = [(i, j) for i, sets in enumerate(manager.near_duplicate_sets) for j in sets]
    return {"seconds": round(seconds, 2), "threshold": "default (0.13 x median NN distance)" if threshold is None
            else threshold, "metric": str(manager.metric), **evaluate(np.array(pairs), family, kinds)}


def scale(n: int = 1_000_000, d: int = 128, copies: int = 10_000) -> dict:
    """Near duplicates among n random d-dim vectors with injected noisy copies (cosine ~0.999)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    sources = rng.choice(n - copies, copies, replace=False)
    X[n - copies:] = X[sources] + 0.05 * rng.standard_normal((copies, d), dtype=np.float32)
    frame, seconds = timed(find_duplicates, X, THRESHOLD, progress=True)
    group = frame["duplicate_group"].to_numpy()
    found = (group[n - copies:] >= 0) & (group[n - copies:] == group[sources])
    result = {"vectors": n, "dim": d, "injected": copies, "seconds": round(seconds, 1),
              "recall": round(float(found.mean()), 4), "flagged": int(frame["is_duplicate"].sum()),
              "index": "exact" if n <= 50_000 else "ivf"}
    print(f"[scale {n:,} x {d}] {seconds:.0f} s, recall {result['recall']}, flagged {result['flagged']:,}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="also time 1,000,000 x 128 vectors")
    parser.add_argument("--scale-only", action="store_true", help="only the 1,000,000 x 128 run")
    args = parser.parse_args()
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", "command": " ".join(sys.argv)}
    out = RESULTS / ("duplicates_scale.json" if args.scale_only else "duplicates.json")
    if not args.scale_only:
        if not (MNIST / "t10k-images-idx3-ubyte.gz").exists():
            sys.exit(f"MNIST not found at {MNIST}: put t10k-images-idx3-ubyte.gz there.")
        images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
        paths, family, kinds = build(images)
        if NAME in store.list_datasets():
            store.delete_dataset(NAME)
        write_dataset(NAME, [Record(p, "x", "train" if k == "original" else "test") for p, k in zip(paths, kinds)],
                      "classification", check_images=False)
        ds = store.open_dataset(NAME)
        results["samples"] = len(paths)
        results["sda2"] = ours(ds, family, kinds)
        X = arrays.load(NAME, f"fingerprints_{FINGERPRINT_SIZE}", ids=ds.values("id"))[1]
        results["sda2_parts"] = parts(ds, X)
        results["fiftyone_brain"] = brain(ds, X, family, kinds)
        results["cleanlab_datalab_default"] = cleanlab_near(X, family, kinds)
        for tool in ("sda2", "cleanlab_datalab_default"):
            print(f"[{tool}] " + ", ".join(f"{k} R={v['recall']} P={v['precision']}" for k, v in results[tool].items()
                                           if isinstance(v, dict) and "recall" in v)
                  + f" | pairs P={results[tool]['precision']} | {results[tool].get('seconds_total', results[tool].get('seconds'))} s")
        near = results["fiftyone_brain"]["compute_near_duplicates"]
        print("[brain near] " + ", ".join(f"{k} R={v['recall']} P={v['precision']}" for k, v in near.items()
                                          if isinstance(v, dict)) + f" | pairs P={near['precision']} | {near['seconds']} s;"
              f" exact {results['fiftyone_brain']['compute_exact_duplicates']}")
        print(f"[sda2 parts] {results['sda2_parts']}")
    if args.scale or args.scale_only:
        results["scale"] = scale()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
