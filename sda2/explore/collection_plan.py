"""What to collect next on a stored dataset: per-class learning curves, the collection plan, releases compared.

    curves = sda2.learning_curves("digits")               # from the stored embeddings and the labels
    sda2.collection_plan("digits", target=0.97)           # "+340 images" per weak class, best gain first
    sda2.compare_releases("digits", "v1", "v2")           # per-class out-of-fold metrics, v1 -> v2

Samples used: those with a single-label class in ``label_field`` and a stored embedding, minus those marked
``excluded``. See :mod:`sda2.analysis.learning_curves` for the method.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2 import arrays, store
from sda2.analysis import learning_curves as lc
from sda2.compute.embeddings import embedding_keys
from sda2.curation import releases

UNIT = "images"


def labeled_features(dataset_or_name, embeddings_key: str | None = None,
                     label_field: str = "ground_truth") -> tuple[np.ndarray, np.ndarray, str]:
    """(embeddings, labels, key) of the labeled, not excluded samples that have an embedding."""
    dataset = store.as_dataset(dataset_or_name)
    if store.label_kind(dataset, label_field) != "classification":
        raise ValueError(f"Learning curves need single-label classes; {label_field!r} of {dataset.name!r} is not "
                         "a single-label field. Fix: pass label_field= a classification field.")
    keys = embedding_keys(dataset.name)
    key = embeddings_key or (keys[0] if keys else None)
    if key is None or key not in keys:
        raise KeyError(f"Dataset {dataset.name!r} has no embeddings{f' {embeddings_key!r}' if embeddings_key else ''}"
                       f" (stored: {', '.join(keys) or 'none'}). Fix: compute them on the Embedding map page or with "
                       f"sda2.compute_embeddings({dataset.name!r}, model='pixels').")
    view = dataset.exists(label_field).match_tags("excluded", bool=False)
    ids, labels = view.values(["id", f"{label_field}.label"])
    _, values = arrays.load(dataset, key, ids=ids)
    values = np.asarray(values, dtype=np.float64)
    has = np.isfinite(values).all(axis=1)
    return values[has], np.asarray(labels, dtype=object)[has].astype(str), key


def learning_curves(dataset_or_name, embeddings_key: str | None = None, label_field: str = "ground_truth",
                    fractions=lc.FRACTIONS, seeds=lc.SEEDS, folds: int = 5, progress=None) -> lc.LearningCurves:
    """Per-class learning curves of the dataset (subsampled out-of-fold runs on its embeddings, power-law fits)."""
    X, y, key = labeled_features(dataset_or_name, embeddings_key, label_field)
    if progress is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(fractions) * len(seeds), desc="learning curves", unit="run")
        progress = lambda done, total: bar.update(done - bar.n)  # noqa: E731
    curves = lc.learning_curves(X, y, fractions, seeds, folds, progress=progress)
    curves.extra = {"embeddings_key": key, "label_field": label_field, "samples": int(len(y))}
    return curves


def collection_plan(dataset_or_name, target: float = 0.9, curves: lc.LearningCurves | None = None,
                    **kwargs) -> pd.DataFrame:
    """How many more images each class needs to reach ``target`` accuracy (see :func:`lc.collection_plan`)."""
    curves = curves if curves is not None else learning_curves(dataset_or_name, **kwargs)
    return lc.collection_plan(curves, target=target, unit=UNIT)


def compare_releases(dataset_or_name, v1: str, v2: str) -> pd.DataFrame:
    """Per-class out-of-fold metrics stored with releases ``v1`` and ``v2`` side by side, with the change."""
    old, new = (releases.release_metrics(dataset_or_name, v) for v in (v1, v2))
    missing = [v for v, m in ((v1, old), (v2, new)) if m is None]
    if missing:
        raise ValueError(f"Release(s) {', '.join(missing)} store no out-of-fold metrics: no predictions existed "
                         "when they were made. Fix: run sda2.compute_predictions(NAME) and make a new release.")
    frame = old.join(new, how="outer", lsuffix=f"_{v1}", rsuffix=f"_{v2}")
    for metric in ("recall", "precision", "f1"):
        frame[f"{metric}_change"] = frame[f"{metric}_{v2}"] - frame[f"{metric}_{v1}"]
    return frame.reset_index()
