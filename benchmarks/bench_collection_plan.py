"""The collection plan checked against reality on CIFAR-10N: predict a class's accuracy after adding N samples, add
them, measure.

Start from 300 labeled photos per class (true labels, CIFAR-10N's ``clean_label``) and a held-out test set of 2,000.
:func:`sda2.analysis.learning_curves.learning_curves` on the start set fits a power law per class; its prediction
for the class's accuracy (recall) after adding N more samples of that class is compared with the accuracy a model
trained on the start set plus those N samples reaches on the test set. Features: the EfficientNet-Lite0 embeddings
of the first 10,000 photos that ``bench_real_noise.py`` computes and keeps (computed here if absent).

    .venv/bin/python benchmarks/bench_collection_plan.py            # writes benchmarks/results/collection_plan.json
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("FIFTYONE_DATABASE_NAME", "sda2_bench")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.base import clone  # noqa: E402

import bench_real_noise as real_noise  # noqa: E402
from sda2.analysis.learning_curves import learning_curves  # noqa: E402
from sda2.analysis.oof import default_classifier  # noqa: E402

START, TEST, ADDS, CLASSES_CHECKED = 300, 2000, (150, 300, 600), ("cat", "bird", "truck", "deer")
OUT = Path(__file__).resolve().parent / "results" / "collection_plan.json"


def recall(model, X, y, cls: str) -> float:
    """Share of the test samples of ``cls`` the model predicts as ``cls``."""
    mask = y == cls
    return float((model.predict(X[mask]) == cls).mean())


def main() -> None:
    """Predict, add, measure; print the table and write the JSON."""
    table = pd.read_csv(real_noise.DATA / "labels.csv.gz").sort_values("index").head(10000).reset_index(drop=True)
    X, _ = real_noise.embeddings(table, 10000)
    y = table["clean_label"].to_numpy().astype(str)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    test = order[:TEST]
    pool = order[TEST:]
    start = np.concatenate([pool[y[pool] == c][:START] for c in np.unique(y)])
    spare = {c: pool[y[pool] == c][START:] for c in np.unique(y)}
    t0 = time.perf_counter()
    curves = learning_curves(X[start], y[start], fractions=(0.2, 0.4, 0.7, 1.0), seeds=(0, 1), folds=3)
    fit_seconds = time.perf_counter() - t0
    base = clone(default_classifier()).fit(X[start], y[start])
    rows = []
    for cls in CLASSES_CHECKED:
        now = recall(base, X[test], y[test], cls)
        for add in ADDS:
            if add > len(spare[cls]):
                continue
            train = np.concatenate([start, spare[cls][:add]])
            model = clone(default_classifier()).fit(X[train], y[train])
            predicted = float(curves.fits[cls].predict(START + add)[0])
            measured = recall(model, X[test], y[test], cls)
            rows.append({"class": cls, "start": START, "added": add, "accuracy_before": round(now, 4),
                         "curve_at_start": round(float(curves.fits[cls].predict(START)[0]), 4),
                         "predicted": round(predicted, 4), "measured": round(measured, 4),
                         "error": round(predicted - measured, 4),
                         "predicted_gain": round(predicted - float(curves.fits[cls].predict(START)[0]), 4),
                         "measured_gain": round(measured - now, 4)})
    frame = pd.DataFrame(rows)
    print(frame.to_string(index=False))
    summary = {"mean_abs_error": round(float(frame["error"].abs().mean()), 4),
               "mean_error": round(float(frame["error"].mean()), 4),
               "gain_mean_abs_error": round(float((frame["predicted_gain"] - frame["measured_gain"]).abs().mean()), 4),
               "fit_seconds": round(fit_seconds, 1)}
    print(summary)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
