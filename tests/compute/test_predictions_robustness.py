"""compute_predictions on awkward real data: a 2-sample class and a truncated PNG, from the API and the button."""

import numpy as np
import pytest
from PIL import Image

from sda2 import arrays, store
from sda2.compute.predictions import compute_predictions, flag_trust, prediction_record
from sda2.ingest.folder import import_folder
from tests.apptest import open_page


@pytest.fixture
def awkward(tmp_path, dataset_name):
    """A folder dataset: classes a, b (30 each), c (2 samples); a/0.png truncated after import."""
    rng = np.random.default_rng(0)
    for cls, n, base in (("a", 30, 0), ("b", 30, 100), ("c", 2, 190)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            Image.fromarray((rng.random((16, 16)) * 60 + base).astype(np.uint8)).save(tmp_path / cls / f"{i}.png")
    import_folder(tmp_path, dataset_name)
    bad = tmp_path / "a" / "0.png"
    bad.write_bytes(bad.read_bytes()[:40])
    return dataset_name, str(bad)


def test_unreadable_image_is_excluded_and_named_small_class_noted(awkward):
    name, bad = awkward
    report = compute_predictions(name)
    ds = store.open_dataset(name)
    assert [e["filepath"] for e in report.excluded] == [bad] and "not a readable image" in report.excluded[0]["reason"]
    assert report.samples == len(ds) - 1 and bad in report.summary()
    assert any("'c' has 2 labeled samples" in n for n in report.notes)
    preds = dict(zip(ds.values("filepath"), ds.values("predictions.label")))
    assert preds[bad] is None and sum(p is not None for p in preds.values()) == len(ds) - 1
    record = prediction_record(name)
    assert record["excluded"][0]["filepath"] == bad and record["notes"] == report.notes
    assert set(record["calibration"]["per_class_accuracy"]) == {"a", "b", "c"}
    again = compute_predictions(name)  # recomputing does not repeat a failure
    assert [e["filepath"] for e in again.excluded] == [bad] and again.samples == report.samples


def test_every_class_smaller_than_the_folds_uses_fewer_folds(tmp_path, dataset_name):
    for cls, base in (("x", 0), ("y", 200)):
        (tmp_path / cls).mkdir()
        for i in range(3):
            Image.fromarray(np.full((8, 8), base + 10 * i, np.uint8)).save(tmp_path / cls / f"{i}.png")
    import_folder(tmp_path, dataset_name)
    report = compute_predictions(dataset_name, folds=5)
    assert report.samples == 6 and len(report.notes) == 2
    _, proba = arrays.load(dataset_name, "probabilities")
    assert np.isfinite(proba).all()


def test_compute_button_reports_the_excluded_sample(awkward):
    name, bad = awkward
    at = open_page("app_pages/evaluation.py", name)
    at.button(key="compute_predictions").click().run()
    assert not at.exception, at.exception
    assert any("1 samples without embeddings were left out" in s.value for s in at.success)
    assert any("could not be embedded" in w.value for w in at.warning)
    table = next(d.value for d in at.dataframe if "reason" in d.value.columns)
    assert list(table["filepath"]) == [bad]
    assert any("'c' has 2 labeled samples" in c.value for c in at.caption)
    assert "Accuracy" in {m.label for m in at.metric}
    assert flag_trust(name) is not None
