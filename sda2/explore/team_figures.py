"""The labeling team's figures a client asks for: each labeler's gold (honeypot) accuracy with its interval, the
qualification results, and per queue with a review stage the share reviewed, the share rejected, rework per
labeler and per class and the estimated label accuracy of the delivered set.

    import sda2
    figures = sda2.team_figures("digits")
    figures.gold          # labeler, answers, correct, accuracy, low, high, status
    figures.reviews       # one row per queue with a review stage
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from sda2 import store
from sda2.curation import gold, queue as lq, review_stage

REVIEW_COLUMNS = ["queue", "review", "items", "delivered", "awaiting_review", "in_rework", "share_reviewed",
                  "share_rejected", "accuracy", "accuracy_low", "accuracy_high", "gold_accuracy", "gold_low",
                  "gold_high"]


@dataclass(frozen=True)
class TeamFigures:
    """Gold accuracy per labeler and review figures per queue of one dataset."""

    dataset: str
    gold: pd.DataFrame  # labeler, answers, correct, accuracy, low, high, status
    pause_below: float | None  # the accuracy below which a labeler is paused (None: never)
    qualification: dict | None  # the test: n_items, pass_mark, … (None: no test)
    reviews: pd.DataFrame  # one row per queue with a review stage (REVIEW_COLUMNS)
    rework_by_labeler: pd.DataFrame  # queue, labeler, answers, rejections, rework_share
    rework_by_class: pd.DataFrame  # queue, class, reviewed, rejections
    reasons: dict = field(default_factory=dict)  # reason -> rejections, all queues

    @property
    def empty(self) -> bool:
        """True when there is neither a honeypot answer nor a queue with a review stage."""
        return self.gold.empty and self.reviews.empty


def review_queues(dataset) -> list[str]:
    """Names of the dataset's queues with a review stage, newest first."""
    return [n for n in lq.queue_names(dataset) if lq.get_queue(dataset, n).get("review")]


def team_figures(dataset_or_name, queue: str | None = None) -> TeamFigures:
    """Gold accuracy (of one queue's honeypots when given) and the review figures of every queue with a review
    stage (or just ``queue``)."""
    dataset = store.open_dataset(dataset_or_name) if isinstance(dataset_or_name, str) else dataset_or_name
    names = [queue] if queue and lq.get_queue(dataset, queue).get("review") else [] if queue else review_queues(dataset)
    summaries = [review_stage.review_summary(dataset, n) for n in names]
    labelers = [s["rework_by_labeler"].assign(queue=s["queue"]) for s in summaries]
    classes = [s["rework_by_class"].assign(queue=s["queue"]) for s in summaries]
    reasons: dict = {}
    for s in summaries:
        for reason, n in s["reasons"].items():
            reasons[reason] = reasons.get(reason, 0) + n
    return TeamFigures(
        dataset=dataset.name, gold=gold.gold_accuracy(dataset, queue), pause_below=gold.pause_threshold(dataset),
        qualification=gold.qualification(dataset),
        reviews=pd.DataFrame([{c: s[c] for c in REVIEW_COLUMNS} for s in summaries], columns=REVIEW_COLUMNS),
        rework_by_labeler=pd.concat(labelers, ignore_index=True) if labelers else pd.DataFrame(
            columns=["labeler", "answers", "rejections", "rework_share", "queue"]),
        rework_by_class=pd.concat(classes, ignore_index=True) if classes else pd.DataFrame(
            columns=["class", "reviewed", "rejections", "queue"]),
        reasons=reasons)
