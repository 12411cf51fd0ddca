"""Importing your own predictions from the app: the uploaded bytes go through import_predictions."""

import io

import numpy as np
import pandas as pd
import pytest

from sda2 import arrays
from sda2.compute.predictions import import_predictions_file
from tests.apptest import open_page


def test_upload_npy_in_dataset_order_and_csv_by_filepath(digits, dataset_name):
    ds = digits.clone(dataset_name, persistent=True)
    ids, labels = ds.values("id"), ds.values("ground_truth.label")
    probs = np.full((len(ids), 10), 0.01)
    probs[np.arange(len(ids)), [int(v) for v in labels]] = 0.91
    buffer = io.BytesIO()
    np.save(buffer, probs)
    report = import_predictions_file(ds, "mine.npy", buffer.getvalue())
    assert report.accuracy == 1.0 and report.source == "imported mine.npy"
    np.testing.assert_allclose(arrays.load(dataset_name, "probabilities", ids=ids)[1], probs, atol=1e-6)
    table = pd.DataFrame(probs[:50], columns=[str(c) for c in range(10)]).assign(filepath=ds.values("filepath")[:50])
    assert import_predictions_file(ds, "mine.csv", table.to_csv(index=False).encode()).samples == 50
    with pytest.raises(ValueError, match="rows but"):
        buffer = io.BytesIO()
        np.save(buffer, probs[:10])
        import_predictions_file(ds, "short.npy", buffer.getvalue())
    with pytest.raises(ValueError, match="upload a .csv"):
        import_predictions_file(ds, "mine.txt", b"1,2")


def test_evaluation_page_offers_the_upload(digits, dataset_name):
    digits.clone(dataset_name, persistent=True)
    at = open_page("app_pages/evaluation.py", dataset_name)
    assert at.get("file_uploader") and at.checkbox(key="predictions_logits")
