"""A curator's operations on a synthetic large dataset (default 200k samples; pass 1000000 for 1M), plus the
first embedding map of a fresh process on 10,000 MNIST images. Prints the figures and writes
benchmarks/results/scale_<N>.json.

    .venv/bin/python benchmarks/bench_scale.py [N] [--keep] [--release]

The dataset is built cheaply in its own database (``sda2_bench``, so tests are unaffected): 300 real digit PNGs
imported through the normal writer (which fixes the schema and the classes), then N sample documents cloned from
them with random labels, predictions (class + confidence), two numeric fields and a split, written with bulk
``insert_many`` (no per-sample saves). ``--keep`` leaves it for the next run (which then reuses it); otherwise it
is dropped at the end. Timed: Overview counts (``sda2.dataset_overview``: cold, then warm = a lookup per dataset
version), the Overview and Samples pages of the real app run headless (Streamlit's AppTest: first open, then
warm reruns) and the Samples page's label, prediction and tag filters set through its widgets, one grid page
with a filter and a sort (``sda2.query_samples``; the first call also builds the indexes it needs) and a later
page, a preview + apply of a bulk tag on 10,000 samples (``sda2.preview_bulk``/``apply_bulk``) and its undo, a
release (``sda2.create_release``; at 500k samples and more only with ``--release``), the process's peak memory
(it runs the app pages, so it is the app's), and the first UMAP map of a fresh process.
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

ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
N = int(ARGS[0]) if ARGS else 200_000
NAME = f"bench_scale_{N}"
FILES = 300
CHUNK = 20_000
BULK = min(10_000, N // 2)  # samples in the bulk tag
RESULTS = Path(__file__).resolve().parent / "results"
CLASSES = [str(c) for c in range(10)]
MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist" / "t10k-images-idx3-ubyte.gz"
FIRST_MAP = """
import time; t = time.perf_counter(); c = time.process_time()
import gzip, sys
import numpy as np
from sda2.compute.projection import project
if sys.argv[1] == "digits":
    from sklearn.datasets import load_digits
    X = load_digits().data.astype(np.float32)
else:
    with gzip.open(sys.argv[1]) as f:
        X = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784).astype(np.float32) / 255
project(X, "umap", progress=False)
print(len(X), time.perf_counter() - t, time.process_time() - c)
"""
PAGES = {"overview": "app_pages/overview.py", "samples": "app_pages/samples.py"}
APP = str(Path(__file__).resolve().parents[1] / "app.py")


def clock(fn):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def make_dataset():
    """The N-sample dataset: FILES real images through the writer, then N cloned documents bulk-inserted.

    An N-sample dataset kept by an earlier ``--keep`` run is reused (its build time is then not measured).
    """
    if NAME in store.list_datasets():
        kept = store.open_dataset(NAME)
        if len(kept) == N and "--keep" in sys.argv:
            return kept
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
    """Wall and CPU seconds of a fresh process's first UMAP map: 10,000 MNIST images (784 pixels) where the
    project's copy is there, else the 1,797 digits (UMAP's compiled code cached on disk by ``make setup``)."""
    source = str(MNIST) if MNIST.exists() else "digits"
    out = subprocess.run([sys.executable, "-c", FIRST_MAP, source], capture_output=True, text=True, check=True).stdout
    n, wall, cpu = out.split()[-3:]
    what = "mnist" if source != "digits" else "digits"
    return {f"first_map_{int(n)}_{what}_wall_s": float(wall), f"first_map_{int(n)}_{what}_cpu_s": float(cpu)}


def map_points(ds) -> dict:
    """Seconds to build the map figure of every sample (random positions: the bench has no embeddings) and the
    size of what the browser would receive; the map page draws this figure."""
    import pandas as pd

    from sda2.ui.map_figures import map_figure

    ids, label, prediction, confidence = ds.values(["id", "ground_truth.label", "predictions.label",
                                                    "predictions.confidence"])
    xy = np.random.default_rng(2).normal(size=(len(ids), 2)).astype(np.float32)
    frame = pd.DataFrame({"id": ids, "x": xy[:, 0], "y": xy[:, 1], "label": label, "prediction": prediction,
                          "confidence": confidence})
    frame["correct"] = frame["label"] == frame["prediction"]
    seconds, fig = clock(lambda: map_figure(frame))
    json_s, payload = clock(fig.to_json)
    return {"map_figure_points": sum(len(t.x) for t in fig.data), "map_figure_build_s": seconds,
            "map_figure_json_s": json_s, "map_figure_json_MB": len(payload) / 2**20}


def app_pages(figures: dict) -> None:
    """Open Overview and Samples in the real app headless (first open, then warm reruns); set the filters."""
    from streamlit.testing.v1 import AppTest

    for page, path in PAGES.items():
        at = AppTest.from_file(APP, default_timeout=600)
        at.session_state["dataset"], at.session_state["annotator"] = NAME, "bench"
        at.run()
        figures[f"app_{page}_first_open_s"], _ = clock(lambda: at.switch_page(path).run())
        assert not at.exception, at.exception
        warm = [clock(at.run)[0] for _ in range(3)]
        assert not at.exception, at.exception
        figures[f"app_{page}_warm_s"] = max(warm)
        if page == "samples":
            for key, value in (("samples_labels", ["3"]), ("samples_predictions", ["5"]), ("samples_tags", ["bench-10k"])):
                figures[f"app_samples_filter_{key.split('_')[1]}_s"], _ = clock(
                    lambda: at.multiselect(key=key).set_value(value).run())
                assert not at.exception, at.exception
                at.multiselect(key=key).set_value([]).run()


def main():
    started = time.perf_counter()
    figures = {"samples": N, "real_image_files": FILES, "load_average_1min_at_start": os.getloadavg()[0],
               "cpu_cores": os.cpu_count()}
    figures["build_s"], ds = clock(make_dataset)
    assert len(ds) == N, len(ds)
    print(f"built {N:,} samples in {figures['build_s']:.1f} s", flush=True)
    figures["overview_cold_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    figures["overview_warm_s"], ov = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    assert ov.num_samples == N
    figures["numeric_fields_s"], _ = clock(lambda: sda2.numeric_fields(ds))
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
    figures["overview_after_edit_s"], _ = clock(lambda: sda2.dataset_overview(ds, "ground_truth", "predictions"))
    figures["grid_tag_filter_first_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    figures["grid_tag_filter_s"], tagged = clock(lambda: sda2.query_samples(ds, tags=["bench-10k"], **page))
    assert tagged.attrs["total"] == BULK
    app_pages(figures)  # with the bulk tag in place, so the tag filter has a tag to pick
    print(f"app pages measured after {time.perf_counter() - started:.0f} s", flush=True)
    figures["bulk_tag_10k_undo_s"], restored = clock(lambda: sda2.undo_bulk(ds, result, "bench"))
    assert restored == BULK
    if N < 500_000 or "--release" in sys.argv:
        figures["release_s"], release = clock(lambda: sda2.create_release(ds, "v1", "bench"))
    figures["peak_memory_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # bench + app pages
    figures.update(map_points(ds))
    figures["peak_memory_with_map_figure_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.update(first_map())
    figures["benchmark_s"] = time.perf_counter() - started
    for key, value in figures.items():
        print(f"{key:40s} {round(value, 3) if isinstance(value, float) else value}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"scale_{N}.json").write_text(json.dumps(figures, indent=1, default=str))
    if "--keep" not in sys.argv:
        store.delete_dataset(NAME)


if __name__ == "__main__":
    main()
