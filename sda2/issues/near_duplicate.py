"""Near and exact duplicates (wraps ``sda2.compute.duplicates.detect_duplicates``).

``is_near_duplicate_issue``: a copy of another sample that is kept (every group member but its
representative). ``near_duplicate_score``: 1 - similarity to the closest group member (1 outside groups).
The Duplicates page's fields (``duplicate_group``, ``is_duplicate``, ``duplicate_similarity``,
``is_exact_duplicate``, ``crosses_split``) are written alongside. Outliers come from the same pass
(``sda2.issues.outlier``): :func:`duplicate_frame` computes it once per ``find_issues`` call.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2.compute.duplicates import detect_duplicates
from sda2.issues.base import IssueCheck, IssueContext, IssueResult
from sda2.issues.registry import register

PAGE_FIELDS = ("duplicate_group", "is_duplicate", "duplicate_similarity", "is_exact_duplicate", "crosses_split")


def duplicate_frame(context: IssueContext) -> pd.DataFrame:
    """detect_duplicates' frame (not written), once per context: options of "near_duplicate" and "outlier"."""
    options = {**context.options_for("near_duplicate"), **context.options_for("outlier")}
    return context.shared("duplicates", lambda: detect_duplicates(context.dataset, write=False,
                                                                  progress=context.progress, **options))


class NearDuplicateCheck(IssueCheck):
    """Exact copies (same bytes) and near copies (verified on the images)."""

    name = "near_duplicate"
    needs = ("images",)
    description = "A copy (exact or near) of another sample: keep one, exclude the rest."
    extra_fields = PAGE_FIELDS

    def find(self, context: IssueContext) -> IssueResult:
        """Group copies; flag every member but the representative."""
        frame = duplicate_frame(context).reindex(context.ids)
        group = frame["duplicate_group"].to_numpy()
        similarity = frame["duplicate_similarity"].to_numpy(dtype=np.float64)
        duplicate = frame["is_duplicate"].to_numpy(dtype=bool)
        closest = np.where(duplicate, similarity, np.nan)
        in_group = group >= 0
        if in_group.any():  # a representative is as close to its group as its closest member
            best = pd.Series(closest[in_group]).groupby(group[in_group]).max()
            closest[in_group & ~duplicate] = best.reindex(group[in_group & ~duplicate]).to_numpy()
        score = np.where(in_group, 1 - np.nan_to_num(closest, nan=0.0), 1.0)
        score = np.clip(score, 0, 1)
        score[frame["duplicate_group"].isna().to_numpy()] = np.nan  # left out (unreadable image)
        extra = {f: frame[f].to_numpy() for f in PAGE_FIELDS}
        summary = {"groups": int(len(np.unique(group[in_group]))), "exact": int(frame["is_exact_duplicate"].sum()),
                   "crosses_split": int(frame.loc[frame["crosses_split"], "duplicate_group"].nunique()),
                   "embeddings": str(frame.attrs.get("embeddings"))}
        return self.result(context, duplicate, score, summary, **extra)


register(NearDuplicateCheck)
