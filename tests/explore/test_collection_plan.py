"""The collection plan on a real database: a digits copy with pixel embeddings, releases with stored metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits

import sda2
from sda2 import arrays, store
from sda2.compute.predictions import compute_predictions
from sda2.curation import edits, releases
from sda2.explore import collection_plan as cp
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A digits copy (600 samples) with the 8x8 pixels stored as embeddings."""
    copy = private_copy(digits, dataset_name, 600)
    ids, index = copy.values(["id", "source_index"])
    arrays.save(copy.name, "embeddings_pixels", ids, load_digits().data[np.asarray(index)].astype(np.float32),
                kind="embeddings", model="pixels", dim=64)
    return copy


def test_plan_and_release_comparison_on_digits(ds):
    curves = sda2.learning_curves(ds.name, seeds=(0, 1), progress=lambda done, total: None)
    assert curves.extra["embeddings_key"] == "embeddings_pixels"
    assert sum(curves.labeled.values()) == curves.extra["samples"] == len(ds.exists("ground_truth"))
    assert set(curves.fits) == set(store.classes(ds, "ground_truth"))
    plan = cp.collection_plan(ds.name, target=0.99, curves=curves)
    assert len(plan) == len(curves.fits)
    weak = plan[plan["more"] > 0]
    assert len(weak) and (weak["accuracy"] < 0.99).all()
    for _, row in weak.iterrows():
        assert row["plan"].endswith(" images") or "not reachable" in row["plan"]
        assert math.isinf(row["more"]) or row["plan"] == f"+{math.ceil(row['more']):,} images"

    releases.create_release(ds, "v1", "tester")
    assert releases.release_metrics(ds, "v1") is None
    with pytest.raises(ValueError, match="compute_predictions"):
        sda2.compare_releases(ds.name, "v1", "v1")
    compute_predictions(ds, embeddings_key="embeddings_pixels")
    releases.create_release(ds, "v2", "tester")
    edits.mark(ds, ds.limit(60).values("id"), "excluded", annotator="tester")
    releases.create_release(ds, "v3", "tester")
    metrics = releases.release_metrics(ds, "v2")
    assert metrics["support"].sum() == len(ds.exists("ground_truth"))
    frame = sda2.compare_releases(ds.name, "v2", "v3")
    assert {"recall_v2", "recall_v3", "recall_change"} <= set(frame.columns)
    assert frame["support_v3"].sum() < frame["support_v2"].sum()  # excluded samples left out of v3's metrics


def test_no_embeddings_names_the_fix(digits, dataset_name):
    copy = private_copy(digits, dataset_name, 50)
    with pytest.raises(KeyError, match="compute_embeddings"):
        cp.learning_curves(copy.name)
