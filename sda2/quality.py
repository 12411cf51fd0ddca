"""How well and how fast a dataset's labelers work, read from the answers recorded by the labeling queue.

    import sda2
    report = sda2.agreement_report("digits")           # kappas, alpha, consensus, what to adjudicate
    print(report.summary())
    sda2.efficiency_report("digits").labelers           # labels/hour, s/label, rework, agreement

Every human answer is one record (:mod:`sda2.curation.annotations`); the statistics are computed by
:mod:`sda2.analysis.agreement` and :mod:`sda2.analysis.efficiency`. When the dataset has stored model
probabilities, they are the prior of the weighted consensus vote (``use_model=False`` turns that off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sda2 import store
from sda2.analysis import agreement as ag
from sda2.analysis import efficiency as ef
from sda2.curation import views


def _dataset(dataset_or_name):
    return store.open_dataset(dataset_or_name) if isinstance(dataset_or_name, str) else dataset_or_name


def annotation_records(dataset_or_name, queue: str | None = None) -> pd.DataFrame:
    """The dataset's annotation records (all queues, or one), one row per human answer."""
    from sda2.curation.annotations import annotations_frame

    return annotations_frame(_dataset(dataset_or_name), queue=queue)


def _records(dataset, queue: str | None, annotations: pd.DataFrame | None) -> pd.DataFrame:
    """The records of ``queue`` (all queues when None), from ``annotations`` when given, else from the database."""
    if annotations is None:
        return annotation_records(dataset, queue)
    return annotations if queue is None else annotations[annotations["queue"] == queue]


def _is_multilabel(dataset, field: str) -> bool:
    return any(f.name == field and f.kind == "multilabel" for f in store.label_fields(dataset))


def _model_probabilities(dataset, sample_ids) -> pd.DataFrame | None:
    """Stored class probabilities of ``sample_ids`` (samples without any are left out); None when none are stored."""
    stored = views.probabilities(dataset, list(sample_ids))
    if stored is None:
        return None
    classes, rows = stored
    frame = pd.DataFrame(rows, index=list(sample_ids), columns=classes)
    frame = frame[np.isfinite(rows).all(axis=1)]
    return frame if len(frame) else None


@dataclass(frozen=True)
class AgreementReport:
    """Inter-annotator agreement of one dataset (one queue, or all), with the consensus label of every sample."""

    dataset: str
    queue: str | None
    annotations: int  # answers recorded
    annotators: list[str]
    samples: int  # samples with at least one answer
    multi_rated: int  # samples with answers from 2+ labelers: agreement is measured on these
    fleiss: ag.FleissResult
    alpha: float  # Krippendorff's alpha (nominal), every sample with 2+ ratings
    pairwise: pd.DataFrame  # annotator_a, annotator_b, samples, observed, kappa
    kappa_matrix: pd.DataFrame  # labeler x labeler Cohen's kappa
    per_class: pd.DataFrame  # label, given, samples, specific_agreement, kappa
    labelers: pd.DataFrame  # annotator, labels, compared, agreement, kappa, estimated_accuracy
    consensus: pd.DataFrame  # per sample: majority, weighted, agreement, votes, ...
    adjudication: pd.DataFrame  # the most disputed samples, most disagreement first, with filepath
    model_weighted: bool  # whether model probabilities were the prior of the weighted vote
    multilabel: bool

    @property
    def empty(self) -> bool:
        """True when no answers are recorded."""
        return self.annotations == 0

    def summary(self) -> str:
        """The headline numbers in plain words."""
        if self.empty:
            return (f"No labels recorded for {self.dataset!r} yet. Label samples on the Labeling page (or "
                    "with sda2.curation.queue), with two or more labelers per sample to measure agreement.")
        if self.multi_rated == 0:
            return (f"{self.annotations} answers from {len(self.annotators)} labeler(s), but no sample was labeled "
                    "by two labelers: agreement needs overlap. Fix: build a queue with labels_per_sample ≥ 2.")
        f = self.fleiss
        fleiss = (f"Fleiss' κ = {f.kappa:.2f} ({ag.landis_koch(f.kappa)} agreement, Landis & Koch) on {f.samples} "
                  f"samples with {f.raters_per_sample} ratings each"
                  + (f" ({f.excluded} with another number of ratings left out)" if f.excluded else ""))
        return (f"{fleiss}; Krippendorff's α = {self.alpha:.2f} ({ag.landis_koch(self.alpha)}) on all "
                f"{self.multi_rated} samples labeled by 2+ of {len(self.annotators)} labelers.")


def agreement_report(dataset_or_name, queue: str | None = None, field: str = "ground_truth",
                     use_model: bool = True, adjudication_limit: int | None = 50,
                     annotations: pd.DataFrame | None = None) -> AgreementReport:
    """Pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, per-class and per-labeler agreement, consensus
    labels and the samples to adjudicate, from the dataset's annotation records (or the ``annotations`` given)."""
    dataset = _dataset(dataset_or_name)
    records = _records(dataset, queue, annotations)
    multilabel = _is_multilabel(dataset, field)
    ratings = ag.ratings_matrix(records)
    model = _model_probabilities(dataset, ratings.index) if use_model and len(ratings) and not multilabel else None
    vote = ag.weighted_vote(ratings, probabilities=model)
    samples = ag.consensus(ratings, vote)
    pairs = ag.pairwise_kappa(ratings)
    disputed = ag.adjudication_queue(samples, adjudication_limit)
    if len(disputed):
        view = dataset.select(list(disputed["sample_id"]))
        paths = dict(zip(view.values("id"), view.values("filepath")))
        disputed = disputed.assign(filepath=disputed["sample_id"].map(paths))
    return AgreementReport(
        dataset=dataset.name, queue=queue, annotations=len(records), annotators=[str(a) for a in ratings.columns],
        samples=len(ratings), multi_rated=int((ratings.notna().sum(axis=1) >= 2).sum()),
        fleiss=ag.fleiss_kappa(ratings), alpha=ag.krippendorff_alpha(ratings), pairwise=pairs,
        kappa_matrix=ag.kappa_matrix(pairs, ratings.columns), per_class=ag.per_class_agreement(ratings, multilabel),
        labelers=ag.labeler_agreement(ratings, vote), consensus=samples, adjudication=disputed,
        model_weighted=model is not None, multilabel=multilabel)


@dataclass(frozen=True)
class EfficiencyReport:
    """Throughput and quality of each labeler, overall, over time and per class."""

    dataset: str
    queue: str | None
    labelers: pd.DataFrame  # annotator, labels, hours, labels_per_hour, median_seconds, rework_share, agreement, ...
    over_time: pd.DataFrame  # the same per annotator and period
    every: str | int  # the bucket of over_time: a pandas frequency ("D", "h") or a number of labels
    per_class: pd.DataFrame  # label, labels, median_seconds, p90_seconds

    @property
    def empty(self) -> bool:
        """True when no answers are recorded."""
        return self.labelers.empty


def efficiency_report(dataset_or_name, queue: str | None = None, every: str | int | None = None,
                      field: str = "ground_truth", idle_cap_s: float = ef.IDLE_CAP_S,
                      annotations: pd.DataFrame | None = None) -> EfficiencyReport:
    """Labels/hour, median seconds per label, rework share and agreement per labeler, over time (``every``: "D", "h"
    or a number of labels; None picks one) and median time per class, from the dataset's annotation records."""
    dataset = _dataset(dataset_or_name)
    records = _records(dataset, queue, annotations)
    bucket = every if every is not None else ef.auto_bucket(records["created_at"]) if len(records) else "D"
    return EfficiencyReport(
        dataset=dataset.name, queue=queue, labelers=ef.labeler_efficiency(records, idle_cap_s),
        over_time=ef.efficiency_over_time(records, bucket, idle_cap_s), every=bucket,
        per_class=ef.class_times(records, multilabel=_is_multilabel(dataset, field)))
