"""Benchmark: sda2's image-quality checks beside cleanvision, on real photos with injected defects.

2,000 CIFAR-10N photos (32 x 32 JPEG; photos that are already gray are left out, an exact test: all
channels equal) from ../shared/data/cifar10n, or, where that is absent, 96 x 96 tiles of scikit-learn's two
sample photos. 1,100 get one defect each, of known truth, written as JPEG (quality 90) like the originals:
- blur: Gaussian blur, radius 1 to 2 px (200);
- dark: pixels times 0.1 to 0.3 (200); light: washed out, 255 - (255 - p) times 0.1 to 0.3 (200);
- odd size: 100 tiny (12 x 12) and 100 large (96 x 96 mosaics of 3 x 3 other photos, sharp) (200);
- odd aspect ratio: strips of 3 photos side by side (100);
- grayscale: 100 saved as one-channel JPEG, 100 as RGB JPEG with gray pixels (200).
The other 900 are unchanged. Both tools check the same files in the same run: sda2 through its compute-layer
reader (sda2.compute.image_quality, 4 threads) and sda2.analysis.image_quality; cleanvision's Imagelab with
its defaults (n_jobs=2). Per check: flagged, precision, recall against the injected truth. low_information
has no injected truth: its flags are reported (every one is a false alarm here).

    .venv/bin/python benchmarks/bench_image_quality.py      # about a minute
"""

from __future__ import annotations

import io
import json
import os
import platform
import shutil
import sys
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from sklearn.datasets import load_sample_images  # noqa: E402

from cleanvision import Imagelab  # noqa: E402
from sda2 import config  # noqa: E402
from sda2.analysis.image_quality import CHECKS, PROPERTIES, quality_scores  # noqa: E402
from sda2.compute.image_quality import WORKERS, file_properties  # noqa: E402

CIFAR = ROOT.parent / "shared" / "data" / "cifar10n"
RESULTS = ROOT / "benchmarks" / "results"
MEDIA = config.home() / "bench_media" / "image_quality"
TOTAL = 2_000
PLAN = {"blur": 200, "dark": 200, "light": 200, "tiny": 100, "large": 100, "strip": 100, "gray_l": 100,
        "gray_rgb": 100}
TRUTH = {"blurry": ("blur",), "dark": ("dark",), "light": ("light",), "odd_size": ("tiny", "large"),
         "odd_aspect_ratio": ("strip",), "grayscale": ("gray_l", "gray_rgb"), "low_information": ()}


def cifar_photos(n: int, rng) -> tuple[list[np.ndarray], str]:
    """``n`` random colour CIFAR-10N photos, read in one pass over the archive, and the source's name."""
    with tarfile.open(CIFAR / "train_images.tar.gz") as archive:
        picked = set(rng.choice(50_000, n + 300, replace=False).tolist())
        photos, index = [], 0
        for member in archive:
            if not member.name.endswith(".jpg"):
                continue
            if index in picked:
                data = archive.extractfile(member).read()
                pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                if not ((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all()):
                    photos.append(pixels)
            index += 1
    if len(photos) < n:
        raise RuntimeError(f"Only {len(photos)} colour photos picked from CIFAR-10N; {n} needed.")
    return [photos[i] for i in rng.permutation(len(photos))[:n]], "CIFAR-10N (32 x 32 photos)"


def sample_photo_tiles(n: int, rng) -> tuple[list[np.ndarray], str]:
    """``n`` random 96 x 96 tiles of scikit-learn's sample photos (the fallback without CIFAR-10N)."""
    photos = load_sample_images().images
    tiles = []
    for _ in range(n):
        photo = photos[rng.integers(len(photos))]
        y, x = rng.integers(photo.shape[0] - 96), rng.integers(photo.shape[1] - 96)
        tiles.append(photo[y:y + 96, x:x + 96])
    return tiles, "scikit-learn sample photos (96 x 96 tiles)"


def injected(kind: str, photo: np.ndarray, others: list[np.ndarray], rng) -> Image.Image:
    """``photo`` with defect ``kind`` (``others``: photos for the mosaics)."""
    image = Image.fromarray(photo)
    pixels = photo.astype(np.float64)
    side = photo.shape[0]
    if kind == "blur":
        return image.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.0) * side / 32))
    if kind == "dark":
        return Image.fromarray((pixels * rng.uniform(0.1, 0.3)).astype(np.uint8))
    if kind == "light":
        return Image.fromarray((255 - (255 - pixels) * rng.uniform(0.1, 0.3)).astype(np.uint8))
    if kind == "tiny":
        return image.resize((max(3, side * 12 // 32),) * 2, Image.BOX)
    if kind == "large":
        rows = [np.concatenate([photo, *others[:2]], axis=1), np.concatenate(others[2:4] + [others[4]], axis=1),
                np.concatenate(others[5:8], axis=1)]
        return Image.fromarray(np.concatenate(rows, axis=0))
    if kind == "strip":
        return Image.fromarray(np.concatenate([photo, *others[:2]], axis=1))
    if kind == "gray_l":
        return image.convert("L")
    return image.convert("L").convert("RGB")  # gray_rgb


def build(rng) -> tuple[list[str], list[str], str]:
    """Write the 2,000 test images; their paths, their kinds ("clean" or a defect) and the source."""
    photos, source = cifar_photos(TOTAL + 8 * PLAN["large"], rng) if CIFAR.exists() else sample_photo_tiles(
        TOTAL + 8 * PLAN["large"], rng)
    spare = photos[TOTAL:]
    kinds = [k for k, n in PLAN.items() for _ in range(n)]
    kinds += ["clean"] * (TOTAL - len(kinds))
    kinds = [kinds[i] for i in rng.permutation(TOTAL)]
    shutil.rmtree(MEDIA, ignore_errors=True)
    MEDIA.mkdir(parents=True)
    paths = []
    for i, (kind, photo) in enumerate(zip(kinds, photos)):
        others = [spare[j % len(spare)] for j in range(8 * i, 8 * i + 8)]
        image = Image.fromarray(photo) if kind == "clean" else injected(kind, photo, others, rng)
        path = MEDIA / f"{i:04d}_{kind}.jpg"
        image.save(path, quality=90)
        paths.append(str(path))
    return paths, kinds, source


def run_sda2(paths: list[str]) -> tuple[pd.DataFrame, float]:
    """sda2's flags (one column per check) and the seconds taken (reading included)."""
    start = time.perf_counter()
    with ThreadPoolExecutor(WORKERS) as pool:
        rows = list(pool.map(file_properties, paths, chunksize=32))
    scores = quality_scores(pd.DataFrame(rows, columns=list(PROPERTIES)))
    return pd.DataFrame({c: scores[f"is_{c}_issue"].to_numpy() for c in CHECKS}), time.perf_counter() - start


def run_cleanvision(paths: list[str]) -> tuple[pd.DataFrame, float]:
    """cleanvision's flags with its default thresholds, same checks, and the seconds taken."""
    start = time.perf_counter()
    lab = Imagelab(filepaths=paths)
    lab.find_issues(issue_types={c: {} for c in CHECKS}, n_jobs=2, verbose=False)
    issues = lab.issues.reindex(paths)
    return (pd.DataFrame({c: issues[f"is_{c}_issue"].fillna(False).to_numpy(dtype=bool) for c in CHECKS}),
            time.perf_counter() - start)


def scores(flags: pd.DataFrame, kinds: list[str]) -> dict:
    """Per check: flagged, true positives, precision, recall (None where undefined)."""
    kinds = np.array(kinds)
    out = {}
    for check, truth_kinds in TRUTH.items():
        truth = np.isin(kinds, truth_kinds)
        found = flags[check].to_numpy()
        hit = int((found & truth).sum())
        out[check] = {"truth": int(truth.sum()), "flagged": int(found.sum()), "hit": hit,
                      "precision": hit / found.sum() if found.sum() else None,
                      "recall": hit / truth.sum() if truth.sum() else None,
                      "by_kind": {k: int(found[kinds == k].sum()) for k in [*PLAN, "clean"]}}
    return out


def fmt(value) -> str:
    return "—" if value is None else f"{value:.2f}"


def main() -> None:
    """Build the images, run both tools, print the table and write benchmarks/results/image_quality.json."""
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    paths, kinds, source = build(rng)
    print(f"{len(paths):,} images from {source} written in {time.perf_counter() - start:.1f} s")
    ours, ours_s = run_sda2(paths)
    theirs, theirs_s = run_cleanvision(paths)
    result = {"source": source, "images": len(paths), "plan": PLAN, "machine": platform.platform(),
              "cpus": os.cpu_count(), "sda2": {"seconds": ours_s, "checks": scores(ours, kinds)},
              "cleanvision": {"seconds": theirs_s, "checks": scores(theirs, kinds)}}
    print("\n| check | injected | sda2 flagged | sda2 precision | sda2 recall | cleanvision flagged | "
          "cleanvision precision | cleanvision recall |\n|---|---|---|---|---|---|---|---|")
    for check in TRUTH:
        a, b = result["sda2"]["checks"][check], result["cleanvision"]["checks"][check]
        print(f"| {check} | {a['truth']} | {a['flagged']} | {fmt(a['precision'])} | {fmt(a['recall'])} | "
              f"{b['flagged']} | {fmt(b['precision'])} | {fmt(b['recall'])} |")
    print(f"\ntime for {len(paths):,} images (reading included): sda2 {ours_s:.1f} s, cleanvision {theirs_s:.1f} s")
    for tool in ("sda2", "cleanvision"):
        by_kind = {c: v["by_kind"] for c, v in result[tool]["checks"].items()}
        print(f"{tool} flags by injected kind: {json.dumps(by_kind)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "image_quality.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {RESULTS / 'image_quality.json'}")


if __name__ == "__main__":
    main()
