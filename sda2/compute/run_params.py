"""The parameters a prediction run records: model, folds, input size and accuracy, whatever path made it."""

from __future__ import annotations

from sda2 import arrays, store


def prediction_run_params(dataset, info: dict) -> dict:
    """Model, folds, input size, accuracy and source of a prediction write-back (``info`` as stored with it);
    model and input size come from the embeddings it was trained on when ``info`` does not name them."""
    embeddings = info.get("embeddings")
    made_from = {}
    if isinstance(embeddings, str) and arrays.exists(store.as_dataset(dataset), embeddings):
        made_from = arrays.info(store.as_dataset(dataset), embeddings)
    return {"model": info.get("model") or made_from.get("model") or info.get("source"),
            "folds": info.get("folds"), "input_size": info.get("input_size") or made_from.get("input_size"),
            "accuracy": info.get("accuracy"), "source": info.get("source"), "embeddings": embeddings,
            "calibrated": info.get("calibration") is not None, "logits": info.get("logits"),
            "pipeline": info.get("pipeline"), "seconds": info.get("seconds")}
