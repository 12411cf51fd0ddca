"""The embedding map's data: one row per mapped sample with its 2-D position, labels and numeric fields.

Everything is read in bulk: one ``values()`` call for the label paths and numeric fields of the whole
dataset (or a split of it), joined by sample id with the stored map of :mod:`sda2.compute.projection`.
Multi-label and detection labels are shown as one comma-separated text ("cat, dog"), and their
confidence is the highest of their parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2 import store
from sda2.compute.projection import load_map
from sda2.explore.browse import numeric_fields

BASE_COLUMNS = ("id", "filepath", "x", "y", "label", "prediction", "confidence", "correct")


def _text(value) -> str | None:
    """A label value as one display text: a class name, or the sorted distinct names of a list."""
    if value is None:
        return None
    if isinstance(value, list):
        return ", ".join(sorted({str(v) for v in value if v is not None}))
    return str(value)


def _top(value) -> float:
    """A confidence as one number: itself, or the highest of a list (NaN when there is none)."""
    if isinstance(value, list):
        value = max((v for v in value if v is not None), default=None)
    return np.nan if value is None else float(value)


def _correct(kind: str, given: list, predicted: list) -> list:
    """Per sample True/False when the prediction matches the label (set equality for lists), else None."""
    if kind == "detection":
        return [None] * len(given)
    out = []
    for g, p in zip(given, predicted):
        if g is None or p is None:
            out.append(None)
        else:
            out.append(set(g) == set(p) if isinstance(g, list) else g == p)
    return out


def map_frame(view, embeddings_key: str | None = None, label_field: str = "ground_truth",
              prediction_field: str | None = None) -> pd.DataFrame:
    """The map of ``view`` (a dataset or a view of one) as a DataFrame: id, filepath, x, y, label, prediction,
    confidence, correct and every numeric field; ``df.attrs`` holds ``numeric`` (those field names) and
    ``unmapped`` (samples of the view that have no position on the map)."""
    dataset = view._root_dataset
    ids, xy = load_map(dataset, embeddings_key)
    label_kind = store.label_kind(dataset, label_field)
    paths = {"id": "id", "filepath": "filepath", "label": store.label_path(dataset, label_field)}
    if prediction_field:
        pred_label = store.label_path(dataset, prediction_field)
        paths["prediction"] = pred_label
        paths["confidence"] = pred_label.rsplit(".", 1)[0] + ".confidence"
    numeric = [p for p in numeric_fields(view) if p not in paths.values()]
    values = dict(zip(list(paths) + numeric, view.values(list(paths.values()) + numeric)))
    frame = pd.DataFrame({"id": values["id"], "filepath": values["filepath"],
                          "label": [_text(v) for v in values["label"]]})
    if prediction_field:
        frame["prediction"] = [_text(v) for v in values["prediction"]]
        frame["confidence"] = np.array([_top(v) for v in values["confidence"]], dtype=np.float32)
        frame["correct"] = _correct(label_kind, values["label"], values["prediction"])
    else:
        frame["prediction"], frame["confidence"], frame["correct"] = None, np.float32(np.nan), None
    for path in numeric:
        frame[path] = pd.to_numeric(pd.Series(values[path], dtype=object), errors="coerce").astype(np.float32)
    coords = pd.DataFrame({"id": ids.astype(str), "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)})
    merged = frame.merge(coords, on="id", how="inner")
    merged = merged[list(BASE_COLUMNS) + numeric].reset_index(drop=True)
    merged.attrs.update(numeric=numeric, unmapped=len(frame) - len(merged))
    return merged
