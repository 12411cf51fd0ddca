"""The recommended pipeline follows the images: a small CNN joins the views for 17-32 px images on CPU."""

from __future__ import annotations

import numpy as np

from sda2 import arrays
from sda2.compute.finetune import recommended_model
from sda2.compute.predictions import compute_predictions, prediction_record, recommended_pipeline
from sda2.ingest.mnist import import_mnist


def test_small_images_get_the_small_cnn_view_and_the_run_is_recorded(mnist_dir, dataset_name, tmp_path):
    import_mnist(mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz", dataset_name,
                 out_dir=tmp_path, limit=300)
    assert recommended_pipeline(dataset_name)[0] == "frozen_knn_cnn"  # 28 px digits on this CPU-only machine
    report = compute_predictions(dataset_name, progress=False)
    assert report.model == "frozen_knn_cnn" and "small CNN" in report.summary()
    record = prediction_record(dataset_name)
    assert record["pipeline"] == "frozen_knn_cnn" and record["small_cnn_input_size"] == 28
    assert record["small_cnn_seconds"] > 0 and "small images (28 px)" in record["chosen_because"]
    assert record["accuracy"] > 0.9  # 300 digits, 5 folds: measured 0.953 (frozen + kNN alone: 0.887)
    frozen = record["frozen_classifier"]  # the frozen view's model: 1,280 embedding dims onto 256 components
    assert frozen["dims"] == 256 and frozen["C"] in (0.01, 0.05) and set(frozen["log_loss"]) == {"0.01", "0.05"}
    ids, probs = arrays.load(dataset_name, "probabilities")
    assert probs.shape == (300, 10) and np.allclose(probs.sum(1), 1.0)


def test_tiny_images_keep_the_embedding_pipeline(digits):
    assert recommended_pipeline(digits)[0] == "frozen_knn"  # 8 px digits: raw pixels, no CNN


def test_many_small_images_leave_the_cnn_out_and_say_so():
    pipeline, why = recommended_model(32, 50_000)  # CIFAR-size: the CNN would break the CPU time budget
    assert pipeline == "frozen_knn" and "50,000" in why and "model='frozen_knn_cnn'" in why
    assert recommended_model(32, 20_000)[0] == "frozen_knn_cnn"
    assert recommended_model(64, 100)[0] == "frozen_knn"  # larger images: the frozen features are enough
