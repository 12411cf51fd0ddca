"""Predictions on the real database: out-of-fold compute, import of a user's own (and its errors), evaluation."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, hamming_loss, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer

import fiftyone as fo
from sda2 import arrays, store
from sda2.explore import evaluation
from sda2.compute.embeddings import compute_embeddings
from sda2.compute.predictions import compute_predictions, import_predictions
from sda2.ingest.base import Record
from sda2.ingest.writer import write_dataset

CLASSES = [str(c) for c in range(10)]


def save_pixel_embeddings(dataset):
    """Raw-pixel embeddings of every sample, through the embeddings module."""
    compute_embeddings(dataset, model="pixels", progress=False)


@pytest.fixture(scope="module")
def predicted(digits):
    """A copy of digits with pixel embeddings and out-of-fold predictions (the shared fixture stays clean)."""
    name = "t_predictions_module"
    if name in store.list_datasets():
        store.delete_dataset(name)
    ds = digits.clone(name, persistent=True)
    save_pixel_embeddings(ds)
    report = compute_predictions(ds, folds=5)
    yield ds, report
    store.delete_dataset(name)


@pytest.fixture
def copy(digits, dataset_name):
    """A fresh copy of digits for one test that writes predictions."""
    return digits.clone(dataset_name, persistent=True)


def test_compute_writes_predictions_and_probabilities(predicted, digits):
    ds, report = predicted
    assert report.samples == len(ds) and report.classes == CLASSES
    assert report.accuracy > 0.93  # 5-fold logistic regression on 8x8 pixels
    assert isinstance(ds.first()["predictions"], fo.Classification)
    assert "predictions" not in digits.get_field_schema()  # the shared fixture is untouched
    ids, proba = arrays.load(ds.name, "probabilities")
    assert list(ids) == ds.values("id") and proba.shape == (len(ds), 10)
    assert arrays.info(ds.name, "probabilities")["classes"] == CLASSES
    np.testing.assert_allclose(proba.sum(axis=1), 1, atol=1e-4)
    labels, conf = ds.values("predictions.label"), ds.values("predictions.confidence")
    logits = np.array(ds.values("predictions.logits"))
    assert labels == [CLASSES[i] for i in proba.argmax(1)]
    np.testing.assert_allclose(conf, proba.max(axis=1), atol=1e-5)
    np.testing.assert_allclose(np.exp(logits), proba, atol=1e-5)
    assert report.accuracy == pytest.approx(accuracy_score(ds.values("ground_truth.label"), labels))


def test_evaluate_on_the_dataset_matches_sklearn(predicted):
    ds, _ = predicted
    ev = evaluation.evaluate(ds.name)
    truth, pred = ds.values("ground_truth.label"), ds.values("predictions.label")
    assert ev.accuracy == pytest.approx(accuracy_score(truth, pred))
    p, r, f, s = precision_recall_fscore_support(truth, pred, labels=CLASSES, zero_division=0)
    np.testing.assert_allclose(ev.per_class[["precision", "recall", "f1"]].to_numpy(), np.c_[p, r, f])
    assert int(ev.confusion.to_numpy().trace()) == sum(t == q for t, q in zip(truth, pred))
    cell = ev.top_confusions(1).iloc[0]
    samples = ev.samples(cell["true"], cell["predicted"])
    assert len(samples) == cell["samples"] and samples["confidence"].is_monotonic_decreasing
    test_only = evaluation.evaluate(ds.name, split="test")
    assert len(test_only.evaluated) == len(ds.match(fo.ViewField("split") == "test"))
    choice = ev.lowest_threshold("8", 0.99)
    assert choice.precision >= 0.99 and choice.accepted + choice.rejected == pred.count("8")


def test_failure_by_field_label_and_tag(predicted):
    ds, _ = predicted
    by_split = evaluation.failure_by(ds.name, "split").set_index("category")
    splits, correct = ds.values("split"), np.array(ds.values("ground_truth.label")) == np.array(ds.values("predictions.label"))
    for split in ("train", "test"):
        mine = np.array(splits) == split
        assert by_split.loc[split, "samples"] == mine.sum()
        assert by_split.loc[split, "errors"] == (~correct[mine]).sum()
    by_class = evaluation.failure_by(ds.name, "ground_truth")
    assert by_class["error_rate"].is_monotonic_decreasing and set(by_class["category"]) == set(CLASSES)
    ds.take(50, seed=0).tag_samples("dark photo")
    by_tag = evaluation.failure_by(ds.name, "dark photo").set_index("category")
    assert by_tag["samples"].to_dict() == {"dark photo": 50, "not dark photo": len(ds) - 50}
    assert "dark photo" in evaluation.failure_fields(ds.name)
    with pytest.raises(KeyError, match="neither a field nor a tag"):
        evaluation.failure_by(ds.name, "no_such_thing")


def test_thresholds_saved_with_the_dataset(copy):
    assert evaluation.load_thresholds(copy.name) == {}
    evaluation.save_thresholds(copy.name, {"7": 0.9}, annotator="alice")
    assert evaluation.save_thresholds(copy, {"1": 0.5}, annotator="bob") == {"7": 0.9, "1": 0.5}
    assert evaluation.load_thresholds(store.open_dataset(copy.name)) == {"7": 0.9, "1": 0.5}
    with pytest.raises(ValueError, match="Unknown classes"):
        evaluation.save_thresholds(copy.name, {"cat": 0.5}, annotator="alice")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        evaluation.save_thresholds(copy.name, {"7": 1.5}, annotator="alice")
    with pytest.raises(ValueError, match="annotator"):
        evaluation.save_thresholds(copy.name, {"7": 0.2})
    assert evaluation.load_thresholds(copy.name) == {"7": 0.9, "1": 0.5}


def test_predictions_are_never_written_into_labels(copy, tmp_path):
    """ground_truth, another human label field and a non-label field are refused, naming the field and the fix."""
    labels = copy.values("ground_truth.label")
    copy.clone_sample_field("ground_truth", "reviewed_labels")
    table = one_hot_table(copy)
    for field, message in (("ground_truth", "holds the labels"), ("reviewed_labels", "labels no prediction run"),
                           ("split", "holds other data")):
        with pytest.raises(ValueError, match=f"'{field}'.*{message}") as info:
            import_predictions(copy, table, pred_field=field)
        assert "replace_labels_from_predictions" in str(info.value) or field == "split"
    with pytest.raises(ValueError, match="'ground_truth'.*replace_labels_from_predictions"):
        compute_predictions(copy, pred_field="ground_truth", compute_missing=False)
    assert copy.values("ground_truth.label") == labels == copy.values("reviewed_labels.label")
    import_predictions(copy, table)
    import_predictions(copy, table)  # a prediction field written by a prediction run may be written again
    assert copy.values("predictions.label") == labels


def test_replace_labels_from_predictions_is_audited_and_undoable(copy):
    import sda2
    from sda2.curation import audit

    truth = copy.values("ground_truth.label")
    table = one_hot_table(copy, key="id")
    flip = np.arange(len(table)) % 50 == 0  # 1 in 50 predicted as another class, half of those unsure
    P = table[CLASSES].to_numpy().copy()
    for i in np.flatnonzero(flip):
        P[i] = 0.0
        P[i, (CLASSES.index(truth[i]) + 1) % 10] = 0.9 if i % 100 == 0 else 0.6
        P[i, CLASSES.index(truth[i])] = 1 - P[i].sum()
    import_predictions(copy, pd.DataFrame(P, columns=CLASSES).assign(id=table["id"]))
    predicted = copy.values("predictions.label")
    sure = [i for i in np.flatnonzero(flip) if i % 100 == 0]
    with pytest.raises(ValueError, match="annotator"):
        sda2.replace_labels_from_predictions(copy, " ")
    result = sda2.replace_labels_from_predictions(copy, "Alice", min_confidence=0.8, reason="trust the model")
    assert len(result) == len(sure) and not result.conflicts
    now = copy.values("ground_truth.label")
    assert [i for i, (a, b) in enumerate(zip(now, truth)) if a != b] == sure
    assert all(now[i] == predicted[i] for i in sure)
    log = audit.audit_log(copy)
    assert set(log["batch_id"]) == {result.batch_id} and set(log["annotator"]) == {"Alice"}
    assert sorted(log["old"]) == sorted(truth[i] for i in sure)
    sda2.undo_last(copy, "alice")  # the same person, however typed
    assert copy.values("ground_truth.label") == truth


def test_compute_without_embeddings_names_the_fix(copy):
    with pytest.raises(KeyError, match="no embeddings yet"):
        compute_predictions(copy, compute_missing=False)
    with pytest.raises(evaluation.NoPredictions, match="compute_predictions"):
        evaluation.evaluate(copy.name)
    assert not evaluation.has_predictions(copy.name)


def one_hot_table(dataset, key="filepath", sharp=0.9):
    """Probabilities that put ``sharp`` on the true class: a perfect predictor, keyed by ``key``."""
    truth = dataset.values("ground_truth.label")
    P = np.full((len(truth), 10), (1 - sharp) / 9)
    P[np.arange(len(truth)), [CLASSES.index(t) for t in truth]] = sharp
    table = pd.DataFrame(P, columns=CLASSES)
    table.insert(0, key, dataset.values(key))
    return table


def test_import_csv_by_filepath(copy, tmp_path):
    path = tmp_path / "preds.csv"
    one_hot_table(copy).sample(frac=1, random_state=0).to_csv(path, index=False)  # any row order
    report = import_predictions(copy.name, path)
    assert report.samples == len(copy) and report.accuracy == 1.0
    assert copy.values("predictions.label") == copy.values("ground_truth.label")
    np.testing.assert_allclose(copy.values("predictions.confidence"), 0.9, atol=1e-6)
    assert evaluation.evaluate(copy.name).accuracy == 1.0


def test_import_parquet_by_id_covers_a_subset(copy, tmp_path):
    path = tmp_path / "preds.parquet"
    one_hot_table(copy, key="id").head(100).to_parquet(path)
    report = import_predictions(copy, path)
    assert report.samples == 100
    assert copy.exists("predictions").count() == 100
    assert len(evaluation.evaluate(copy.name).evaluated) == 100


def test_import_npy_logits_with_ids(copy, tmp_path):
    table = one_hot_table(copy, key="id")
    logits = np.log(table[CLASSES].to_numpy()) + 3.0  # shifted: softmax gives the same probabilities
    np.save(tmp_path / "logits.npy", logits)
    with pytest.raises(ValueError, match="do not sum to 1|outside"):
        import_predictions(copy, tmp_path / "logits.npy", ids=table["id"])
    import_predictions(copy, tmp_path / "logits.npy", ids=table["id"], logits=True)
    np.testing.assert_allclose(copy.values("predictions.confidence"), 0.9, atol=1e-5)


@pytest.mark.parametrize("make, kwargs, message", [
    (lambda t: t.assign(filepath="/elsewhere" + t["filepath"]), {}, "not in"),
    (lambda t: pd.concat([t, t.head(2)]), {}, "more than once"),
    (lambda t: t.drop(columns=["9"]), {}, "10 classes"),
    (lambda t: t.rename(columns={"9": "nine"}), {}, "not a class"),
    (lambda t: t.assign(**{"3": np.where(t.index == 5, np.nan, t["3"])}), {}, "NaN"),
    (lambda t: t.assign(**{"3": t["3"] + 0.05}), {}, "do not sum to 1"),
    (lambda t: t.drop(columns=["filepath"]), {}, "no id column"),
    (lambda t: t.drop(columns=["filepath"]).to_numpy(), {}, "no sample ids"),
    (lambda t: t.drop(columns=["filepath", "9"]).to_numpy(), {"ids": "filepath"}, "has shape|10 classes"),
    (lambda t: t.drop(columns=["filepath"]).to_numpy(), {"ids": ["x"]}, "aligned one to one"),
])
def test_import_errors_name_the_problem_and_change_nothing(predicted, make, kwargs, message):
    ds, _ = predicted
    before = ds.values("predictions.label")
    table = one_hot_table(ds)
    source = make(table)
    if kwargs.get("ids") == "filepath":
        kwargs = {"ids": table["filepath"]}
    with pytest.raises(ValueError, match=message):
        import_predictions(ds.name, source, **kwargs)
    assert store.open_dataset(ds.name).values("predictions.label") == before


def test_import_file_errors(predicted, tmp_path):
    ds, _ = predicted
    with pytest.raises(FileNotFoundError, match="not found"):
        import_predictions(ds.name, tmp_path / "missing.csv")
    (tmp_path / "p.json").write_text("{}")
    with pytest.raises(ValueError, match=r"\.csv, \.parquet or \.npy"):
        import_predictions(ds.name, tmp_path / "p.json")


TAG_OF = {"even": set("02468"), "odd": set("13579"), "big": set("56789"), "round": set("0689")}


def make_multilabel(digits, name: str, n: int = 600):
    """A multi-label dataset of ``n`` digit images tagged even/odd, big, round, with pixel embeddings."""
    rows = list(zip(digits.values("filepath"), digits.values("ground_truth.label")))[:n]
    records = [Record(p, [t for t, digits_ in TAG_OF.items() if d in digits_], None) for p, d in rows]
    write_dataset(name, records, "multilabel", classes=list(TAG_OF))
    ds = store.open_dataset(name)
    save_pixel_embeddings(ds)
    return ds


def test_multilabel_predict_and_evaluate(digits, dataset_name):
    """Tags derived from the digit (even/odd, big, round): out-of-fold one-vs-rest, evaluated against sklearn."""
    ds = make_multilabel(digits, dataset_name)
    tag_of = TAG_OF
    report = compute_predictions(dataset_name, folds=3)
    assert isinstance(ds.first()["predictions"], fo.Classifications)
    ev = evaluation.evaluate(dataset_name)
    truth = ds.values("ground_truth.classifications.label")
    assert len(truth) == len(ds) == 600
    pred = [[c.label for c in (p.classifications if p else [])] for p in ds.values("predictions")]
    mlb = MultiLabelBinarizer(classes=list(tag_of))
    Y, P = mlb.fit_transform(truth), mlb.transform(pred)
    assert ev.kind == "multilabel" and ev.accuracy == pytest.approx(accuracy_score(Y, P)) == report.accuracy
    assert ev.summary["hamming_loss"] == pytest.approx(hamming_loss(Y, P)) and ev.summary["hamming_loss"] < 0.2
    np.testing.assert_allclose(ev.per_class["f1"], precision_recall_fscore_support(Y, P, zero_division=0)[2])
    rates = evaluation.failure_by(dataset_name, "ground_truth")
    assert set(rates["category"]) <= set(tag_of) | {"(none)"}
