"""Every computed result is a FiftyOne run: listed with its parameters, label version, fields and arrays;
deleted with them; stale by the labels edited since; results stored by older versions adopted."""

from __future__ import annotations

import numpy as np

import sda2
from sda2 import arrays, label_versions as versions, runs, store
from sda2.compute import embeddings, predictions, projection
from sda2.curation import audit, edits, saved_thresholds
from tests.conftest import private_copy

KEYS = {"sda2_embeddings_pixels": "embeddings", "sda2_map_embeddings_pixels": "map",
        "sda2_probabilities": "predictions", "sda2_issue_dark": "issue", "sda2_thresholds": "thresholds"}


def _relabel(ds, count: int, who: str = "erin"):
    ids, labels = ds.values("id")[:count], ds.values("ground_truth.label")[:count]
    return edits.set_labels(ds, {i: "0" if label != "0" else "1" for i, label in zip(ids, labels)}, who)


def test_every_kind_is_listed_goes_stale_with_edits_back_after_undo_and_deletes_what_it_owns(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 60)
    embeddings.compute_embeddings(ds, model="pixels", progress=False)
    projection.compute_map(ds, "embeddings_pixels", method="pca", progress=False)
    predictions.compute_predictions(ds, folds=3)
    sda2.find_issues(ds, ["dark"], annotator="erin", progress=False)
    saved_thresholds.save(ds, {"3": 0.9, "고양이": 0.5}, annotator="erin")
    listed = sda2.list_runs(dataset_name).set_index("key")
    assert listed.loc[list(KEYS), "kind"].to_dict() == KEYS
    assert listed.loc[list(KEYS), "label_version"].tolist() == [0] * 5
    assert listed.loc[list(KEYS), "edits_since"].tolist() == [0] * 5 and not listed["stale"].any()
    pred = listed.loc["sda2_probabilities"]
    assert (pred["fields"], pred["arrays"]) == (["predictions"], ["probabilities"])
    assert pred["parameters"]["model"] == "pixels" and pred["parameters"]["folds"] == 3
    assert pred["parameters"]["input_size"] == 8 and 0.5 < pred["parameters"]["accuracy"] <= 1
    assert listed.loc["sda2_embeddings_pixels", "arrays"] == ["embeddings_pixels"]
    assert listed.loc["sda2_map_embeddings_pixels", "parameters"]["method"] == "pca"
    assert listed.loc["sda2_issue_dark", "fields"] == ["is_dark_issue", "dark_score"]
    assert listed.loc["sda2_thresholds", "parameters"]["thresholds"] == [["3", 0.9], ["고양이", 0.5]]
    assert all(listed.loc[list(KEYS), "completed_at"].notna())

    batch = _relabel(ds, 3)
    assert sda2.label_version(dataset_name) == 3
    listed = sda2.list_runs(dataset_name).set_index("key")
    assert listed.loc[list(KEYS), "edits_since"].tolist() == [3] * 5 and listed.loc[list(KEYS), "stale"].all()
    edits.tag(ds, ds.values("id")[:5], "check-later", "erin")  # a tag is not a label edit
    edits.mark(ds, ds.values("id")[:5], "reviewed", "erin")
    assert sda2.label_version(dataset_name) == 3 and sda2.run_staleness(ds, "sda2_probabilities") == 3
    edits.undo(ds, batch.batch_id, "erin")
    assert sda2.label_version(dataset_name) == 6  # an undo is a label write: the version never goes back
    assert sda2.run_staleness(dataset_name, "sda2_probabilities") == 0  # but the labels are the ones it saw

    predictions.compute_predictions(ds, folds=3)  # recomputed: records the version now
    assert sda2.list_runs(ds).set_index("key").loc["sda2_probabilities", "label_version"] == 6

    folder = arrays.folder(ds)
    assert (folder / "probabilities.npy").exists() and "predictions" in ds.get_field_schema()
    removed = sda2.delete_run(dataset_name, "sda2_probabilities")
    assert removed == {"key": "sda2_probabilities", "fields": ["predictions"], "arrays": ["probabilities"]}
    ds = store.open_dataset(dataset_name)
    assert "predictions" not in ds.get_field_schema() and "sda2_probabilities" not in ds.list_runs()
    assert not list(folder.glob("probabilities*"))
    assert sda2.delete_run(ds, "sda2_map_embeddings_pixels")["arrays"] == ["map_embeddings_pixels"]
    assert not list(folder.glob("map_embeddings_pixels*")) and (folder / "embeddings_pixels.npy").exists()
    assert "sda2_probabilities" not in set(sda2.list_runs(ds)["key"])


def test_staleness_counts_labels_that_differ_from_the_ones_the_result_saw(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 20)
    sda2.find_issues(ds, ["dark"], annotator="erin", progress=False)
    sample = ds.values("id")[0]
    edits.set_label(ds, sample, "7", "erin")
    edits.set_label(ds, sample, "8", "bob")
    assert versions.label_version(ds) == 2 and sda2.run_staleness(ds, "sda2_issue_dark") == 1  # one label differs
    edits.set_label(ds, sample, digits.values("ground_truth.label")[0], "bob")  # put back by hand
    assert sda2.run_staleness(ds, "sda2_issue_dark") == 0
    assert sda2.run_staleness(ds, "no_such_run") is None


def test_pending_runs_are_absent_and_their_arrays_cleared(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 20)
    embeddings.compute_embeddings(ds, model="pixels", progress=False)
    runs.begin(ds, "sda2_embeddings_pixels", [], kind="embeddings", arrays=["embeddings_pixels"])
    assert embeddings.embedding_keys(ds.name) == [] and "sda2_embeddings_pixels" not in set(sda2.list_runs(ds)["key"])
    runs.clear(ds, "sda2_embeddings_pixels")
    assert not arrays.exists(ds, "embeddings_pixels")


def test_records_of_older_versions_are_adopted_as_runs(digits, dataset_name):
    ds = private_copy(digits, dataset_name, 30)
    ids = ds.values("id")
    edits.set_label(ds, ids[0], "5" if ds.values("ground_truth.label")[0] != "5" else "6", "erin")
    made = audit.find(ds)[0]["at"]
    # what an older sda2 left: arrays with a JSON record and no run, a summary in dataset.info, its fields
    arrays.save(ds, "embeddings_pixels", ids, np.ones((30, 4), np.float32), kind="embeddings", model="pixels",
                input_size=8)
    arrays.save(ds, "probabilities", ids, np.full((30, 10), 0.1, np.float32), classes=[str(c) for c in range(10)],
                field="predictions", kind="classification", source="out-of-fold", folds=5, accuracy=0.5)
    ds.set_values("label_quality", [0.5] * 30)
    ds.set_values("is_label_issue", [False] * 30)
    ds.info = {**ds.info, "sda2_label_issues": {"gt_field": "ground_truth", "issues": 0,
                                                "created_at": made.isoformat() + "+00:00"}}
    ds.save()
    legacy_thresholds = store.open_dataset(dataset_name)
    legacy_thresholds.info = {**legacy_thresholds.info, "sda2_thresholds": {"1": 0.7}}
    legacy_thresholds.save()
    assert saved_thresholds.load(legacy_thresholds) == {"1": 0.7}
    listed = sda2.list_runs(dataset_name).set_index("key")
    assert listed.loc["sda2_embeddings_pixels", ["kind", "arrays"]].tolist() == ["embeddings", ["embeddings_pixels"]]
    assert listed.loc["sda2_probabilities", "parameters"]["folds"] == 5
    assert listed.loc["sda2_probabilities", "fields"] == ["predictions"]
    assert listed.loc["sda2_label_issues", ["kind", "fields"]].tolist() == ["label_issues",
                                                                           ["label_quality", "is_label_issue"]]
    assert listed.loc["sda2_label_issues", "label_version"] == 1  # made after the one edit
    assert listed.loc["sda2_thresholds", "parameters"]["thresholds"] == [["1", 0.7]]
    assert embeddings.embedding_keys(dataset_name) == ["embeddings_pixels"]  # still read
    assert sda2.delete_run(dataset_name, "sda2_label_issues")["fields"] == ["label_quality", "is_label_issue"]
    ds = store.open_dataset(dataset_name)
    assert "sda2_label_issues" not in ds.info and "is_label_issue" not in ds.get_field_schema()


def test_the_label_version_reads_the_audit_log_of_the_curation_layer():
    assert (versions.AUDIT_PREFIX, versions.EDIT_IDS_FIELD) == (audit.PREFIX, audit.EDIT_IDS_FIELD)
