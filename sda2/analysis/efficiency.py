"""How fast and how well each labeler works: labels per hour, seconds per label, rework, agreement, over time.

Input is the annotation records (one row per human answer: sample_id, annotator, label, seconds,
created_at, changed_by_review). Time on task is the sum of the recorded seconds, each label counted at
most ``idle_cap_s`` (a label left open during a coffee break would otherwise swamp an hour's work);
labels per hour = labels / time on task. Medians are of the raw seconds, so they need no cap.
Agreement is the share of a labeler's answers that match the leave-one-out majority of the other
labelers (:func:`sda2.analysis.agreement.leave_one_out`), on the samples where such a majority exists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2.analysis.agreement import TAG_SEP, leave_one_out, ratings_matrix

IDLE_CAP_S = 300.0
LABELS_PER_BUCKET = 25  # bucket size when the labels span too short a time for hourly buckets
_REQUIRED = ("sample_id", "annotator", "label", "seconds", "created_at")


def _check(annotations: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in annotations.columns]
    if missing:
        raise ValueError(f"Annotation records lack the column(s) {missing}. Fix: pass the frame of "
                         "sda2.curation.annotations.annotations_frame.")
    frame = annotations.copy()
    frame["seconds"] = pd.to_numeric(frame["seconds"], errors="coerce")
    if "changed_by_review" not in frame.columns:
        frame["changed_by_review"] = False
    frame["changed_by_review"] = frame["changed_by_review"].fillna(False).astype(bool)
    return frame


def with_agreement(annotations: pd.DataFrame) -> pd.DataFrame:
    """The records with an ``agrees`` column: 1.0 / 0.0 when the (sample, labeler)'s latest label matches / differs
    from the leave-one-out majority, NaN when there is none (single rating, tie) or the answer is not the latest."""
    frame = _check(annotations).sort_values("created_at", kind="stable").reset_index(drop=True)
    labeled = frame["label"].notna()
    latest = labeled & ~frame[labeled].duplicated(["sample_id", "annotator"], keep="last").reindex(frame.index,
                                                                                                  fill_value=True)
    if not latest.any():
        return frame.assign(agrees=np.nan)
    loo = leave_one_out(ratings_matrix(frame))[["sample_id", "annotator", "agrees"]]
    out = frame.merge(loo, on=["sample_id", "annotator"], how="left")
    out["agrees"] = pd.to_numeric(out["agrees"], errors="coerce").where(latest.to_numpy())
    return out


def _summary(group: pd.DataFrame, idle_cap_s: float) -> pd.Series:
    seconds = group["seconds"].dropna()
    hours = float(seconds.clip(upper=idle_cap_s).sum()) / 3600
    agrees = group["agrees"].dropna() if "agrees" in group else pd.Series(dtype=float)
    return pd.Series({
        "labels": len(group), "hours": hours, "labels_per_hour": len(seconds) / hours if hours > 0 else np.nan,
        "median_seconds": float(seconds.median()) if len(seconds) else np.nan,
        "rework_share": float(group["changed_by_review"].mean()) if len(group) else np.nan,
        "agreement": float(agrees.mean()) if len(agrees) else np.nan, "compared": len(agrees),
    })


SUMMARY_COLUMNS = ["labels", "hours", "labels_per_hour", "median_seconds", "rework_share", "agreement", "compared"]


def labeler_efficiency(annotations: pd.DataFrame, idle_cap_s: float = IDLE_CAP_S) -> pd.DataFrame:
    """Per labeler: labels, hours on task, labels_per_hour, median_seconds, rework_share (changed by review),
    agreement with the leave-one-out consensus and how many answers it was compared on, first and last label."""
    frame = with_agreement(annotations)
    if frame.empty:
        return pd.DataFrame(columns=["annotator", *SUMMARY_COLUMNS, "first", "last"])
    rows = frame.groupby("annotator", sort=True)[frame.columns.tolist()].apply(_summary, idle_cap_s=idle_cap_s)
    span = frame.groupby("annotator")["created_at"].agg(first="min", last="max")
    return rows.join(span).reset_index().astype({"labels": int, "compared": int})


def auto_bucket(created_at: pd.Series) -> str | int:
    """The bucket that shows change over the labels' time span: "D" (≥ 2 days), "h" (≥ 2 hours), else a count
    of labels per labeler (:data:`LABELS_PER_BUCKET`)."""
    times = pd.to_datetime(created_at)
    span = (times.max() - times.min()) if len(times) else pd.Timedelta(0)
    if span >= pd.Timedelta(days=2):
        return "D"
    if span >= pd.Timedelta(hours=2):
        return "h"
    return LABELS_PER_BUCKET


def efficiency_over_time(annotations: pd.DataFrame, every: str | int | None = None,
                         idle_cap_s: float = IDLE_CAP_S) -> pd.DataFrame:
    """Per labeler and bucket the same figures as :func:`labeler_efficiency`. ``every`` is a pandas frequency
    ("D", "h", "W"…: calendar buckets, column ``period`` = bucket start) or an int n (each labeler's labels in
    order, n at a time: ``period`` = number of the first label in the bucket); None picks with :func:`auto_bucket`."""
    frame = with_agreement(annotations)
    if frame.empty:
        return pd.DataFrame(columns=["annotator", "period", *SUMMARY_COLUMNS])
    every = auto_bucket(frame["created_at"]) if every is None else every
    frame = frame.sort_values("created_at", kind="stable")
    if isinstance(every, (int, np.integer)):
        if every < 1:
            raise ValueError(f"every={every}: a bucket needs at least one label. Fix: pass a positive count.")
        frame["period"] = frame.groupby("annotator").cumcount() // every * every + 1
    else:
        frame["period"] = pd.to_datetime(frame["created_at"]).dt.floor(every)
    grouped = frame.groupby(["annotator", "period"], sort=True)[frame.columns.tolist()]
    return grouped.apply(_summary, idle_cap_s=idle_cap_s).reset_index().astype({"labels": int, "compared": int})


def class_times(annotations: pd.DataFrame, multilabel: bool = False) -> pd.DataFrame:
    """Per class given (per tag when ``multilabel``): labels, median_seconds and p90_seconds, slowest first."""
    frame = _check(annotations)
    if multilabel:
        frame = frame.assign(label=frame["label"].astype(str).str.split(TAG_SEP, regex=False)).explode("label")
        frame = frame[frame["label"] != ""]
    if frame.empty:
        return pd.DataFrame(columns=["label", "labels", "median_seconds", "p90_seconds"])
    out = frame.groupby("label")["seconds"].agg(labels="size", median_seconds="median",
                                                 p90_seconds=lambda s: s.quantile(0.9))
    return out.sort_values("median_seconds", ascending=False, kind="stable").reset_index()
