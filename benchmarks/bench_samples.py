"""Samples page speed on a synthetic 100,000-sample dataset: one page (48 rows) filtered + sorted + thumbnails.

Reference, measured in the same run: plain FiftyOne reading the same page the usual way
(iterate the sorted/filtered view's first page as full Sample objects).
"""
import json
import os
import sys
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402

import sda2  # noqa: E402
from sda2 import config, store
from sda2.explore import browse  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.digits import digits_records  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402
from sda2.ui import thumbnails  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
NAME = f"bench_samples_{N}"
RESULTS = Path(__file__).resolve().parent / "results"


def make_dataset():
    if NAME in store.list_datasets():
        return store.open_dataset(NAME)
    media_id = str(ObjectId())  # the PNGs are deleted with the dataset
    base = digits_records(config.media_dir(media_id))
    rng = np.random.default_rng(0)
    records = []
    for i in range(N):
        src = base[i % len(base)]
        records.append(Record(src.filepath, src.label, "test" if rng.random() < 0.2 else "train",
                              {"score": float(rng.random()), "source_index": i}))
    t = time.perf_counter()
    write_dataset(NAME, records, "classification", check_images=False, classes=[str(c) for c in range(10)],
                  media=[media_id])
    ds = store.open_dataset(NAME)
    labels = ds.values("ground_truth.label")
    import fiftyone as fo
    flip = rng.random(len(labels)) < 0.1
    preds = [fo.Classification(label=str((int(l) + 1) % 10) if f else l, confidence=float(c))
             for l, f, c in zip(labels, flip, rng.random(len(labels)))]
    ds.set_values("predictions", preds)
    print(f"made {N:,} samples in {time.perf_counter() - t:.1f} s")
    return ds


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ds = make_dataset()
    cases = {
        "first page, no filter": dict(),
        "label 3, sorted by score desc": dict(labels=["3"], sort_by="score", descending=True),
        "wrong predictions, sorted by confidence": dict(correct=False, sort_by="predictions.confidence"),
        "score in [0.2, 0.4], split test, page 100": dict(ranges={"score": (0.2, 0.4)}, split="test", skip=99 * 48),
        "deep page (skip 90,000) sorted by score": dict(sort_by="score", skip=90_000),
    }
    results = {"n_samples": N, "page_size": 48, "cases": {}}
    for name, kw in cases.items():
        kw = dict(kw)
        skip = kw.pop("skip", 0)
        ours, rows = timed(lambda: browse.query_samples(ds, "ground_truth", "predictions", skip=skip, limit=48, **kw))

        def reference():  # what a FiftyOne user writes: expression filters, sort_by, Sample objects
            from fiftyone import ViewField as F
            view = ds
            if "labels" in kw:
                view = view.match(F("ground_truth.label").is_in(kw["labels"]))
            if "correct" in kw:
                view = view.match(F("predictions.label") != F("ground_truth.label"))
            if "split" in kw:
                view = view.match(F("split") == kw["split"])
            for path, (lo, hi) in kw.get("ranges", {}).items():
                view = view.match((F(path) >= lo) & (F(path) <= hi))
            if "sort_by" in kw:
                view = view.sort_by(kw["sort_by"], reverse=kw.get("descending", False))
            return len(view), [s.to_dict() for s in view.skip(skip).limit(48)]

        ref, _ = timed(reference)
        results["cases"][name] = {"sda2_s": ours, "fiftyone_samples_s": ref, "speedup": ref / ours,
                                  "total": int(rows.attrs["total"]), "rows": len(rows)}
        print(f"{name:45s} sda2 {ours * 1000:7.0f} ms   FiftyOne Sample iteration {ref * 1000:7.0f} ms"
              f"   ({ref / ours:.1f}x)   {rows.attrs['total']:,} match")
    rows = browse.query_samples(ds, "ground_truth", "predictions", limit=48)
    import shutil
    shutil.rmtree(thumbnails.cache_dir(), ignore_errors=True)
    cold, _ = timed(lambda: thumbnails.thumbnails(rows), repeat=1)
    warm, _ = timed(lambda: thumbnails.thumbnails(rows))
    t0 = time.perf_counter()
    numeric = browse.numeric_fields(ds)
    t_numeric = time.perf_counter() - t0
    results["thumbnails_48_cold_s"] = cold
    results["thumbnails_48_cached_s"] = warm
    results["numeric_fields_s"] = t_numeric
    print(f"48 thumbnails: {cold * 1000:.0f} ms rendered, {warm * 1000:.0f} ms cached; "
          f"numeric_fields {t_numeric * 1000:.0f} ms ({numeric})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "samples_page.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
