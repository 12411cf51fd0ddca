"""The 2-D embedding map: UMAP/PCA projection, its cache in sda2.arrays, and the map's DataFrame.

Real digits (a copy of the shared fixture), real pixel embeddings, real UMAP (few epochs to stay fast).
"""

from __future__ import annotations

import fiftyone as fo
import numpy as np
import pytest
from fiftyone import ViewField as F
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from sda2 import arrays, store
from sda2.compute import projection
from sda2.compute.embeddings import compute_embeddings
from sda2.explore.map_frame import map_frame

FAST = {"n_epochs": 60, "seed": 0}


def store_pixel_embeddings(dataset) -> np.ndarray:
    """Compute and store the images' pixel embeddings (``embeddings_pixels``); return them in dataset order."""
    embeddings = compute_embeddings(dataset, model="pixels", progress=False)
    assert list(embeddings.ids) == dataset.values("id")
    return np.array(embeddings.values)


def resave(dataset, ids, X) -> None:
    """Replace the stored pixel embeddings, as a new computation would."""
    arrays.save(dataset.name, "embeddings_pixels", ids, X, kind="embeddings", model="pixels")


def store_predictions(dataset, X: np.ndarray) -> None:
    """Write out-of-fold logistic-regression predictions (label and confidence) to ``predictions``."""
    y = np.array(dataset.values("ground_truth.label"))
    proba = cross_val_predict(LogisticRegression(max_iter=300), X, y, cv=3, method="predict_proba")
    classes = np.unique(y)
    dataset.set_values("predictions", [fo.Classification(label=str(classes[p.argmax()]), confidence=float(p.max()))
                                       for p in proba])


def clone(digits, name: str):
    """A persistent copy of the digits fixture (so tests never change the shared one)."""
    if name in store.list_datasets():
        store.delete_dataset(name)
    return digits.clone(name, persistent=True)


@pytest.fixture(scope="module")
def mapped(digits):
    """A digits copy with pixel embeddings, predictions and a UMAP map."""
    name = "t_projection_mapped"
    ds = clone(digits, name)
    X = store_pixel_embeddings(ds)
    store_predictions(ds, X)
    projection.compute_map(ds, **FAST)
    yield ds
    store.delete_dataset(name)


def knn_accuracy(xy: np.ndarray, labels) -> float:
    """How well the 2-D positions keep the classes apart: 5-NN accuracy, 3-fold cross-validated."""
    return cross_val_score(KNeighborsClassifier(5), xy, np.asarray(labels), cv=3).mean()


def test_umap_map_keeps_digit_classes_apart(mapped):
    ids, xy = projection.load_map(mapped)
    assert xy.shape == (len(mapped), 2) and xy.dtype == np.float32 and np.isfinite(xy).all()
    assert set(ids) == set(mapped.values("id"))
    labels = dict(zip(mapped.values("id"), mapped.values("ground_truth.label")))
    assert knn_accuracy(xy, [labels[i] for i in ids]) > 0.9
    info = projection.map_info(mapped)
    assert info["method"] == "umap" and info["embeddings_key"] == "embeddings_pixels"
    assert info["params"]["n_epochs"] == 60 and info["fit_samples"] == len(mapped)
    assert projection.map_status(mapped, **FAST) == "current"


def test_subsample_fit_places_every_other_point(mapped):
    _, X = arrays.load(mapped.name, "embeddings_pixels")
    labels = mapped.values("ground_truth.label")
    xy = projection.project(X, fit_limit=500, n_epochs=60, seed=0, progress=False)
    assert xy.shape == (len(X), 2) and np.isfinite(xy).all()
    assert knn_accuracy(xy, labels) > 0.85  # the 1,297 placed points land in their class's cluster


def test_map_is_reused_until_embeddings_or_parameters_change(digits, dataset_name):
    ds = clone(digits, dataset_name)
    X = store_pixel_embeddings(ds)
    _, first = projection.compute_map(ds, method="pca")
    run = projection.map_info(ds)["run_id"]
    _, again = projection.compute_map(ds, method="pca")
    assert projection.map_info(ds)["run_id"] == run and np.array_equal(first, again)
    assert projection.map_status(ds) == projection.map_status(ds, method="pca") == "current"
    assert projection.map_status(ds, method="umap") == "stale"  # other parameters asked for

    ids = ds.values("id")
    X[:5] = 1 - X[:5]  # the same ids, changed values
    resave(ds, ids, X)
    assert projection.map_status(ds) == "stale"
    projection.compute_map(ds, method="pca")
    assert projection.map_info(ds)["run_id"] != run

    resave(ds, ids[:100], X[:100])  # fewer samples
    new_ids, xy = projection.compute_map(ds, method="pca")
    assert list(new_ids) == ids[:100] and xy.shape == (100, 2)
    run = projection.map_info(ds)["run_id"]
    projection.compute_map(ds, method="pca", force=True)
    assert projection.map_info(ds)["run_id"] != run


def test_rows_without_finite_embeddings_are_left_off(digits, dataset_name):
    ds = clone(digits, dataset_name)
    X = store_pixel_embeddings(ds)
    X[[3, 7, 11]] = np.nan
    ids = ds.values("id")
    resave(ds, ids, X)
    map_ids, xy = projection.compute_map(ds, method="pca")
    assert len(map_ids) == len(ids) - 3 and ids[7] not in set(map_ids) and np.isfinite(xy).all()
    assert projection.map_info(ds)["left_off_nonfinite"] == 3


def test_clear_errors(digits, dataset_name):
    ds = clone(digits, dataset_name)
    with pytest.raises(KeyError, match="no embeddings yet.*compute_embeddings"):
        projection.compute_map(ds)
    store_pixel_embeddings(ds)
    with pytest.raises(KeyError, match="no map of embeddings 'embeddings_pixels'.*compute_map"):
        projection.load_map(ds)
    with pytest.raises(KeyError, match="no embeddings 'embeddings_effnet'.*embeddings_pixels"):
        projection.compute_map(ds, "embeddings_effnet")
    with pytest.raises(ValueError, match="Unknown map method 'tsne'"):
        projection.compute_map(ds, method="tsne")
    with pytest.raises(TypeError, match="Unknown map parameter.*n_neighbours"):
        projection.compute_map(ds, n_neighbours=5)
    assert projection.map_status(ds) == "missing" and projection.map_info(ds) == {}


def test_map_frame_joins_positions_labels_and_numbers(mapped):
    frame = map_frame(mapped, label_field="ground_truth", prediction_field="predictions")
    assert len(frame) == len(mapped) and frame.attrs["unmapped"] == 0
    assert {"id", "filepath", "x", "y", "label", "prediction", "confidence", "correct"} <= set(frame.columns)
    assert "source_index" in frame.attrs["numeric"] and "predictions.confidence" not in frame.attrs["numeric"]
    assert (frame["correct"] == (frame["label"] == frame["prediction"])).all()
    assert frame["confidence"].between(0, 1).all()
    ids, xy = projection.load_map(mapped)
    row = frame.set_index("id").loc[ids[10]]
    assert (row["x"], row["y"]) == (xy[10, 0], xy[10, 1])

    test_split = mapped.match(F("split") == "test")
    part = map_frame(test_split, prediction_field=None)
    assert len(part) == len(test_split) and part["prediction"].isna().all() and part["correct"].isna().all()
