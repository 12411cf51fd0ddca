"""Release, diff and export of a 100k-sample dataset: time and storage (prints figures, writes JSON).

    .venv/bin/python benchmarks/bench_release.py [N]

Steps: make N samples (digits PNGs reused), release v1 (all rows), relabel 1% and exclude 0.5% through the
audited edit path, release v2 (only the changes), read v1 and v2 back, diff v1 → v2 and v2 → now, build a
release's FiftyOne copy, export v2 as CSV (images copied). Storage is MongoDB's collStats of the release rows.
The per-release cost at 1M samples is extrapolated linearly from N (every step is one pass over the rows).
"""

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ["FIFTYONE_DATABASE_NAME"] = "sda2_bench"
import numpy as np  # noqa: E402
from bson import ObjectId  # noqa: E402

import sda2  # noqa: E402, F401
from sda2 import config, store
from sda2.report import export  # noqa: E402
from sda2.curation import edits, release_diff, releases  # noqa: E402
from sda2.ingest.base import Record  # noqa: E402
from sda2.ingest.digits import digits_records  # noqa: E402
from sda2.ingest.writer import write_dataset  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
NAME = f"bench_release_{N}"
RESULTS = Path(__file__).resolve().parent / "results"


def make_dataset():
    """A fresh N-sample classification dataset (the digits PNGs reused), split 80/20."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    media_id = str(ObjectId())
    base = digits_records(config.media_dir(media_id))
    rng = np.random.default_rng(0)
    records = [Record(base[i % len(base)].filepath, base[i % len(base)].label,
                      "test" if rng.random() < 0.2 else "train") for i in range(N)]
    write_dataset(NAME, records, "classification", check_images=False, classes=[str(c) for c in range(10)],
                  media=[media_id])
    return store.open_dataset(NAME)


def clock(fn):
    """(seconds, result) of one call."""
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main():
    figures = {"samples": N}
    seconds, ds = clock(make_dataset)
    print(f"made {N:,} samples in {seconds:.1f} s")
    figures["v1_s"], v1 = clock(lambda: releases.create_release(ds, "v1", "bench"))
    figures["v1_storage"] = releases.storage_bytes(ds)
    rng = np.random.default_rng(1)
    ids = np.array(ds.values("id"))
    labels = np.array(ds.values("ground_truth.label"))
    pick = rng.choice(len(ids), N // 100, replace=False)
    changes = {ids[i]: str((int(labels[i]) + 1) % 10) for i in pick}
    figures["relabel_1pct_s"], _ = clock(lambda: edits.set_labels(ds, changes, "bench", "benchmark relabel"))
    excl = rng.choice(np.setdiff1d(np.arange(len(ids)), pick), N // 200, replace=False)
    figures["exclude_half_pct_s"], _ = clock(lambda: edits.mark(ds, list(ids[excl]), "excluded", "bench", "bench"))
    figures["v2_s"], v2 = clock(lambda: releases.create_release(ds, "v2", "bench"))
    storage = releases.storage_bytes(ds)
    figures["v2_rows"] = v2.stored_rows
    figures["v2_storage_bytes"] = storage["rows_bytes"] - figures["v1_storage"]["rows_bytes"]
    figures["read_v1_s"], f1 = clock(lambda: releases.release_frame(ds, "v1"))
    figures["read_v2_s"], f2 = clock(lambda: releases.release_frame(ds, "v2"))
    assert len(f1) == N and len(f2) == N
    figures["diff_v1_v2_s"], d = clock(lambda: release_diff.diff(ds, "v1", "v2"))
    assert d.summary["label"] == len(changes) and d.summary["excluded"] == len(excl), d.summary
    edits.set_labels(ds, {ids[0]: str((int(labels[0]) + 2) % 10)}, "bench", "after v2")
    figures["diff_v2_now_s"], d_now = clock(lambda: release_diff.diff(ds, "v2"))
    figures["release_dataset_s"], copy = clock(lambda: releases.release_dataset(ds, "v2"))
    copy.delete()
    out = Path(tempfile.mkdtemp(prefix="bench_release_"))
    try:
        figures["export_csv_s"], report = clock(lambda: export.export_dataset(ds, "csv", out / "csv", version="v2"))
        assert report.samples == N - len(excl)
    finally:
        shutil.rmtree(out)
    figures["bytes_per_sample_full"] = figures["v1_storage"]["rows_bytes"] / N
    figures["bytes_per_changed_row"] = figures["v2_storage_bytes"] / max(v2.stored_rows, 1)
    figures["extrapolated_1M_full_release_s"] = figures["v1_s"] * 1_000_000 / N
    figures["extrapolated_1M_full_release_MB"] = figures["bytes_per_sample_full"] * 1_000_000 / 1e6
    for key, value in figures.items():
        print(f"{key:34s} {value if not isinstance(value, float) else round(value, 3)}")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"release_{N}.json").write_text(json.dumps(figures, indent=1, default=str))
    store.delete_dataset(NAME)


if __name__ == "__main__":
    main()
