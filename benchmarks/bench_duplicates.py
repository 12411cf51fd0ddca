"""Benchmark: duplicates that survive real edits, on MNIST and CIFAR-10N, beside FiftyOne Brain and cleanlab.

Per dataset: 10,000 originals (MNIST test set; the first 10,000 CIFAR-10N training photos) plus 100 copies
for each edit of sda2.analysis.image_edits (exact file copy, centre crop 90 % resized back, rotation +-6
degrees, rotation with 5 % scale, Gaussian noise sigma 8, blur, contrast 0.8, 2-px shift, JPEG 75), each
from a different source. Originals are in split "train", copies in "test". Tools, in the same run:
- sda2 (default): candidates from border-trimmed fingerprints (the 5 nearest, plus the nearest of each
  rotated / scaled / blurred / shifted version of the fingerprint, cosine >= 0.5), verified on the images,
  kept when sure (>= 0.95) or >= 0.8 with at most half the residual (1 - similarity) of both images' next-best
  candidate (a ratio test), grouped as stars around a representative (detect_duplicates, verify=True);
- sda2 old: the cosine cut 0.99 on the same fingerprints, connected components (verify=False);
- FiftyOne Brain compute_near_duplicates and cleanlab Datalab's near_duplicate check (default threshold)
  on the same fingerprints.
Per edit: recall (the copy ends in its source's group); and false original-original pairs per 10,000
originals (pairs of two different originals the tool links, less those reviewed by eye as one photo twice:
benchmarks/data/reviewed_original_pairs.csv; every linked pair is kept in the results for review). Goals: recall >= 0.95 for every edit with
<= 10 false original-original pairs per 10,000. The groups made only of originals are drawn (not committed)
to tests/artifacts/cifar_near_duplicates.png (real near-duplicates in CIFAR) and mnist_original_pairs.png.

    .venv/bin/python benchmarks/bench_duplicates.py            # MNIST + CIFAR-10N (about 10 minutes)
    .venv/bin/python benchmarks/bench_duplicates.py --only mnist --originals 2000   # a subset (a few minutes)
    # --only writes results/duplicates_<dataset>[_<originals>].json; both datasets: results/duplicates.json
    .venv/bin/python benchmarks/bench_duplicates.py --scale    # also 1,000,000 x 128 vectors, near duplicates
"""

from __future__ import annotations

import argparse
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
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402
from scipy.sparse import coo_matrix  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402

import sda2  # noqa: E402,F401  (sets the database environment before FiftyOne is imported)
from sda2 import arrays, config, store  # noqa: E402
from sda2.analysis.duplicates import find_duplicates  # noqa: E402
from sda2.analysis.image_edits import EDITS  # noqa: E402
from sda2.compute.duplicates import FINGERPRINT_KEY, PLAIN_KEY, detect_duplicates  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.mnist import read_idx, write_pngs  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

import fiftyone.brain as fob  # noqa: E402
from cleanlab.datalab.internal.issue_manager.duplicate import NearDuplicateIssueManager  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist"
CIFAR = ROOT.parent / "shared" / "data" / "cifar10n"
RESULTS = ROOT / "benchmarks" / "results"
ARTIFACTS = ROOT / "tests" / "artifacts"
BENCH_MEDIA = config.home() / "bench_media"  # images the benchmark writes (inside the ignored .sda2 home)
OLD_THRESHOLD = 0.99
PER_KIND = 100
REVIEWED = ROOT / "benchmarks" / "data" / "reviewed_original_pairs.csv"
ORIGINALS = 10_000


def mnist_originals() -> tuple[list[str], list[str], np.ndarray]:
    """MNIST test images as PNG files (written once), their labels and pixels."""
    images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    labels = [str(v) for v in read_idx(MNIST / "t10k-labels-idx1-ubyte.gz")]
    folder = BENCH_MEDIA / "mnist"
    paths = ([str(folder / f"{i:05d}.png") for i in range(len(images))] if (folder / "09999.png").exists()
             else write_pngs(images, folder))
    return paths[:ORIGINALS], labels[:ORIGINALS], images[:ORIGINALS]


def cifar_originals() -> tuple[list[str], list[str], np.ndarray]:
    """The first 10,000 CIFAR-10N training photos (unpacked once into the media folder), clean labels, pixels."""
    folder = BENCH_MEDIA / "cifar10n"
    if not (folder / "train").exists():
        folder.mkdir(parents=True, exist_ok=True)
        shutil.unpack_archive(str(CIFAR / "train_images.tar.gz"), str(folder))
    table = pd.read_csv(CIFAR / "labels.csv.gz").sort_values("index").iloc[:ORIGINALS]
    paths = [str(folder / p) for p in table.filepath]
    images = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in paths])
    return paths, table.clean_label.tolist(), images


def build(name: str, paths: list[str], labels: list[str], images: np.ndarray) -> tuple[list[str], np.ndarray, list[str], list[str]]:
    """Originals plus edited copies on disk; paths, the family (source row) of each row, its kind and label."""
    paths, labels = list(paths), list(labels)
    folder = BENCH_MEDIA / f"{name}_copies"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    sources = rng.choice(len(images), PER_KIND * len(EDITS), replace=False)
    family, kinds = list(range(len(images))), ["original"] * len(images)
    for n, (kind, edit) in enumerate(EDITS.items()):
        for s in sources[n * PER_KIND:(n + 1) * PER_KIND]:
            target = folder / f"{kind}_{s:05d}{Path(paths[s]).suffix if kind == 'exact' else '.png'}"
            if kind == "exact":
                shutil.copy(paths[s], target)
            else:
                Image.fromarray(edit(images[s], rng)).save(target)
            paths.append(str(target))
            family.append(int(s))
            kinds.append(kind)
            labels.append(labels[s])
    return paths, np.array(family), kinds, labels


def same_photo_clusters(dataset: str, n: int) -> np.ndarray:
    """Per original row (0..n-1), the cluster of originals reviewed by eye as the same photo (-1: none).

    ``benchmarks/data/reviewed_original_pairs.csv`` lists original-original pairs the tools linked, each looked
    at side by side at 4x and judged ``same`` (one photo twice, perhaps re-cropped or re-coloured) or
    ``different`` (two photos that look alike); only ``same`` pairs are real duplicates.
    """
    cluster = np.full(n, -1, dtype=np.int64)
    if not REVIEWED.exists():
        return cluster
    table = pd.read_csv(REVIEWED)
    same = table[(table.dataset == dataset) & (table.verdict == "same") & (table.a < n) & (table.b < n)]
    if len(same):
        graph = coo_matrix((np.ones(len(same)), (same.a.to_numpy(), same.b.to_numpy())), shape=(n, n))
        labels = connected_components(graph, directed=False)[1]
        linked = np.zeros(n, dtype=bool)
        linked[same.a.to_numpy()] = linked[same.b.to_numpy()] = True
        cluster[linked] = labels[linked]
    return cluster


def evaluate(pairs: np.ndarray, family: np.ndarray, kinds: list[str], same_photo: np.ndarray | None = None) -> dict:
    """Recall per kind (copy in its source's group) and false original-original pairs per 10,000 originals
    (pairs of originals reviewed as the same photo, ``same_photo`` clusters, are real and not counted)."""
    n = len(family)
    pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    component = connected_components(graph, directed=False)[1]
    kinds = np.asarray(kinds)
    originals = int((kinds == "original").sum())
    true_pair = family[pairs[:, 0]] == family[pairs[:, 1]]
    both_original = (kinds[pairs[:, 0]] == "original") & (kinds[pairs[:, 1]] == "original") & ~true_pair
    real = np.zeros(len(pairs), dtype=bool)
    if same_photo is not None and both_original.any():
        a, b = same_photo[family[pairs[:, 0]]], same_photo[family[pairs[:, 1]]]
        real = both_original & (a >= 0) & (a == b)
    false_oo = int((both_original & ~real).sum())
    linked = np.sort(family[pairs[both_original]], axis=1) if both_original.any() else np.zeros((0, 2), np.int64)
    out = {"predicted_pairs": len(pairs), "precision": round(float(true_pair.mean()) if len(pairs) else 1.0, 4),
           "original_pairs": int(both_original.sum()), "reviewed_same_photo_pairs": int(real.sum()),
           "false_original_pairs": false_oo,
           "false_original_pairs_per_10k": round(false_oo * 10_000 / originals, 1),
           "original_pairs_linked": linked.tolist(),
           "largest_group": int(np.bincount(component).max()), "recall": {}}
    for kind in EDITS:
        rows = np.flatnonzero(kinds == kind)
        out["recall"][kind] = round(float((component[rows] == component[family[rows]]).mean()), 4)
    out["min_recall"] = min(out["recall"].values())
    return out


def frame_pairs(ds, frame) -> np.ndarray:
    """(member row, representative row) of every duplicate in a detect_duplicates frame."""
    order = {i: r for r, i in enumerate(ds.values("id"))}
    rep = frame[~frame.is_duplicate & (frame.duplicate_group >= 0)].reset_index().set_index("duplicate_group")["id"]
    members = frame[frame.is_duplicate]
    return np.array([(order[i], order[rep[g]]) for i, g in zip(members.index, members.duplicate_group)])


def ours(ds, family, kinds, verify: bool, same_photo=None) -> tuple[dict, object]:
    """detect_duplicates as a user runs it (verify=True default) or the old cosine cut (verify=False)."""
    options = {} if verify else {"threshold": OLD_THRESHOLD}
    frame, seconds = timed(detect_duplicates, ds, progress=verify, write=False, verify=verify, **options)
    result = {"seconds_total": round(seconds, 1), **evaluate(frame_pairs(ds, frame), family, kinds, same_photo)}
    result.update({k: v for k, v in frame.attrs.items()
                   if k in ("k", "candidate_pairs", "verified_pairs", "grouping", "verify_threshold", "sure", "ratio")})
    return result, frame


def real_near_duplicates_picture(ds, frame, kinds, labels, out: Path, limit: int = 64) -> int:
    """Groups made only of originals (real near-duplicates in the data), drawn in rows with labels."""
    paths = ds.values("filepath")
    order = {i: r for r, i in enumerate(ds.values("id"))}
    kinds = np.asarray(kinds)
    grouped = frame[frame.duplicate_group >= 0]
    groups = []
    for _, members in grouped.groupby("duplicate_group"):
        rows = [order[i] for i in members.sort_values("is_duplicate").index]
        if all(kinds[r] == "original" for r in rows):
            groups.append((rows, members.sort_values("is_duplicate").duplicate_similarity.tolist()))
    if not groups:
        return 0
    from PIL import ImageDraw
    cell, width = 96, max(len(r) for r, _ in groups[:limit])
    sheet = Image.new("RGB", (width * (cell + 8), len(groups[:limit]) * (cell + 24)), "white")
    draw = ImageDraw.Draw(sheet)
    for y, (rows, sims) in enumerate(groups[:limit]):
        for x, (r, sim) in enumerate(zip(rows, sims)):
            image = Image.open(paths[r]).convert("RGB").resize((cell, cell), Image.NEAREST)
            sheet.paste(image, (x * (cell + 8), y * (cell + 24)))
            text = f"{labels[r]} {'rep' if x == 0 else f'{sim:.2f}'}"
            draw.text((x * (cell + 8) + 2, y * (cell + 24) + cell + 4), text, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return len(groups)


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def brain(ds, X, family, kinds, same_photo=None) -> dict:
    """FiftyOne Brain's near duplicates on the same fingerprints at the old cut (cosine distance 0.01)."""
    order = {i: r for r, i in enumerate(ds.values("id"))}
    index, seconds = timed(fob.compute_near_duplicates, ds, threshold=1 - OLD_THRESHOLD, embeddings=X, progress=False)
    pairs = [(order[a], order[b]) for a, dups in index.neighbors_map.items() for b, _ in dups]
    return {"seconds": round(seconds, 1), **evaluate(np.array(pairs), family, kinds, same_photo)}


class _NoStatistics:
    """The one thing cleanlab's near-duplicate check asks of its Datalab: stored statistics (none here)."""

    def get_info(self, key):
        return {}


def cleanlab_near(X, family, kinds, threshold: float | None = None, same_photo=None) -> dict:
    """cleanlab Datalab's near_duplicate check, run through its issue manager (Datalab itself needs the
    `datasets` package, not installed here); default threshold = 0.13 x the median nearest-neighbour distance."""
    manager = NearDuplicateIssueManager(_NoStatistics(), **({} if threshold is None else {"threshold": threshold}))
    _, seconds = timed(manager.find_issues, features=X)
    pairs = [(i, j) for i, sets in enumerate(manager.near_duplicate_sets) for j in sets]
    return {"seconds": round(seconds, 2), "threshold": "default (0.13 x median NN distance)" if threshold is None
            else threshold, "metric": str(manager.metric), **evaluate(np.array(pairs), family, kinds, same_photo)}


def scale(n: int = 1_000_000, d: int = 128, copies: int = 10_000) -> dict:
    """Near duplicates among n random d-dim vectors with injected noisy copies (cosine ~0.999)."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, d), dtype=np.float32)
    sources = rng.choice(n - copies, copies, replace=False)
    X[n - copies:] = X[sources] + 0.05 * rng.standard_normal((copies, d), dtype=np.float32)
    frame, seconds = timed(find_duplicates, X, OLD_THRESHOLD, progress=True)
    group = frame["duplicate_group"].to_numpy()
    found = (group[n - copies:] >= 0) & (group[n - copies:] == group[sources])
    result = {"vectors": n, "dim": d, "injected": copies, "seconds": round(seconds, 1),
              "recall": round(float(found.mean()), 4), "flagged": int(frame["is_duplicate"].sum()),
              "index": "exact" if n <= 50_000 else "ivf"}
    print(f"[scale {n:,} x {d}] {seconds:.0f} s, recall {result['recall']}, flagged {result['flagged']:,}")
    return result


def run_dataset(name: str, originals, results: dict) -> None:
    """Build originals + copies as a FiftyOne dataset and run every tool on it."""
    paths, labels, images = originals()
    paths, family, kinds, labels = build(name, paths, labels, images)
    ds_name = f"bench_duplicates_{name}"
    if ds_name in store.list_datasets():
        store.delete_dataset(ds_name)
    write_dataset(ds_name, [Record(p, l, "train" if k == "original" else "test")
                            for p, l, k in zip(paths, labels, kinds)], "classification", check_images=False)
    ds = store.open_dataset(ds_name)
    for key in (FINGERPRINT_KEY, PLAIN_KEY):
        arrays.delete(ds.name, key)  # cold: fingerprints inside each tool's first timing
    out = {"samples": len(paths), "originals": int(len(images)), "copies_per_edit": PER_KIND}
    same_photo = same_photo_clusters(name, len(images))
    out["reviewed_same_photo_originals"] = int((same_photo >= 0).sum())
    out["sda2"], frame = ours(ds, family, kinds, verify=True, same_photo=same_photo)
    out["sda2_old_cosine_0.99"], _ = ours(ds, family, kinds, verify=False, same_photo=same_photo)
    X = arrays.load(ds.name, PLAIN_KEY, ids=ds.values("id"))[1]  # the comparisons: the untrimmed fingerprints
    out["fiftyone_brain"] = brain(ds, X, family, kinds, same_photo)
    out["cleanlab_datalab_default"] = cleanlab_near(X, family, kinds, same_photo=same_photo)
    picture = ARTIFACTS / ("cifar_near_duplicates.png" if name == "cifar10n" else f"{name}_original_pairs.png")
    out["original_only_groups"] = real_near_duplicates_picture(ds, frame, kinds, labels, picture)
    out["picture"] = str(picture.relative_to(ROOT))
    results[name] = out
    print_table(name, out)
    store.delete_dataset(ds_name)


def print_table(name: str, out: dict) -> None:
    """One line per tool: recall per edit, false original pairs per 10k, seconds."""
    tools = ("sda2", "sda2_old_cosine_0.99", "fiftyone_brain", "cleanlab_datalab_default")
    print(f"\n{name}: {out['originals']:,} originals + {out['copies_per_edit']} copies per edit")
    print(f"{'tool':26s}" + "".join(f"{k[:10]:>11s}" for k in EDITS) + f"{'false/10k':>11s}{'largest':>9s}{'s':>8s}")
    for tool in tools:
        r = out[tool]
        print(f"{tool:26s}" + "".join(f"{r['recall'][k]:11.3f}" for k in EDITS)
              + f"{r['false_original_pairs_per_10k']:11.1f}{r['largest_group']:9d}"
              + f"{r.get('seconds_total', r.get('seconds')):8.1f}")
    print("pairs of two originals linked (reviewed as one photo twice, not counted as false): "
          + ", ".join(f"{tool} {out[tool]['original_pairs']} ({out[tool]['reviewed_same_photo_pairs']})" for tool in tools))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", action="store_true", help="also time 1,000,000 x 128 vectors")
    parser.add_argument("--scale-only", action="store_true", help="only the 1,000,000 x 128 run")
    parser.add_argument("--only", choices=("mnist", "cifar10n"), help="one dataset only")
    parser.add_argument("--originals", type=int, default=ORIGINALS,
                        help=f"originals per dataset (default {ORIGINALS:,}; at least {PER_KIND * len(EDITS):,})")
    args = parser.parse_args()
    if args.originals < PER_KIND * len(EDITS):
        parser.error(f"--originals must be at least {PER_KIND * len(EDITS):,} (one source per injected copy).")
    globals()["ORIGINALS"] = args.originals
    results = {"machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)", "command": " ".join(sys.argv)}
    stem = "duplicates" + (f"_{args.only}" if args.only else "") + ("" if args.originals == 10_000 else f"_{args.originals}")
    out = RESULTS / ("duplicates_scale.json" if args.scale_only else f"{stem}.json")
    if not args.scale_only:
        for name, originals, present in (("mnist", mnist_originals, MNIST / "t10k-images-idx3-ubyte.gz"),
                                         ("cifar10n", cifar_originals, CIFAR / "train_images.tar.gz")):
            if args.only and args.only != name:
                continue
            if not present.exists():
                print(f"{name} skipped: {present} not found (see /work/shared/data/*/README.md)")
                continue
            run_dataset(name, originals, results)
    if args.scale or args.scale_only:
        results["scale"] = scale()
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
