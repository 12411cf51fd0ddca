"""What a dataset adds to consensus beyond the answers: the model's stored probabilities as each item's prior, and
the gold answers as anchors (inputs for :func:`sda2.analysis.consensus.aggregate_answers`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2 import arrays, store
from sda2.compute.predictions import probabilities_key
from sda2.curation import gold


@store.dataset_or_name
def model_prior(dataset, items, pred_field: str | None = "predictions") -> pd.DataFrame | None:
    """The stored probabilities of ``pred_field`` for ``items`` (items x classes), or None when the dataset has
    none or lacks a row for one of the items."""
    key = probabilities_key(pred_field) if pred_field else "probabilities"
    if not arrays.exists(dataset, key):
        return None
    classes = [str(c) for c in arrays.info(dataset, key).get("classes", [])]
    ids, rows = arrays.load(dataset, key, ids=[str(i) for i in items])
    if not classes or rows.ndim != 2 or rows.shape[1] != len(classes) or np.isnan(rows).any():
        return None
    return pd.DataFrame(np.asarray(rows, dtype=float), index=pd.Index(ids, name="item"), columns=classes)


@store.dataset_or_name
def gold_anchors(dataset, items, field: str = "ground_truth") -> pd.Series:
    """Item -> gold answer (text) for the gold items among ``items`` (empty when there are none)."""
    frame = gold.gold_items(dataset, field)
    anchors = pd.Series(frame["label"].astype(str).to_numpy(), index=frame["sample_id"].astype(str).to_numpy())
    return anchors[anchors.index.isin([str(i) for i in items])].rename("label")
