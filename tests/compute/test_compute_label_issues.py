"""detect_label_issues on a real FiftyOne database: digits cloned, labels flipped, own out-of-fold predictions."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict

import fiftyone as fo
from sda2 import arrays, runs, store
from sda2.analysis.label_issues import find_label_issues
from sda2.compute.label_issues import detect_label_issues
from sda2.ingest.base import Box, Record
from sda2.ingest.writer import write_dataset

CLASSES = [str(c) for c in range(10)]


def pixels(paths) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p), dtype=np.float32).ravel() / 255 for p in paths])


@pytest.fixture(scope="module")
def oof(digits):
    """6% of the digits labels flipped, and out-of-fold probabilities on those labels (computed once)."""
    paths, labels = digits.values("filepath"), np.array(digits.values("ground_truth.label"))
    rng = np.random.default_rng(0)
    flip = rng.random(len(labels)) < 0.06
    labels[flip] = [str((int(v) + rng.integers(1, 10)) % 10) for v in labels[flip]]
    probs = cross_val_predict(LogisticRegression(max_iter=300), pixels(paths), labels, cv=5, method="predict_proba")
    return flip, labels, probs


@pytest.fixture
def noisy_digits(digits, dataset_name, oof):
    """A clone of digits with the flipped labels, and its OOF probabilities saved as 'probabilities'."""
    flip, labels, probs = oof
    ds = digits.clone(dataset_name, persistent=True)
    ds.set_values("ground_truth.label", labels.tolist())
    arrays.save(ds.name, "probabilities", ds.values("id"), probs.astype(np.float32), classes=CLASSES,
                kind="classification")
    return ds, flip, probs, labels


def test_fields_written_in_bulk_match_the_array_call(noisy_digits):
    ds, flip, probs, labels = noisy_digits
    frame = detect_label_issues(ds.name)
    expected = find_label_issues(labels, probs.astype(np.float32), CLASSES)
    assert frame["is_label_issue"].tolist() == expected["is_label_issue"].tolist()
    found = frame["is_label_issue"].to_numpy()
    assert (found & flip).sum() / flip.sum() >= 0.6
    ds = store.open_dataset(ds.name)  # what another process sees
    schema = ds.get_field_schema()
    assert isinstance(schema["label_quality"], fo.FloatField)
    assert isinstance(schema["is_label_issue"], fo.BooleanField)
    assert isinstance(schema["suggested_label"], fo.StringField)
    assert ds.values("is_label_issue") == found.tolist()
    np.testing.assert_allclose(ds.values("label_quality"), frame["label_quality"], rtol=1e-6)
    worst = ds.sort_by("label_quality").first()
    assert worst.is_label_issue and worst.suggested_label != worst.ground_truth.label
    assert runs.run_record(ds, "sda2_label_issues")["summary"]["issues"] == int(found.sum())


def test_logits_field_gives_the_same_answer(noisy_digits):
    ds, _, probs, _ = noisy_digits
    from_arrays = detect_label_issues(ds, write=False)
    logs = np.log(np.clip(probs, 1e-12, None))
    ds.set_values("predictions", [fo.Classification(label=CLASSES[int(np.argmax(p))], confidence=float(p.max()),
                                                    logits=lg.tolist()) for p, lg in zip(probs, logs)])
    arrays.delete(ds.name, "probabilities")
    from_field = detect_label_issues(ds, write=False)
    assert (from_field["is_label_issue"] == from_arrays["is_label_issue"]).mean() >= 0.995


def test_samples_without_predictions_are_cleared_not_guessed(noisy_digits):
    ds, _, probs, _ = noisy_digits
    ids = ds.values("id")
    arrays.save(ds.name, "probabilities", ids[10:], probs[10:], classes=CLASSES)
    ds.set_values("label_quality", [0.5] * len(ids))  # an older run's values must not survive
    with pytest.warns(UserWarning, match="10 samples"):
        frame = detect_label_issues(ds)
    assert len(frame) == len(ids) - 10
    assert ds.values("label_quality")[:10] == [None] * 10
    assert None not in ds.values("label_quality")[10:]


def test_stale_predictions_and_missing_predictions_are_explained(noisy_digits):
    ds, _, probs, _ = noisy_digits
    arrays.save(ds.name, "probabilities", ds.values("id"), probs, classes=[f"c{c}" for c in range(10)])
    with pytest.raises(ValueError, match="compute_predictions"):
        detect_label_issues(ds)
    arrays.delete(ds.name, "probabilities")
    with pytest.raises(KeyError, match="compute_predictions"):
        detect_label_issues(ds)
    assert "label_quality" not in ds.get_field_schema()  # nothing was written


def test_multilabel_dataset(digits, dataset_name):
    paths, labels = digits.values("filepath")[:400], digits.values("ground_truth.label")[:400]
    tags = [["even" if int(v) % 2 == 0 else "odd"] + (["round"] if v in "0689" else []) for v in labels]
    rng = np.random.default_rng(0)
    forgot = rng.choice(np.flatnonzero([t == ["even", "round"] for t in tags]), 5, replace=False)
    for i in forgot:
        tags[i] = ["even"]
    names = ["even", "odd", "round"]
    write_dataset(dataset_name, [Record(p, t) for p, t in zip(paths, tags)], "multilabel", classes=names)
    ds = store.open_dataset(dataset_name)
    ids = ds.values("id")
    truth = np.array([[int(v) % 2 == 0, int(v) % 2 == 1, v in "0689"] for v in labels], dtype=float)
    probs = np.where(truth == 1, rng.uniform(0.6, 0.99, truth.shape), rng.uniform(0.01, 0.3, truth.shape))
    probs[forgot, 2] = 0.995  # the model is sure these are round
    arrays.save(ds.name, "probabilities", ids, probs, classes=names, kind="multilabel")
    frame = detect_label_issues(ds)
    assert set(np.flatnonzero(frame["is_label_issue"])) == set(forgot)
    assert all(frame["missing_tags"].iloc[i] == ["round"] for i in forgot)
    stored = dict(zip(ids, ds.values("suggested_label")))
    assert stored[ids[forgot[0]]] == "even, round"


def test_detection_dataset_gets_box_hints(digits, dataset_name):
    paths = digits.values("filepath")[:3]
    box, moved = [0.1, 0.1, 0.4, 0.4], [0.3, 0.3, 0.4, 0.4]
    write_dataset(dataset_name, [Record(paths[0], [Box("cat", box)]), Record(paths[1], [Box("cat", box)]),
                                 Record(paths[2], [Box("cat", box)])], "detection")
    ds = store.open_dataset(dataset_name)
    preds = [[("cat", box, 0.9)], [("dog", box, 0.8)], [("cat", moved, 0.9), ("dog", [0.6, 0.6, 0.3, 0.3], 0.95)]]
    ds.set_values("predictions", [fo.Detections(detections=[
        fo.Detection(label=lb, bounding_box=bb, confidence=c) for lb, bb, c in row]) for row in preds])
    frame = detect_label_issues(ds)
    assert frame["is_label_issue"].tolist() == [False, True, True]
    ds = store.open_dataset(dataset_name)
    hints = ds.values("label_hints")
    assert hints[0] == [] and hints[1][0]["kind"] == "wrong_class"
    assert sorted(h["kind"] for h in hints[2]) == ["badly_placed", "missing"]
    assert ds.values("suggested_label")[1] == "wrong class cat→dog"
    assert ds.values("label_quality")[2] == pytest.approx(0.05)
