"""How well and how fast a dataset's labelers work, read from the answers recorded by the labeling queue.

    import sda2
    report = sda2.agreement_report("digits")           # kappas, alpha, consensus, what to adjudicate
    print(report.summary())
    sda2.efficiency_report("digits").labelers           # labels/hour, s/label, rework, agreement

Every human answer is one record (:mod:`sda2.curation.annotations`); the statistics are computed by
:mod:`sda2.analysis.agreement` and :mod:`sda2.analysis.efficiency`. When the dataset has stored model
probabilities, they are the prior of the weighted consensus vote (``use_model=False`` turns that off).

Blind labeling: pass ``viewer`` (the name of the person looking) and a labeler never sees other labelers'
answers on samples still open in a labeling queue: any named person may still be offered such a sample,
and the labelers who answered it may still change their answer. Adjudication is a separate role: a viewer
sees (and settles) the disputed samples she did not answer herself; curators (``curator=True``, in the app
the names listed in the environment variable ``SDA2_CURATORS``) see everything. Names are compared
trimmed and case-insensitively ("Alice " and "alice" are one person).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sda2 import accounts, store
from sda2.analysis import agreement as ag, efficiency as ef
from sda2.curation import queries


CURATORS_ENV = "SDA2_CURATORS"  # comma-separated names of the people who may see every answer


def _dataset(dataset_or_name):
    return store.open_dataset(dataset_or_name) if isinstance(dataset_or_name, str) else dataset_or_name


def person(name) -> str:
    """A person's name as names are compared: trimmed and case-folded ("Alice " and "alice" are one person)."""
    return str(name or "").strip().casefold()


def curators() -> set[str]:
    """The curators, compared with :func:`person`: in team mode the enabled admin and curator accounts, else the
    names in ``SDA2_CURATORS`` (comma-separated)."""
    if accounts.team_mode():
        return {person(n) for n in accounts.curator_names()}
    return {person(n) for n in os.environ.get(CURATORS_ENV, "").split(",") if person(n)}


def is_curator(name) -> bool:
    """Whether ``name`` is a curator (team mode: an admin or curator account; else named in ``SDA2_CURATORS``)."""
    return bool(person(name)) and person(name) in curators()


def open_samples(dataset_or_name) -> set[str]:
    """Ids of the samples still open in a labeling queue: their answers are hidden from every viewer but curators."""
    from sda2.curation.queue import open_sample_ids

    return open_sample_ids(_dataset(dataset_or_name))


def visible_records(dataset, records: pd.DataFrame, viewer: str | None, curator: bool = False) -> pd.DataFrame:
    """The annotation ``records`` ``viewer`` may see: without others' answers on samples still open in a labeling
    queue (all of them for ``viewer`` None or a curator)."""
    if viewer is None or curator or records.empty:
        return records
    hidden = records["sample_id"].isin(open_samples(dataset)) & (records["annotator"].map(person) != person(viewer))
    return records[~hidden]


def labelers_of(dataset_or_name, sample_ids) -> dict[str, set[str]]:
    """{sample id: the people (as :func:`person` names) who answered it, in any queue} for ``sample_ids``."""
    from sda2.curation import annotations

    found: dict[str, set[str]] = {str(s): set() for s in sample_ids}
    for doc in annotations.find(_dataset(dataset_or_name), sample_id={"$in": list(found)}):
        found[doc["sample_id"]].add(person(doc["annotator"]))
    return found


def may_adjudicate(dataset_or_name, sample_ids, viewer: str | None, curator: bool = False) -> list[bool]:
    """Per sample: may ``viewer`` see its answers side by side and settle it? Curators may; anyone else only when
    the sample is open in no queue and they did not answer it themselves (nobody without a name)."""
    ids = [str(s) for s in sample_ids]
    if curator:
        return [True] * len(ids)
    if not person(viewer) or person(viewer) == "anonymous":
        return [False] * len(ids)
    dataset = _dataset(dataset_or_name)
    still_open, answered = open_samples(dataset), labelers_of(dataset, ids)
    return [s not in still_open and person(viewer) not in answered[s] for s in ids]


def annotation_records(dataset_or_name, queue: str | None = None, viewer: str | None = None,
                       curator: bool = False) -> pd.DataFrame:
    """The dataset's annotation records (all queues, or one), one row per human answer; with ``viewer``, the
    answers of others on samples still open in a labeling queue are left out (unless ``curator``)."""
    from sda2.curation.annotations import annotations_frame

    dataset = _dataset(dataset_or_name)
    return visible_records(dataset, annotations_frame(dataset, queue=queue), viewer, curator)


def _records(dataset, queue: str | None, annotations: pd.DataFrame | None, viewer: str | None = None,
             curator: bool = False) -> pd.DataFrame:
    """The records of ``queue`` (all queues when None), from ``annotations`` when given, else from the database,
    as ``viewer`` may see them."""
    if annotations is None:
        return annotation_records(dataset, queue, viewer, curator)
    records = annotations if queue is None else annotations[annotations["queue"] == queue]
    return visible_records(dataset, records, viewer, curator)


def _is_multilabel(dataset, field: str) -> bool:
    return any(f.name == field and f.kind == "multilabel" for f in store.label_fields(dataset))


def _model_probabilities(dataset, sample_ids) -> pd.DataFrame | None:
    """Stored class probabilities of ``sample_ids`` (samples without any are left out); None when none are stored."""
    stored = queries.probabilities(dataset, list(sample_ids))
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
    viewer: str | None = None  # whose view this is (None: everything, e.g. a notebook)
    hidden: int = 0  # answers left out: others' answers on samples still open to the viewer

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
                     annotations: pd.DataFrame | None = None, viewer: str | None = None,
                     curator: bool = False) -> AgreementReport:
    """Pairwise Cohen's kappa, Fleiss' kappa, Krippendorff's alpha, per-class and per-labeler agreement, consensus
    labels and the samples to adjudicate, from the dataset's annotation records (or the ``annotations`` given).

    With ``viewer`` (a name), others' answers on samples still open in a queue are left out, and the samples to
    adjudicate are only those ``viewer`` may settle (:func:`may_adjudicate`); ``curator=True`` sees everything.
    """
    dataset = _dataset(dataset_or_name)
    everything = _records(dataset, queue, annotations)
    records = visible_records(dataset, everything, viewer, curator)
    multilabel = _is_multilabel(dataset, field)
    ratings = ag.ratings_matrix(records)
    model = _model_probabilities(dataset, ratings.index) if use_model and len(ratings) and not multilabel else None
    vote = ag.weighted_vote(ratings, probabilities=model)
    samples = ag.consensus(ratings, vote)
    pairs = ag.pairwise_kappa(ratings)
    disputed = ag.adjudication_queue(samples, None if viewer is not None else adjudication_limit)
    if viewer is not None and len(disputed):
        allowed = may_adjudicate(dataset, disputed["sample_id"], viewer, curator)
        disputed = disputed[allowed].reset_index(drop=True)
        disputed = disputed if adjudication_limit is None else disputed.head(adjudication_limit)
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
        model_weighted=model is not None, multilabel=multilabel, viewer=viewer,
        hidden=len(everything) - len(records))


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
                      annotations: pd.DataFrame | None = None, viewer: str | None = None,
                      curator: bool = False) -> EfficiencyReport:
    """Labels/hour, median seconds per label, rework share and agreement per labeler, over time (``every``: "D", "h"
    or a number of labels; None picks one) and median time per class, from the dataset's annotation records
    (as ``viewer`` may see them: see :func:`annotation_records`)."""
    dataset = _dataset(dataset_or_name)
    records = _records(dataset, queue, annotations, viewer, curator)
    bucket = every if every is not None else ef.auto_bucket(records["created_at"]) if len(records) else "D"
    return EfficiencyReport(
        dataset=dataset.name, queue=queue, labelers=ef.labeler_efficiency(records, idle_cap_s),
        over_time=ef.efficiency_over_time(records, bucket, idle_cap_s), every=bucket,
        per_class=ef.class_times(records, multilabel=_is_multilabel(dataset, field)))


def adjudication_items(dataset_or_name, queue: str, viewer: str | None, curator: bool = False) -> pd.DataFrame:
    """The items of ``queue`` left for adjudication (disputed or in conflict) that ``viewer`` may settle
    (:func:`may_adjudicate`), with everyone's answers; ValueError when there is no viewer and no curator."""
    from sda2.curation import queue as lq

    if not curator and (not person(viewer) or person(viewer) == "anonymous"):
        raise ValueError("Adjudication shows every labeler's answers, so it needs to know who is looking. Fix: "
                         "pass viewer='your name' (in the app: type your name in the sidebar).")
    dataset = _dataset(dataset_or_name)
    frame = lq.disagreements(dataset, queue)
    if frame.empty:
        return frame
    return frame[may_adjudicate(dataset, frame["sample_id"], viewer, curator)].reset_index(drop=True)


def adjudicate(dataset_or_name, queue: str, sample_id: str, label, adjudicator: str, curator: bool = False):
    """Settle an item of ``queue`` as ``label`` (:func:`sda2.curation.queue.adjudicate`) when ``adjudicator`` may
    (:func:`may_adjudicate`); ValueError naming the reason otherwise."""
    from sda2.curation import queue as lq

    dataset = _dataset(dataset_or_name)
    if not may_adjudicate(dataset, [sample_id], adjudicator, curator)[0]:
        raise ValueError(f"{str(adjudicator).strip() or 'Nobody'!r} may not settle sample {sample_id!r}: it is still "
                         "open in a labeling queue, or they answered it themselves (adjudication is a separate "
                         f"role). Fix: let another person settle it, or a curator (named in {CURATORS_ENV}).")
    return lq.adjudicate(dataset, queue, sample_id, label, adjudicator)
