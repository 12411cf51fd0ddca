"""The two-backbone pipeline on real colour photos: both embeddings computed, its probabilities are the fusion of
two frozen classifiers and kNN, recorded; chosen from the Evaluation page's radio, it says what ran."""

from __future__ import annotations

import tarfile

import numpy as np
import pandas as pd
import pytest

from sda2 import arrays
from sda2.analysis.calibration import calibrate_out_of_fold
from sda2.analysis.oof import out_of_fold_proba
from sda2.analysis.view_fusion import fuse_log_mean, knn_label_proba
from sda2.compute.predictions import compute_predictions, prediction_record
from sda2.ingest.base import Record
from sda2.ingest.writer import write_dataset
from tests.apptest import open_page
from tests.conftest import MNIST_DIR

CIFAR = MNIST_DIR.parent / "cifar10n"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture
def photos(dataset_name, tmp_path) -> str:
    """The first 120 CIFAR-10N photos with their true labels, as a dataset of this test's own."""
    table = pd.read_csv(CIFAR / "labels.csv.gz").sort_values("index").head(120)
    wanted = set(table["filepath"])
    with tarfile.open(CIFAR / "train_images.tar.gz", "r:gz") as tar:
        members = []
        for member in tar:
            if member.name in wanted:
                members.append(member)
                if len(members) == len(wanted):
                    break
        tar.extractall(tmp_path, members=members, filter="data")
    write_dataset(dataset_name, [Record(str(tmp_path / p), label, "train")
                                 for p, label in zip(table["filepath"], table["clean_label"])],
                  "classification", classes=CLASSES)
    return dataset_name


def test_two_backbones_fuses_both_classifiers_and_knn_and_records_it(photos):
    report = compute_predictions(photos, model="two_backbones", folds=3, progress=False)
    record = prediction_record(photos)
    assert record["pipeline"] == "two_backbones" and record["chosen_because"] == "chosen explicitly"
    assert (record["embeddings"], record["second_embeddings"]) == ("embeddings_effnet_lite2", "embeddings_effnet_lite0")
    assert arrays.info(photos, "embeddings_effnet_lite2")["model"] == "effnet_lite2"
    assert report.accuracy > 0.4  # 120 real photos of 10 classes, 3 folds: chance is 0.1
    # the stored probabilities are exactly the documented fusion, calibrated
    ids, X2 = arrays.load(photos, "embeddings_effnet_lite2")
    _, X0 = arrays.load(photos, "embeddings_effnet_lite0", ids=ids)
    labels = dict(zip(*arrays_labels(photos)))
    truth = [labels[i] for i in ids]
    classes = record["classes"]
    codes = np.array([classes.index(t) for t in truth])
    lite2, _ = out_of_fold_proba(X2, truth, classes, folds=3)
    lite0, _ = out_of_fold_proba(X0, truth, classes, folds=3)
    fused = fuse_log_mean(lite0, lite2, knn_label_proba(X2, codes, len(classes)))
    expected, _ = calibrate_out_of_fold(fused, codes, classes)
    _, stored = arrays.load(photos, "probabilities", ids=ids)
    np.testing.assert_allclose(stored, expected, atol=1e-5)


def arrays_labels(name: str) -> tuple[list, list]:
    """(sample ids, ground-truth labels) of dataset ``name``."""
    from sda2 import store

    dataset = store.open_dataset(name)
    return dataset.values("id"), dataset.values("ground_truth.label")


def test_the_evaluation_page_runs_it_and_says_which(photos):
    at = open_page("app_pages/evaluation.py", photos)
    at.radio(key="predictions_model").set_value("two_backbones").run()
    at.button(key="compute_predictions").click().run()
    assert not at.exception, at.exception
    assert prediction_record(photos)["pipeline"] == "two_backbones" and "120 samples" in at.success[0].value
    captions = [c.value.replace("\\", "") for c in at.caption]  # md() escapes the underscores
    made = [c for c in captions if c.startswith("Predictions by the two_backbones model")]
    assert len(made) == 1 and "fused with one on embeddings_effnet_lite0 and nearest-neighbour label" in made[0]
