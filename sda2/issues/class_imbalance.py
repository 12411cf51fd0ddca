"""Class imbalance: samples of classes far rarer than the largest (the Overview's verdict, per sample).

``class_imbalance_score`` is the size of the sample's class over the size of the largest class (for
multi-label and detection labels, its rarest class); a sample is flagged when that is below 1/10, the
ratio ``sda2.analysis.distribution`` calls a severe imbalance. Unlabelled samples are not scored.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2 import store
from sda2.analysis.distribution import imbalance
from sda2.issues.base import IssueCheck, IssueContext, IssueResult
from sda2.issues.registry import register

SEVERE = 0.1  # a class at most a tenth the size of the largest: sda2.analysis.distribution's "severe"


def _as_list(value) -> list:
    if value is None:
        return []
    return [v for v in value if v is not None] if isinstance(value, (list, tuple)) else [value]


class ClassImbalanceCheck(IssueCheck):
    """Samples whose (rarest) class is severely under-represented."""

    name = "class_imbalance"
    needs = ("labels",)
    description = "Its class has at most a tenth as many samples as the largest class."

    def find(self, context: IssueContext) -> IssueResult:
        """Count classes (a sample counts once per class), score each sample by its rarest class."""
        threshold = float(context.options_for(self.name).get("threshold", SEVERE))
        labels = [_as_list(v) for v in context.dataset.values(store.label_path(context.dataset, context.label_field))]
        counts = pd.Series([c for sample in labels for c in set(sample)], dtype=object).value_counts()
        largest = int(counts.max()) if len(counts) else 0
        share = {c: n / largest for c, n in counts.items()}
        score = np.array([min(share[c] for c in sample) if sample else np.nan for sample in labels])
        verdict = imbalance(counts) if len(counts) else None
        summary = {"classes": len(counts), "ratio": None if verdict is None else verdict.ratio,
                   "message": "No labels yet." if verdict is None else verdict.message,
                   "rare_classes": sorted(str(c) for c, s in share.items() if s < threshold)}
        return self.result(context, score < threshold, score, summary)


register(ClassImbalanceCheck)
