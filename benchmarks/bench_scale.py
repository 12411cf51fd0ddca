"""A curator's operations on a synthetic large dataset (default 200k samples; pass 1000000 for 1M), plus the
first embedding map of a fresh process. Prints the figures and writes benchmarks/results/scale.json.

    .venv/bin/python benchmarks/bench_scale.py [N]

The dataset is built cheaply: 300 real digit PNGs imported through the normal writer (which fixes the schema and
the classes), then N sample documents cloned from them with random labels, predictions (class + confidence),
two numeric fields and a split, written with bulk ``insert_many`` (no per-sample saves). Timed: Overview counts
(``sda2.dataset_overview``, cold then warm), one page of the Samples grid with a label filter and a sort on a
numeric field (``sda2.query_samples``; the first call also builds the indexes it needs), a prediction filter and a
tag filter, a preview + apply of a bulk tag on 10,000 samples (``sda2.preview_bulk``/``apply_bulk``), its undo, a
release (``sda2.create_release``), and the process's peak memory. Figures at 1M are extrapolated linearly from N
where the run used fewer samples (each step is one pass over the matching rows or an index lookup); the JSON
says which figures are measured and which are extrapolated.
"""

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402

import sda2  # noqa: E402
from sda2 import config, store  # noqa: E402
from sda2.ingest.digits import digits_records  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
NAME = f"bench_scale_{N}"
FILES = 300
CHUNK = 20_000
BULK = min(10_000, N // 2)  # samples in the bulk tag
RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = [str(c) for c in range(10)]
FIRST_MAP = """
import time; t = time.perf_counter(); c = time.process_time()
import numpy as np
from sklearn.datasets import load_digits
from sda2.compute.projection import project
X = load_digits().data.astype(np.float32)
project(X, "umap", progress=False)
print(time.perf_counter() - t, time.process_time() - c)
"""


def clock(fn):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_dataset():
    """The N-sample dataset: FILES real images through the writer, then N cloned documents bulk-inserted."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    media_id = str(ObjectId())
    base = digits_records(config.media_dir(media_id))[:FILES]
    write_dataset(NAME, base, "classification", check_images=False, classes=CLASSES, media=[media_id])
    ds = store.open_dataset(NAME)
    import fiftyone as fo

    ds.set_values("predictions", [fo.Classification(label="0", confidence=0.5)] * len(ds))
    ds.set_values("brightness", [0.5] * len(ds))
    ds.set_values("uniqueness", [0.5] * len(ds))
    collection = fo.core.odm.get_db_conn()[ds._sample_collection_name]
    templates = list(collection.find())
    collection.delete_many({})
    rng = np.random.default_rng(0)
    for start in range(0, N, CHUNK):
        n = min(CHUNK, N - start)
        truth = rng.integers(0, 10, n)
        wrong = rng.random(n) < 0.1
        predicted = np.where(wrong, (truth + rng.integers(1, 10, n)) % 10, truth)
        confidence, bright, unique = rng.random(n), rng.random(n), rng.random(n)
        split = rng.random(n) < 0.2
        docs = []
        for i in range(n):
            doc = dict(templates[(start + i) % len(templates)])
            doc["_id"] = ObjectId()
            doc["ground_truth"] = {**doc["ground_truth"], "_id": ObjectId(), "label": CLASSES[truth[i]]}
            doc["predictions"] = {**doc["predictions"], "_id": ObjectId(), "label": CLASSES[predicted[i]],
                                  "confidence": float(confidence[i])}
            doc["brightness"], doc["uniqueness"] = float(bright[i]), float(unique[i])
            doc["split"] = "test" if split[i] else "train"
            doc["tags"] = []
            docs.append(doc)
        collection.insert_many(docs, ordered=False)
        print(f"  inserted {start + n:,} / {N:,}", flush=True)
    ds.reload()
    return ds


def first_map() -> dict:
    """Wall and CPU seconds of a fresh process's first UMAP map of the 1,797 digits (compiled code cached)."""
    out = subprocess.run([sys.executable, "-c", FIRST_MAP], capture_output=True, text=True, check=True).stdout
    wall, cpu = map(float, out.split()[-2:])
    return {"first_map_1797_digits_wall_s": wall, "first_map_1797_digits_cpu_s": cpu}


def main():
    started = time.perf_counter()
    figures = {"samples": N, "real_image_files": FILES, "load_average_1min_at_start": os.getloadavg()[0]}
    figures["build_s"], ds = clock(make_dataset)
    assert len(ds) == N, len(ds)
    print(f"built {N:,} samples in {figures['build_s']:.1f} s", flush=True)
    figures["overview_cold_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    figures["overview_warm_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    page = dict(label_field="ground_truth", prediction_field="predictions", sort_by="uniqueness", descending=True,
                limit=48)
    figures["grid_page_label_filter_sort_first_s"], rows = clock(lambda: sda2.query_samples(ds, labels=["3"], **page))
    figures["grid_page_label_filter_sort_s"], rows = clock(lambda: sda2.query_samples(ds, labels=["7"], **page))
    assert len(rows) == 48 and set(rows["label"]) == {"7"}
    figures["grid_page_matching_label"] = rows.attrs["total"]
    figures["grid_next_page_s"], _ = clock(lambda: sda2.query_samples(ds, labels=["7"], skip=48 * 50, **page))
    figures["grid_prediction_filter_first_s"], _ = clock(lambda: sda2.query_samples(ds, predictions=["5"], **page))
    figures["grid_prediction_filter_s"], _ = clock(lambda: sda2.query_samples(ds, predictions=["4"], **page))
    rng = np.random.default_rng(1)
    ids = list(np.array(ds.values("id"))[rng.choice(N, BULK, replace=False)])
    figures["bulk_tag_10k_preview_s"], preview = clock(lambda: sda2.preview_bulk(ds, ids, "tag", "bench-10k"))
    assert preview.changes == BULK, preview.summary()
    figures["bulk_tag_10k_apply_s"], result = clock(lambda: sda2.apply_bulk(ds, preview, "bench"))
    figures["grid_tag_filter_first_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    figures["grid_tag_filter_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    assert tagged.attrs["total"] == BULK
    figures["bulk_tag_10k_undo_s"], restored = clock(lambda: sda2.undo_bulk(ds, result, "bench"))
    assert restored == BULK
    figures["release_s"], release = clock(lambda: sda2.create_release(ds, "v1", "bench"))
    figures["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.update(first_map())
    scale = 1_000_000 / N
    if N < 1_000_000:  # linear in the rows each step reads; index lookups (a grid page) do not grow linearly
        figures["extrapolated_to_1M"] = {key: round(figures[key] * scale, 2) for key in (
            "build_s", "overview_cold_s", "overview_warm_s", "grid_prediction_filter_first_s", "release_s")}
        figures["extrapolated_to_1M"]["note"] = (
            f"measured at {N:,} samples and multiplied by {scale:g}; grid pages with a filter and a sort read 48 "
            "rows through an index and were measured, not scaled")
    figures["benchmark_s"] = time.perf_counter() - started
    for key, value in figures.items():
        print(f"{key:40s} {round(value, 3) if isinstance(value, float) else value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(figures, indent=1, default=str))
    store.delete_dataset(NAME)


if __name__ == "__main__":
    main()
