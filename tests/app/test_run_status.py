"""A page under a computed result says how many labels were edited since, and its button recomputes it."""

from __future__ import annotations

import sda2
from sda2 import store
from sda2.compute import embeddings, predictions
from sda2.curation import edits
from tests.apptest import open_page
from tests.conftest import private_copy


def _notes(at) -> list[str]:
    return [w.value.replace("\\", "") for w in at.warning if "label edit" in w.value]


def test_evaluation_page_says_computed_before_n_label_edits_and_recomputes(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 60)
    embeddings.compute_embeddings(ds, model="pixels", progress=False)
    predictions.compute_predictions(ds, folds=3)
    at = open_page("app_pages/evaluation.py", dataset_name, "erin")
    assert _notes(at) == []
    ids, labels = ds.values("id")[:2], ds.values("ground_truth.label")[:2]
    edits.set_labels(ds, {i: "0" if label != "0" else "1" for i, label in zip(ids, labels)}, "erin")
    at = open_page("app_pages/evaluation.py", dataset_name, "erin")
    assert _notes(at) == ["Computed before 2 label edits (sda2_probabilities): recompute?"]
    at.button(key="run_status_recompute_sda2_probabilities").click().run()
    assert not at.exception, at.exception
    assert _notes(at) == [] and sda2.run_staleness(store.open_dataset(dataset_name), "sda2_probabilities") == 0
