"""Confidence thresholds per class: what raising the bar costs (coverage, recall) and buys (precision).

For class c at threshold t, a sample is *accepted* when it is predicted as c with confidence ≥ t.
precision = accepted samples truly c / accepted; recall = accepted samples truly c / samples truly c;
coverage = accepted / samples predicted as c (the share of c predictions one would keep).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


def _arrays(confidence, y_pred, y_true):
    confidence = np.asarray(confidence, dtype=float)
    y_pred, y_true = np.asarray(y_pred, dtype=object), np.asarray(y_true, dtype=object)
    if not len(confidence) == len(y_pred) == len(y_true):
        raise ValueError(f"confidence ({len(confidence)}), predictions ({len(y_pred)}) and labels ({len(y_true)}) "
                         "must be aligned one per sample.")
    if np.isnan(confidence).any():
        raise ValueError(f"{int(np.isnan(confidence).sum())} confidences are NaN. Fix: recompute the predictions.")
    return confidence, y_pred, y_true


def threshold_curve(confidence, y_pred, y_true, cls: str) -> pd.DataFrame:
    """Precision, recall, coverage and accepted/rejected counts of class ``cls`` at every distinct threshold.

    One row per distinct confidence among samples predicted as ``cls`` (thresholds ascending); each row
    describes accepting the samples with confidence ≥ that threshold.
    """
    confidence, y_pred, y_true = _arrays(confidence, y_pred, y_true)
    mine = y_pred == cls
    conf = confidence[mine]
    hit = (y_true[mine] == cls)
    order = np.argsort(-conf, kind="stable")
    conf, hit = conf[order], hit[order]
    accepted_at = np.arange(1, len(conf) + 1)
    correct_at = np.cumsum(hit)
    last = np.r_[conf[1:] != conf[:-1], True] if len(conf) else np.zeros(0, dtype=bool)  # end of each tie group
    n_true = int((y_true == cls).sum())
    accepted = accepted_at[last]
    correct = correct_at[last]
    curve = pd.DataFrame({
        "threshold": conf[last],
        "precision": correct / np.maximum(accepted, 1),
        "recall": correct / n_true if n_true else np.zeros(len(accepted)),
        "coverage": accepted / max(len(conf), 1),
        "accepted": accepted,
        "rejected": len(conf) - accepted,
        "correct": correct,
    })
    return curve.iloc[::-1].reset_index(drop=True)


@dataclass(frozen=True)
class ThresholdChoice:
    """The lowest threshold of a class that reaches a target precision, and what it keeps and drops."""

    cls: str
    target_precision: float
    threshold: float | None  # None: no threshold reaches the target
    precision: float
    recall: float
    coverage: float
    accepted: int
    rejected: int

    def summary(self) -> str:
        """The choice in plain words."""
        if self.threshold is None:
            return (f"{self.cls}: no threshold reaches precision {self.target_precision:.0%}; "
                    f"all {self.rejected:,} predictions of class {self.cls} would be rejected.")
        return (f"{self.cls}: keep predictions with confidence ≥ {self.threshold:.3f} → precision "
                f"{self.precision:.1%}, recall {self.recall:.1%}; {self.accepted:,} accepted, "
                f"{self.rejected:,} rejected ({self.coverage:.1%} of the predictions of class {self.cls} kept).")


def lowest_threshold(confidence, y_pred, y_true, cls: str, target_precision: float) -> ThresholdChoice:
    """The lowest threshold at which the accepted predictions of ``cls`` reach ``target_precision``."""
    if not 0 < target_precision <= 1:
        raise ValueError(f"target_precision must be in (0, 1]; got {target_precision}.")
    curve = threshold_curve(confidence, y_pred, y_true, cls)
    ok = curve[curve["precision"] >= target_precision - 1e-12]
    if ok.empty:
        n = int((np.asarray(y_pred, dtype=object) == cls).sum())
        return ThresholdChoice(cls, target_precision, None, float("nan"), 0.0, 0.0, 0, n)
    row = ok.iloc[0]
    return ThresholdChoice(cls, target_precision, float(row["threshold"]), float(row["precision"]),
                           float(row["recall"]), float(row["coverage"]), int(row["accepted"]), int(row["rejected"]))


def thresholds_for_precision(confidence, y_pred, y_true, classes: list[str], target_precision: float) -> pd.DataFrame:
    """One row per class: the lowest threshold reaching ``target_precision`` and its counts."""
    rows = [lowest_threshold(confidence, y_pred, y_true, c, target_precision) for c in classes]
    frame = pd.DataFrame([r.__dict__ for r in rows]).drop(columns="target_precision")
    return frame.rename(columns={"cls": "class"}).set_index("class")
