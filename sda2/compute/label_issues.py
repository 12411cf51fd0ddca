"""Label errors on a stored dataset: read ground truth and predictions in bulk, score, write the fields back.

Fields written on every sample (None where a sample has no label or no prediction):
``label_quality`` (float, lower = more likely wrong), ``is_label_issue`` (bool), ``suggested_label``
(string: the model's top class; for multi-label the corrected tags joined by ", "; for detections a plain
summary of the box hints) and, for detection datasets, ``label_hints`` (one dict per box hint).
Probabilities come from ``sda2.arrays`` (``probabilities``, class order in its info), else from the
prediction field's logits / confidences.

The write-back is a FiftyOne run (``sda2_label_issues``, see ``sda2.runs``): recorded pending before the
first field is written and complete after the last, so a process killed midway leaves a run that readers
treat as absent and recovery clears (with its half-written fields).
"""

from __future__ import annotations

import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from bson import ObjectId
from pymongo import UpdateOne
from scipy.special import softmax
from tqdm.auto import tqdm

import fiftyone as fo

from sda2 import arrays, faults, runs, store
from sda2.analysis.label_issues import find_detection_issues, find_label_issues
from sda2.compute.predictions import probabilities_key

FIELDS = ("label_quality", "is_label_issue", "suggested_label")
RUN_KEY = "sda2_label_issues"  # the FiftyOne run (and dataset.info summary) of the write-back
BATCH = 5_000
WRITERS = 4


def _stored_probabilities(dataset, pred_field: str, ids: list[str]) -> tuple[np.ndarray, list[str]] | None:
    key = probabilities_key(pred_field)
    if not arrays.exists(dataset, key):
        return None
    _, probs = arrays.load(dataset, key, ids=ids)
    return np.asarray(probs, dtype=np.float64), [str(c) for c in arrays.info(dataset, key)["classes"]]


def _field_probabilities(dataset, pred_field: str, kind: str, classes: list[str]) -> np.ndarray:
    """Probabilities rebuilt from the prediction field: softmax of logits, or per-tag confidences."""
    if pred_field not in dataset.get_field_schema():
        raise KeyError(f"Dataset {dataset.name!r} has no predictions ({pred_field!r} and no stored probabilities). "
                       "Fix: run sda2.compute_predictions(dataset) or import your own predictions first.")
    if kind == "classification":
        logits = dataset.values(f"{pred_field}.logits")
        k = len(classes)
        rows = [np.asarray(v, dtype=np.float64) if v is not None and len(v) == k else np.full(k, np.nan)
                for v in logits]
        return softmax(np.vstack(rows), axis=1)
    index = {c: j for j, c in enumerate(classes)}
    labels = dataset.values(f"{pred_field}.classifications.label")
    confs = dataset.values(f"{pred_field}.classifications.confidence")
    probs = np.zeros((len(labels), len(classes)))
    for i, (tags, conf) in enumerate(zip(labels, confs)):
        if tags is None:
            probs[i] = np.nan
            continue
        for tag, c in zip(tags, conf):
            if tag in index:
                probs[i, index[tag]] = 1.0 if c is None else c
    return probs


def _classification_frame(dataset, gt_field: str, pred_field: str, kind: str,
                          options: dict, report=None) -> tuple[pd.DataFrame, list[str]]:
    path = f"{gt_field}.label" if kind == "classification" else f"{gt_field}.classifications.label"
    ids, labels = dataset.values(["id", path])
    stored = _stored_probabilities(dataset, pred_field, ids)
    if stored is None:
        classes = store.classes(dataset, gt_field)
        probs = _field_probabilities(dataset, pred_field, kind, classes)
    else:
        probs, classes = stored
    scored = np.isfinite(probs).all(axis=1) & np.array([v is not None for v in labels])
    rows = np.flatnonzero(scored)
    if not len(rows):
        raise ValueError(f"No sample of {dataset.name!r} has both a {gt_field!r} label and a prediction. "
                         "Fix: label samples and run sda2.compute_predictions(dataset).")
    given = [labels[i] for i in rows]
    if kind == "classification":
        known = set(classes)
        unknown = sorted({g for g in given if g not in known})
        if unknown:
            raise ValueError(f"Labels {unknown[:5]} of {dataset.name!r} are not among the predicted classes "
                             f"{classes[:20]}: the predictions are older than the labels. Fix: run "
                             "sda2.compute_predictions(dataset) again.")
    if report is not None:
        report(0.2, None, f"scoring {len(rows):,} labeled, predicted samples")
    frame = find_label_issues(given if kind == "classification" else [list(g) for g in given], probs[rows],
                              classes, **options)
    if kind == "multilabel":
        frame["suggested_label"] = [", ".join(tags) for tags in frame["suggested_label"]]
    frame.index = pd.Index([ids[i] for i in rows], name="id")
    return frame, ids


def _detection_frame(dataset, gt_field: str, pred_field: str, options: dict) -> tuple[pd.DataFrame, list[str]]:
    if pred_field not in dataset.get_field_schema():
        raise KeyError(f"Dataset {dataset.name!r} has no {pred_field!r} field with predicted boxes. "
                       "Fix: import your detector's predictions as fo.Detections with confidences.")
    ids, *gt = dataset.values(["id", f"{gt_field}.detections.label", f"{gt_field}.detections.bounding_box"])
    pred = dataset.values([f"{pred_field}.detections.label", f"{pred_field}.detections.bounding_box",
                           f"{pred_field}.detections.confidence"])
    rows = np.flatnonzero([p is not None for p in pred[0]])

    def take(column):
        return [column[i] or [] for i in rows]

    frame = find_detection_issues(take(gt[0]), take(gt[1]), take(pred[0]), take(pred[1]), take(pred[2]), **options)
    frame.index = pd.Index([ids[i] for i in rows], name="id")
    return frame, ids


class _Stages:
    """Progress of detection: reading 0-20 %, scoring 20-50 %, writing 50-100 % (per batch, with an ETA)."""

    def __init__(self, progress, n: int):
        self.callback = progress if callable(progress) else None
        self.bar = tqdm(total=100, desc="Label issues", unit="%", disable=progress is not True)
        self.n, self.done = n, 0

    def __call__(self, fraction: float, eta_s: float | None, text: str) -> None:
        step = round(fraction * 100) - self.done
        if step > 0:
            self.bar.update(step)
            self.done += step
        self.bar.set_postfix_str(text, refresh=False)
        if self.callback:
            self.callback(fraction, eta_s, text)


def detect_label_issues(dataset_or_name, gt_field: str = "ground_truth", pred_field: str = "predictions",
                        write: bool = True, progress=True, **options) -> pd.DataFrame:
    """Find suspected label errors in a dataset and write label_quality / is_label_issue / suggested_label.

    ``progress``: True for a tqdm bar, False for none, or a callable ``progress(fraction, eta_s, text)`` told
    each stage (reading, scoring, every written batch; the app's ``sda2.ui.progress.ProgressBar``).
    """
    dataset = store.as_dataset(dataset_or_name)
    kind = store.label_kind(dataset, gt_field)
    report = _Stages(progress, len(dataset))
    report(0.0, None, f"reading labels and predictions of {report.n:,} samples")
    if kind == "detection":
        frame, ids = _detection_frame(dataset, gt_field, pred_field, options)
    else:
        frame, ids = _classification_frame(dataset, gt_field, pred_field, kind, options, report)
    skipped = len(ids) - len(frame)
    if skipped:
        warnings.warn(f"{skipped:,} samples of {dataset.name!r} have no label or no prediction and were not scored "
                      "(their fields are cleared).", stacklevel=2)
    report(0.5, None, f"{int(frame['is_label_issue'].sum()):,} suspects found" + (", writing" if write else ""))
    if write:
        fields = FIELDS + (("label_hints",) if kind == "detection" else ())
        runs.begin(dataset, RUN_KEY, fields, info_key=RUN_KEY, kind="label_issues",
                   params={"gt_field": gt_field, "pred_field": pred_field, **options})
        _write(dataset, frame, ids, kind, report)
        faults.point("compute.label_issues.written")
        summary = {"gt_field": gt_field, "pred_field": pred_field, "kind": kind, "scored": len(frame),
                   "issues": int(frame["is_label_issue"].sum()), "options": {k: str(v) for k, v in options.items()},
                   "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        runs.complete(dataset, RUN_KEY, **summary)  # the summary lives in the run (no longer in dataset.info)
    report(1.0, 0.0, f"{int(frame['is_label_issue'].sum()):,} suspects in {len(frame):,} scored samples")
    report.bar.close()
    return frame


def _write(dataset, frame: pd.DataFrame, ids: list[str], kind: str, report=None) -> None:
    """All fields in one bulk write; unscored samples get None."""
    position = pd.Series(np.arange(len(frame)), index=frame.index).reindex(ids).to_numpy()
    hit = np.flatnonzero(~np.isnan(position))
    rows = position[hit].astype(np.int64)
    columns = {}
    for field in FIELDS + (("label_hints",) if kind == "detection" else ()):
        column = frame[field].to_numpy()[rows]
        values = [None] * len(ids)
        for at, value in zip(hit, column.tolist() if column.dtype != object else column):
            values[at] = value
        columns[field] = values
    write_fields(dataset, ids, columns, report)


FIELD_TYPES = {bool: fo.BooleanField, int: fo.IntField, float: fo.FloatField, str: fo.StringField,
               list: fo.ListField}


def write_fields(dataset, ids: list[str], columns: dict[str, list], report=None) -> None:
    """Set top-level fields of many samples at once: one update per sample for all fields, sent in bulk.

    ``set_values`` sends one update per sample and field; writing all fields in one update is about as many
    times faster as there are fields. Fields are declared first, so the schema is right for every reader.
    """
    schema = dataset.get_field_schema()
    for field, values in columns.items():
        if field in schema:
            continue
        example = next((v for v in values if v is not None), None)
        ftype = FIELD_TYPES.get(type(example), fo.StringField)
        if ftype is fo.ListField:
            dataset.add_sample_field(field, fo.ListField, subfield=fo.DictField)
        else:
            dataset.add_sample_field(field, ftype)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    names = list(columns)
    values = list(columns.values())
    collection = dataset._sample_collection

    def send(start: int) -> None:
        stop = min(start + BATCH, len(ids))
        collection.bulk_write([UpdateOne({"_id": ObjectId(ids[r])},
                                         {"$set": {"last_modified_at": now, **{f: v[r] for f, v in zip(names, values)}}})
                               for r in range(start, stop)], ordered=False)
        faults.point("compute.write_fields.batch")

    starts, began = range(0, len(ids), BATCH), time.perf_counter()
    with ThreadPoolExecutor(WRITERS) as pool:  # batches are built while the server writes others
        for done, _ in enumerate(pool.map(send, starts), 1):  # in order, in this thread (the app's bar lives here)
            if report is not None:
                rate = (time.perf_counter() - began) / done
                report(0.5 + 0.5 * done / len(starts), rate * (len(starts) - done),
                       f"writing: {min(done * BATCH, len(ids)):,} of {len(ids):,} samples")
    dataset.reload()
