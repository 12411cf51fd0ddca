"""Evaluation tables checked against sklearn.metrics and hand-computed answers."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, hamming_loss,
                             precision_recall_fscore_support)
from sklearn.preprocessing import MultiLabelBinarizer

from sda2.analysis import evaluation as ev

CLASSES = ["cat", "dog", "fox", "owl"]  # "owl" never occurs: all its metrics are 0


@pytest.fixture
def labels():
    rng = np.random.default_rng(0)
    y_true = rng.choice(CLASSES[:3], size=300, p=[0.5, 0.3, 0.2])
    y_pred = np.where(rng.random(300) < 0.75, y_true, rng.choice(CLASSES[:3], size=300))
    return y_true, y_pred


def test_accuracy_and_per_class_table_match_sklearn(labels):
    y_true, y_pred = labels
    assert ev.accuracy(y_true, y_pred) == pytest.approx(accuracy_score(y_true, y_pred))
    table = ev.per_class_table(y_true, y_pred, CLASSES)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=CLASSES, zero_division=0)
    assert list(table.index) == CLASSES
    np.testing.assert_allclose(table[["precision", "recall", "f1"]].to_numpy(), np.c_[p, r, f])
    assert table["support"].tolist() == s.tolist()
    assert table["predicted"].tolist() == [int((y_pred == c).sum()) for c in CLASSES]


def test_per_class_known_answer():
    table = ev.per_class_table(["a", "a", "b", "b"], ["a", "b", "b", "b"], ["a", "b"])
    assert table.loc["a"].tolist() == [1.0, 0.5, pytest.approx(2 / 3), 2, 1]
    assert table.loc["b"].tolist() == [pytest.approx(2 / 3), 1.0, 0.8, 2, 3]


def test_confusion_matches_sklearn_and_confusions_read_as_words(labels):
    y_true, y_pred = labels
    cm = ev.confusion(y_true, y_pred, CLASSES)
    np.testing.assert_array_equal(cm.to_numpy(), confusion_matrix(y_true, y_pred, labels=CLASSES))
    top = ev.top_confusions(cm, n=3)
    off = cm.to_numpy().copy()
    np.fill_diagonal(off, 0)
    assert top["samples"].tolist() == sorted(off.ravel(), reverse=True)[:3]
    t, p = top.loc[0, "true"], top.loc[0, "predicted"]
    assert top.loc[0, "text"] == f"{t} predicted as {p}: {cm.loc[t, p]} samples"


def test_top_confusions_known_answer():
    cm = ev.confusion(["7"] * 30 + ["1"] * 5, ["1"] * 23 + ["7"] * 7 + ["7"] + ["1"] * 4, ["1", "7"])
    top = ev.top_confusions(cm)
    assert top["text"].tolist() == ["7 predicted as 1: 23 samples", "1 predicted as 7: 1 sample"]
    assert top.loc[0, "share_of_true"] == pytest.approx(23 / 30)
    assert ev.top_confusions(ev.confusion(["a"], ["a"], ["a"])).empty


def test_multilabel_matches_sklearn():
    rng = np.random.default_rng(2)
    tags = ["dark", "blurry", "outdoor"]
    true_sets = [[t for t in tags if rng.random() < 0.4] for _ in range(200)]
    pred_sets = [[t for t in tags if (t in s) != (rng.random() < 0.15)] for s in true_sets]
    mlb = MultiLabelBinarizer(classes=tags)
    Y, P = mlb.fit_transform(true_sets), mlb.transform(pred_sets)
    table = ev.multilabel_table(true_sets, pred_sets, tags)
    p, r, f, s = precision_recall_fscore_support(Y, P, zero_division=0)
    np.testing.assert_allclose(table[["precision", "recall", "f1"]].to_numpy(), np.c_[p, r, f])
    assert table["support"].tolist() == s.tolist() and list(table.index) == tags
    summary = ev.multilabel_summary(true_sets, pred_sets, tags)
    assert summary["subset_accuracy"] == pytest.approx(accuracy_score(Y, P))
    assert summary["hamming_loss"] == pytest.approx(hamming_loss(Y, P))
    assert summary["micro_f1"] == pytest.approx(f1_score(Y, P, average="micro"))
    assert summary["macro_f1"] == pytest.approx(f1_score(Y, P, average="macro"))


def test_multilabel_known_answer_and_unknown_tag():
    summary = ev.multilabel_summary([["a", "b"], ["a"], []], [["a"], ["a"], []], ["a", "b"])
    assert summary["subset_accuracy"] == pytest.approx(2 / 3)
    assert summary["hamming_loss"] == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match=r"Tags \['z'\] are not in the tag list"):
        ev.multilabel_table([["a"]], [["z"]], ["a"])


def test_failure_rates_counts_wilson_interval_and_order():
    correct = [True] * 10 + [False] * 5 + [True] * 5 + [True] * 3
    cats = ["day"] * 10 + ["night"] * 10 + [None, np.nan, None]
    rates = ev.failure_rates(correct, cats).set_index("category")
    assert rates.index.tolist() == ["night", "day", "(none)"]  # worst first, then by size
    assert rates.loc["night", ["samples", "errors"]].tolist() == [10, 5]
    # Wilson 95% interval, hand-computed: 5/10 -> 0.2366..0.7634; 0/10 -> 0..z²/(n+z²)
    assert rates.loc["night", "ci_low"] == pytest.approx(0.2366, abs=1e-4)
    assert rates.loc["night", "ci_high"] == pytest.approx(0.7634, abs=1e-4)
    z2 = 1.959964 ** 2
    assert rates.loc["day", "ci_low"] == pytest.approx(0, abs=1e-12)
    assert rates.loc["day", "ci_high"] == pytest.approx(z2 / (10 + z2), abs=1e-5)


def test_failure_rates_with_tag_lists():
    rates = ev.failure_rates([False, True, True, False], [["dark", "blurry"], ["dark"], [], ["blurry"]])
    got = rates.set_index("category")[["samples", "errors"]].to_dict("index")
    assert got == {"blurry": {"samples": 2, "errors": 2}, "dark": {"samples": 2, "errors": 1},
                   "(none)": {"samples": 1, "errors": 0}}
    with pytest.raises(ValueError, match="aligned"):
        ev.failure_rates([True], ["a", "b"])
    assert isinstance(rates, pd.DataFrame)
