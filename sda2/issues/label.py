"""Label issues: samples whose given label an out-of-fold model doubts (wraps ``sda2.compute.label_issues``).

``label_score`` is the label quality (0 to 1, lower = more likely wrong); the Label errors page's fields
``label_quality`` and ``suggested_label`` (and ``label_hints`` for detections) are written alongside.
"""

from __future__ import annotations

import numpy as np

from sda2.compute.label_issues import detect_label_issues
from sda2.issues.base import IssueCheck, IssueContext, IssueResult
from sda2.issues.registry import register


class LabelCheck(IssueCheck):
    """Suspected label errors, from the given labels and out-of-fold predicted probabilities."""

    name = "label"
    needs = ("labels", "predictions")
    description = "Given label likely wrong: an out-of-fold model confidently predicts another class."
    extra_fields = ("label_quality", "suggested_label", "label_hints")

    def find(self, context: IssueContext) -> IssueResult:
        """Score every labelled, predicted sample; unscored samples get NaN and no flag."""
        found = detect_label_issues(context.dataset, context.label_field, context.pred_field, write=False,
                                    progress=context.report or context.progress, **context.options_for(self.name))
        aligned = found.reindex(context.ids)
        quality = aligned["label_quality"].to_numpy(dtype=np.float64)
        extra = {"label_quality": quality, "suggested_label": aligned["suggested_label"].to_numpy(dtype=object)}
        if "label_hints" in aligned:
            extra["label_hints"] = aligned["label_hints"].to_numpy(dtype=object)
        flags = aligned["is_label_issue"].fillna(False).to_numpy(dtype=bool)
        return self.result(context, flags, quality, {"label_field": context.label_field,
                                                     "pred_field": context.pred_field}, **extra)


register(LabelCheck)
