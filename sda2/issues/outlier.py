"""Outliers: samples far from all their nearest neighbours (the duplicate detector's kNN pass, shown at last).

``outlier_distance`` (``sda2.compute.duplicates``) is the mean cosine distance to the k nearest
neighbours; ``outlier_score`` maps it to (0, 1] as exp(-ln 2 * d / median d): 0.5 for a typical
sample, near 0 for the most isolated. The top ``outlier_fraction`` (default 1 %) is flagged.
"""

from __future__ import annotations

import numpy as np

from sda2.issues.base import IssueCheck, IssueContext, IssueResult
from sda2.issues.near_duplicate import duplicate_frame
from sda2.issues.registry import register


class OutlierCheck(IssueCheck):
    """The most isolated samples in image-fingerprint (or embedding) space."""

    name = "outlier"
    needs = ("images",)
    description = "Unlike the rest of the dataset: far from all its nearest neighbours."

    def find(self, context: IssueContext) -> IssueResult:
        """Score isolation; flag the top fraction (``outlier_fraction``, default 1 %)."""
        frame = duplicate_frame(context).reindex(context.ids)
        distance = frame["outlier_distance"].to_numpy(dtype=np.float64)
        typical = np.nanmedian(distance) if np.isfinite(distance).any() else np.nan
        score = np.exp(-np.log(2) * distance / typical) if typical and typical > 0 else np.full(len(distance), np.nan)
        flags = frame["is_outlier"].fillna(False).to_numpy(dtype=bool)
        return self.result(context, flags, np.clip(score, 0, 1), {"median_distance": float(typical)})


register(OutlierCheck)
