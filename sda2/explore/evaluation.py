"""Evaluate predictions against ground truth on a dataset: the notebook API behind the Evaluation page.

    ev = sda2.evaluate("digits")              # reads labels and predictions once, in bulk
    ev.accuracy, ev.per_class, ev.confusion, ev.top_confusions
    ev.threshold_curve("7"); ev.lowest_threshold("7", 0.99)
    sda2.failure_by("digits", "split")        # error rate per split, with a Wilson interval
    sda2.save_thresholds("digits", {"7": 0.93}, annotator="alice")   # audited
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sda2 import store
from sda2.analysis import evaluation as metrics
from sda2.analysis import thresholds as thr
from sda2.curation import audit, saved_thresholds

TAGS = "tags"


class NoPredictions(KeyError):
    """The dataset has no prediction field of that name; the message says how to make one."""

    def __str__(self) -> str:
        return self.args[0]


def has_predictions(dataset_or_name, pred_field: str = "predictions") -> bool:
    """True when the dataset has the prediction field and at least one sample carries a prediction."""
    dataset = store.as_dataset(dataset_or_name)
    return pred_field in dataset.get_field_schema() and dataset.exists(pred_field).count() > 0


def _view(dataset, split: str | None):
    from fiftyone import ViewField as F

    return dataset.match(F("split") == split) if split else dataset


def _label_values(view, label_field: str, kind: str) -> list:
    if kind == "classification":
        return view.values(f"{label_field}.label")
    return [sorted(t) if t else [] for t in view.values(f"{label_field}.classifications.label")]


def prediction_frame(dataset_or_name, pred_field: str = "predictions", gt_field: str = "ground_truth",
                     split: str | None = None) -> tuple[pd.DataFrame, str]:
    """(one row per sample: id, filepath, truth, predicted, confidence, correct; the label kind)."""
    dataset = store.as_dataset(dataset_or_name)
    if pred_field not in dataset.get_field_schema():
        raise NoPredictions(f"Dataset {dataset.name!r} has no {pred_field!r} field. Fix: "
                            "sda2.compute_predictions(dataset) (out-of-fold from embeddings) or "
                            "sda2.import_predictions(dataset, 'preds.csv').")
    kind = store.label_kind(dataset, gt_field)
    view = _view(dataset, split)
    frame = pd.DataFrame({"id": view.values("id"), "filepath": view.values("filepath"),
                          "truth": _label_values(view, gt_field, kind),
                          "predicted": _label_values(view, pred_field, kind)})
    if kind == "classification":
        frame["confidence"] = pd.Series(view.values(f"{pred_field}.confidence"), dtype=float).to_numpy()
        frame["evaluated"] = frame["truth"].notna() & frame["predicted"].notna()
        frame["correct"] = frame["evaluated"] & (frame["truth"] == frame["predicted"])
    else:
        from fiftyone import ViewField as F

        frame["evaluated"] = np.array(view.values(F(gt_field).exists() & F(pred_field).exists()), dtype=bool)
        frame["correct"] = frame["evaluated"] & np.array([t == p for t, p in zip(frame["truth"], frame["predicted"])])
    return frame, kind


@dataclass
class Evaluation:
    """Metrics of one prediction field against one label field (optionally on one split)."""

    dataset: str
    pred_field: str
    gt_field: str
    split: str | None
    kind: str
    classes: list[str]
    frame: pd.DataFrame = field(repr=False)
    per_class: pd.DataFrame = field(repr=False)
    summary: dict

    @property
    def evaluated(self) -> pd.DataFrame:
        """The rows that have both a label and a prediction."""
        return self.frame[self.frame["evaluated"]]

    @property
    def accuracy(self) -> float:
        """Accuracy (classification) or subset accuracy (multi-label)."""
        return self.summary["accuracy" if self.kind == "classification" else "subset_accuracy"]

    @property
    def confusion(self) -> pd.DataFrame:
        """Confusion counts, rows true classes, columns predicted (classification only)."""
        ev = self.evaluated
        return metrics.confusion(ev["truth"], ev["predicted"], self.classes)

    def top_confusions(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` most frequent mistakes, each with a sentence like "7 predicted as 1: 23 samples"."""
        return metrics.top_confusions(self.confusion, n)

    def samples(self, true_class: str, predicted_class: str) -> pd.DataFrame:
        """The samples of one confusion cell (id, filepath, confidence), most confident first."""
        ev = self.evaluated
        cell = ev[(ev["truth"] == true_class) & (ev["predicted"] == predicted_class)]
        return cell.sort_values("confidence", ascending=False)[["id", "filepath", "confidence"]]

    def threshold_curve(self, cls: str) -> pd.DataFrame:
        """Precision, recall, coverage, accepted and rejected of ``cls`` at every distinct threshold."""
        ev = self.evaluated
        return thr.threshold_curve(ev["confidence"], ev["predicted"], ev["truth"], cls)

    def lowest_threshold(self, cls: str, target_precision: float) -> thr.ThresholdChoice:
        """The lowest confidence threshold at which predictions of ``cls`` reach ``target_precision``."""
        ev = self.evaluated
        return thr.lowest_threshold(ev["confidence"], ev["predicted"], ev["truth"], cls, target_precision)

    def thresholds_for_precision(self, target_precision: float) -> pd.DataFrame:
        """Per class: the lowest threshold reaching ``target_precision`` and what it accepts and rejects."""
        ev = self.evaluated
        return thr.thresholds_for_precision(ev["confidence"], ev["predicted"], ev["truth"], self.classes,
                                            target_precision)

    def text(self) -> str:
        """A short plain-words account of the evaluation."""
        where = f" ({self.split})" if self.split else ""
        n, total = int(self.frame["evaluated"].sum()), len(self.frame)
        head = f"{self.dataset}{where}: {n:,} of {total:,} samples have a label and a prediction."
        if self.kind == "classification":
            lines = [head, f"Accuracy {self.accuracy:.1%}."] + list(self.top_confusions(3)["text"])
        else:
            lines = [head, f"Subset accuracy {self.summary['subset_accuracy']:.1%}, Hamming loss "
                           f"{self.summary['hamming_loss']:.3f}, micro F1 {self.summary['micro_f1']:.3f}."]
        return "\n".join(lines)


def evaluate(dataset_or_name, pred_field: str = "predictions", gt_field: str = "ground_truth",
             split: str | None = None) -> Evaluation:
    """Evaluate ``pred_field`` against ``gt_field``: accuracy, per-class table, confusions (or multi-label metrics)."""
    dataset = store.as_dataset(dataset_or_name)
    frame, kind = prediction_frame(dataset, pred_field, gt_field, split)
    classes = store.classes(dataset, gt_field)
    ev = frame[frame["evaluated"]]
    if ev.empty:
        raise ValueError(f"No sample of {dataset.name!r}{' in split ' + repr(split) if split else ''} has both "
                         f"{gt_field!r} and {pred_field!r}. Fix: label samples or compute predictions.")
    seen = set(ev["predicted"]) | set(ev["truth"]) if kind == "classification" else \
        {t for s in list(ev["truth"]) + list(ev["predicted"]) for t in s}
    classes = classes + sorted(seen - set(classes))
    if kind == "classification":
        per_class = metrics.per_class_table(ev["truth"], ev["predicted"], classes)
        summary = {"accuracy": metrics.accuracy(ev["truth"], ev["predicted"]), "samples": len(ev),
                   "macro_f1": float(per_class["f1"].mean())}
    elif kind == "multilabel":
        per_class = metrics.multilabel_table(ev["truth"], ev["predicted"], classes)
        summary = metrics.multilabel_summary(ev["truth"], ev["predicted"], classes)
    else:
        raise ValueError(f"{gt_field!r} holds detections; evaluate detections with FiftyOne's "
                         "dataset.evaluate_detections. sda2 evaluates classification and multi-label fields.")
    return Evaluation(dataset.name, pred_field, gt_field, split, kind, classes, frame, per_class, summary)


def failure_fields(dataset_or_name, max_categories: int = 100) -> list[str]:
    """What a failure analysis can group by: "tags", label fields, few-valued sample fields, then tag names."""
    import fiftyone as fo

    dataset = store.as_dataset(dataset_or_name)
    names = [TAGS] + [f.name for f in store.label_fields(dataset) if f.kind != "detection"]
    for name, fld in dataset.get_field_schema().items():
        if isinstance(fld, (fo.StringField, fo.BooleanField, fo.IntField)) and name not in ("filepath", "id") \
                and not name.startswith("_") and len(dataset.distinct(name)) <= max_categories:
            names.append(name)
    return names + [t for t in sorted(dataset.distinct("tags")) if t not in names]


def failure_by(dataset_or_name, field_or_tag: str, pred_field: str = "predictions", gt_field: str = "ground_truth",
               split: str | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Error rate per category of a field (or tagged vs untagged for a tag), with counts and a Wilson interval.

    ``field_or_tag`` is a sample field ("split", "source"), a label field (per class), "tags" (each tag
    its own category), or one tag name (samples with that tag against the rest). Sorted worst first.
    """
    dataset = store.as_dataset(dataset_or_name)
    frame, _ = prediction_frame(dataset, pred_field, gt_field, split)
    view = _view(dataset, split)
    labels = {f.name: f.kind for f in store.label_fields(dataset)}
    if field_or_tag == TAGS:
        categories = view.values("tags")
    elif field_or_tag in labels:
        categories = _label_values(view, field_or_tag, labels[field_or_tag])
    elif field_or_tag in dataset.get_field_schema():
        categories = view.values(field_or_tag)
    elif field_or_tag in dataset.distinct("tags"):
        categories = [field_or_tag if field_or_tag in t else f"not {field_or_tag}" for t in view.values("tags")]
    else:
        choices = ", ".join(failure_fields(dataset))
        raise KeyError(f"{field_or_tag!r} is neither a field nor a tag of {dataset.name!r}. Fix: use one of "
                       f"{choices}, or a tag name.")
    keep = frame["evaluated"].to_numpy()
    return metrics.failure_rates(frame["correct"].to_numpy()[keep],
                                 [c for c, k in zip(categories, keep) if k], confidence)


def save_thresholds(dataset_or_name, thresholds: dict[str, float], gt_field: str = "ground_truth",
                    annotator: str | None = None, reason: str = "") -> dict:
    """Store per-class confidence thresholds with the dataset (merged into earlier ones, one atomic, audited
    update by ``annotator``); returns them all."""
    dataset = store.as_dataset(dataset_or_name)
    audit.annotator_name(annotator)
    known = set(store.classes(dataset, gt_field))
    unknown = sorted(set(map(str, thresholds)) - known)
    if unknown:
        raise ValueError(f"Unknown classes {unknown} for {dataset.name!r}. Fix: use class names from "
                         f"{sorted(known)[:10]}.")
    bad = {c: t for c, t in thresholds.items() if not 0 <= float(t) <= 1}
    if bad:
        raise ValueError(f"Thresholds must be confidences in [0, 1]; got {bad}.")
    return saved_thresholds.save(dataset, thresholds, annotator, reason)


def load_thresholds(dataset_or_name) -> dict[str, float]:
    """The per-class confidence thresholds saved with the dataset ({} when none)."""
    return saved_thresholds.load(store.as_dataset(dataset_or_name))
