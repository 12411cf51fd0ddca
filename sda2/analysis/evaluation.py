"""Evaluation tables: accuracy, per-class metrics, confusions in words, multi-label metrics, failure rates.

Arrays and lists in, pandas DataFrames out. The metrics are scikit-learn's; this module lays them out
the way a person reads them (class names as the index, counts beside rates, confusions as sentences).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, confusion_matrix, hamming_loss, precision_recall_fscore_support
from sklearn.preprocessing import MultiLabelBinarizer
from statsmodels.stats.proportion import proportion_confint

NONE_CATEGORY = "(none)"


def accuracy(y_true, y_pred) -> float:
    """Fraction of samples whose predicted class equals the true class."""
    return float(accuracy_score(np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)))


def per_class_table(y_true, y_pred, classes: list[str]) -> pd.DataFrame:
    """Precision, recall, F1, support (true count) and predicted count per class, indexed by class name."""
    y_true, y_pred = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(classes), zero_division=0)
    predicted = pd.Series(y_pred).value_counts().reindex(list(classes), fill_value=0).to_numpy()
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support,
                         "predicted": predicted}, index=pd.Index(list(classes), name="class"))


def confusion(y_true, y_pred, classes: list[str]) -> pd.DataFrame:
    """Confusion counts: rows are true classes, columns predicted classes, in ``classes`` order."""
    cm = confusion_matrix(np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object), labels=list(classes))
    return pd.DataFrame(cm, index=pd.Index(list(classes), name="true"),
                        columns=pd.Index(list(classes), name="predicted"))


def top_confusions(cm: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` largest off-diagonal cells of a confusion table, with a sentence each, largest first."""
    cells = cm.stack().rename("samples").reset_index()
    cells = cells[(cells["true"] != cells["predicted"]) & (cells["samples"] > 0)]
    cells = cells.sort_values(["samples", "true", "predicted"], ascending=[False, True, True], kind="stable").head(n)
    totals = cm.sum(axis=1)
    cells["share_of_true"] = cells["samples"] / cells["true"].map(totals).to_numpy()
    cells["text"] = [f"{t} predicted as {p}: {s:,} sample{'s' if s != 1 else ''}"
                     for t, p, s in zip(cells["true"], cells["predicted"], cells["samples"])]
    return cells.reset_index(drop=True)


def _binarize(true_sets, pred_sets, tags: list[str] | None):
    true_sets = [list(t or []) for t in true_sets]
    pred_sets = [list(p or []) for p in pred_sets]
    if len(true_sets) != len(pred_sets):
        raise ValueError(f"{len(true_sets)} true tag sets but {len(pred_sets)} predicted: they must be aligned.")
    if tags is None:
        tags = sorted({t for s in true_sets + pred_sets for t in s})
    mlb = MultiLabelBinarizer(classes=list(tags))
    unknown = sorted({t for s in true_sets + pred_sets for t in s} - set(tags))
    if unknown:
        raise ValueError(f"Tags {unknown} are not in the tag list {list(tags)}. Fix: add them to the tag list.")
    return mlb.fit_transform(true_sets), mlb.transform(pred_sets), list(tags)


def multilabel_table(true_sets, pred_sets, tags: list[str] | None = None) -> pd.DataFrame:
    """Per-tag precision, recall, F1, support (samples carrying the tag) and predicted count."""
    Y, P, tags = _binarize(true_sets, pred_sets, tags)
    precision, recall, f1, support = precision_recall_fscore_support(Y, P, zero_division=0)
    return pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support,
                         "predicted": P.sum(axis=0)}, index=pd.Index(tags, name="tag"))


def multilabel_summary(true_sets, pred_sets, tags: list[str] | None = None) -> dict[str, float]:
    """Subset accuracy (exact tag set), Hamming loss (wrong tag decisions per tag), micro and macro F1."""
    Y, P, _ = _binarize(true_sets, pred_sets, tags)
    micro = precision_recall_fscore_support(Y, P, average="micro", zero_division=0)[2]
    macro = precision_recall_fscore_support(Y, P, average="macro", zero_division=0)[2]
    return {"subset_accuracy": float(accuracy_score(Y, P)), "hamming_loss": float(hamming_loss(Y, P)),
            "micro_f1": float(micro), "macro_f1": float(macro), "samples": int(len(Y))}


def failure_rates(correct, categories, confidence: float = 0.95) -> pd.DataFrame:
    """Error rate per category with sample counts and a Wilson interval, highest error rate first.

    ``categories`` holds one value per sample, or a list per sample (e.g. tags: a sample counts in each of
    its categories). Missing values and empty lists fall in the "(none)" category.
    """
    correct = np.asarray(correct, dtype=bool)
    cats = pd.Series(list(categories), dtype=object)
    if len(cats) != len(correct):
        raise ValueError(f"{len(cats)} category values but {len(correct)} outcomes: they must be aligned.")
    cats = cats.map(lambda v: (list(v) or [NONE_CATEGORY]) if isinstance(v, (list, tuple, set, np.ndarray))
                    else NONE_CATEGORY if v is None or (isinstance(v, float) and np.isnan(v)) else v)
    frame = pd.DataFrame({"category": cats, "error": ~correct}).explode("category")
    frame["category"] = frame["category"].astype(str)
    grouped = frame.groupby("category", sort=False)["error"].agg(samples="size", errors="sum").reset_index()
    grouped["errors"] = grouped["errors"].astype(int)
    grouped["error_rate"] = grouped["errors"] / grouped["samples"]
    low, high = proportion_confint(grouped["errors"], grouped["samples"], alpha=1 - confidence, method="wilson")
    grouped["ci_low"], grouped["ci_high"] = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
    return grouped.sort_values(["error_rate", "samples"], ascending=[False, False], kind="stable").reset_index(drop=True)
