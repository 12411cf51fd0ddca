"""Auto-labels: take the model's label where its confidence clears the class threshold; people do the rest.

Per-class confidence thresholds come from :mod:`sda2.curation.saved_thresholds` (saved on the Evaluation
page). :func:`preview` tells, per class, how many samples would be auto-labeled and the precision to
expect, measured on samples people labeled already (auto-labels never count as evidence). :func:`apply`
writes, for each sample, the predicted label, the tag ``auto_label`` and the confidence
(``auto_label_confidence``) as one batch through the edit path (annotator ``auto-label``, audit log, undo;
a sample's three changes are one conditional update, so they happen together or not at all), and queues
the rest for people. :func:`replace_labels_from_predictions` is the explicit, audited and undoable way to
copy a prediction field into the labels. :func:`create_spot_check` draws a stratified sample of
auto-labels into a review queue, and :func:`spot_check_report` gives the precision the reviewers observed beside the one expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from bson import ObjectId

from sda2 import store
from sda2.curation import annotations, audit, edits, queue as lq, saved_thresholds
from sda2.analysis.calibration import wilson_interval
from sda2.curation.kinds import tag_field

TAG = "auto_label"
CONFIDENCE_FIELD = "auto_label_confidence"
ANNOTATOR = "auto-label"
SCOPES = ("unlabeled", "all")
PREVIEW_COLUMNS = ["class", "threshold", "would_label", "would_change", "below_threshold", "measured_on", "correct",
                   "expected_precision", "precision_low", "precision_high"]


@dataclass
class AutoLabelResult:
    """What :func:`apply` did: the batch written, labels per class, conflicts skipped, the queue for the rest."""

    batch_id: str
    labeled: dict[str, int] = dc_field(default_factory=dict)
    sample_ids: list[str] = dc_field(default_factory=list)
    conflicts: int = 0
    queue: str | None = None
    rest: int = 0

    def summary(self) -> str:
        """One sentence for a person."""
        queued = f"; {self.rest:,} left for people in queue {self.queue!r}" if self.queue else ""
        skipped = f"; {self.conflicts} skipped (label changed meanwhile)" if self.conflicts else ""
        return f"Auto-labeled {len(self.sample_ids):,} samples in {len(self.labeled)} classes{skipped}{queued}."


def load_thresholds(dataset) -> dict[str, float]:
    """The per-class confidence thresholds stored with the dataset ({} when none were saved)."""
    return saved_thresholds.load(dataset)


def _wilson(correct: int, total: int) -> tuple[float, float]:
    return (float("nan"), float("nan")) if total == 0 else wilson_interval(correct, total)


def _candidates(dataset, pred_field: str, gt_field: str, thresholds: dict | None) -> tuple[pd.DataFrame, dict]:
    """One row per sample: id, current label, predicted label, confidence, whether it is an auto-label, and
    whether the prediction clears its class threshold."""
    root = dataset._root_dataset
    for name, want in ((gt_field, "classification"), (pred_field, "classification")):
        kind = store.label_kind(root, name)
        if kind != want:
            raise ValueError(f"Auto-labeling needs single-class labels; {name!r} holds {kind} labels. Fix: pick a "
                             "classification label and prediction field.")
    thresholds = load_thresholds(dataset) if thresholds is None else {str(c): float(t) for c, t in thresholds.items()}
    if not thresholds:
        raise ValueError(f"{root.name!r} has no per-class confidence thresholds. Fix: choose and save them on the "
                         "Evaluation page (sda2.explore.evaluation.save_thresholds), or pass thresholds={class: value}.")
    frame = pd.DataFrame({"sample_id": dataset.values("id"), "label": dataset.values(f"{gt_field}.label"),
                          "predicted": dataset.values(f"{pred_field}.label"),
                          "confidence": dataset.values(f"{pred_field}.confidence"),
                          "auto": [TAG in (t or []) for t in dataset.values("tags")]})
    frame["confidence"] = pd.to_numeric(frame["confidence"], errors="coerce")
    threshold = frame["predicted"].map(thresholds)
    frame["clears"] = (frame["confidence"] >= threshold).fillna(False).astype(bool)
    return frame, thresholds


def _in_scope(frame: pd.DataFrame, scope: str) -> pd.Series:
    if scope not in SCOPES:
        raise ValueError(f"Unknown scope {scope!r}. Fix: use 'unlabeled' (samples without a label) or 'all'.")
    return frame["label"].isna() if scope == "unlabeled" else pd.Series(True, index=frame.index)


@store.dataset_or_name
def preview(dataset, pred_field: str = "predictions", gt_field: str = "ground_truth", scope: str = "unlabeled",
            thresholds: dict | None = None) -> pd.DataFrame:
    """Per class: the threshold, how many samples in ``scope`` would be auto-labeled (and how many of those
    would change), how many stay for people, and the precision expected at that threshold, measured on
    the samples people labeled (with a 95 % Wilson interval)."""
    frame, thresholds = _candidates(dataset, pred_field, gt_field, thresholds)
    scoped = frame[_in_scope(frame, scope)]
    evidence = frame[frame["label"].notna() & ~frame["auto"] & frame["clears"]]
    rows = []
    for cls, threshold in sorted(thresholds.items(), key=lambda kv: str(kv[0])):
        mine = scoped[scoped["predicted"] == cls]
        labeled = mine[mine["clears"]]
        seen = evidence[evidence["predicted"] == cls]
        correct = int((seen["label"] == cls).sum())
        low, high = _wilson(correct, len(seen))
        rows.append({"class": cls, "threshold": threshold, "would_label": len(labeled),
                     "would_change": int((labeled["label"] != cls).sum()), "below_threshold": len(mine) - len(labeled),
                     "measured_on": len(seen), "correct": correct,
                     "expected_precision": correct / len(seen) if len(seen) else float("nan"),
                     "precision_low": low, "precision_high": high})
    return pd.DataFrame(rows, columns=PREVIEW_COLUMNS)


def overall_precision(preview_frame: pd.DataFrame) -> float | None:
    """The expected precision over all classes of a :func:`preview` (pooled counts); None when nothing was measured."""
    measured = int(preview_frame["measured_on"].sum())
    return int(preview_frame["correct"].sum()) / measured if measured else None


@store.dataset_or_name
def apply(dataset, pred_field: str = "predictions", gt_field: str = "ground_truth", scope: str = "unlabeled",
          thresholds: dict | None = None, annotator: str = ANNOTATOR, queue_name: str | None = None,
          labels_per_sample: int = 1, overlap: float = 0.0) -> AutoLabelResult:
    """Write the predicted label where it clears its class threshold (one undoable batch, tagged ``auto_label``);
    put the other samples of ``scope`` into a new labeling queue (``queue_name``, or a dated name)."""
    root = dataset._root_dataset
    expected = preview(dataset, pred_field, gt_field, scope, thresholds)
    frame, thresholds = _candidates(dataset, pred_field, gt_field, thresholds)
    scoped = frame[_in_scope(frame, scope)]
    take = scoped[scoped["clears"] & (scoped["label"] != scoped["predicted"])]
    meta = {"pred_field": pred_field, "scope": scope, "thresholds": thresholds,
            "expected_precision": {r["class"]: r["expected_precision"] for _, r in expected.iterrows()
                                   if r["measured_on"]}}
    edits.check_classes(root, gt_field, "classification", list(take["predicted"]), allow_new_class=False)
    edits.declare_field(root, CONFIDENCE_FIELD, "float", "sda2: model confidence of the auto-label written")
    changes = []
    for s, old, new, confidence in zip(take["sample_id"], take["label"], take["predicted"], take["confidence"]):
        oid = ObjectId(s)
        changes += [edits.Change(oid, gt_field, None if pd.isna(old) else old, new),
                    edits.Change(oid, tag_field(TAG), edits.UNSET, True, kind="tag"),
                    edits.Change(oid, CONFIDENCE_FIELD, edits.UNSET, float(confidence), kind="value")]
    written = edits.apply_changes(root, changes, annotator, f"auto-label at per-class thresholds ({pred_field})",
                                  "skip", meta=meta)
    done = {e["sample_id"] for e in audit.find(root, batch_id=written.batch_id, field=gt_field)}
    take = take[take["sample_id"].isin(done)]
    result = AutoLabelResult(written.batch_id, take["predicted"].value_counts().sort_index().to_dict(),
                             list(take["sample_id"]), conflicts=len({c.sample_id for c in written.conflicts}))
    rest = scoped[~scoped["clears"] & ~scoped["sample_id"].isin(done)]
    if len(rest):
        result.queue = queue_name or f"after auto-label {datetime.now(timezone.utc):%Y-%m-%d %H:%M:%S}"
        lq.create_queue(root, result.queue, list(rest["sample_id"]), labels_per_sample, overlap, field=gt_field,
                        created_by=annotator, source=f"below the auto-label thresholds ({scope} samples)")
        result.rest = len(rest)
    return result


def batches(dataset, gt_field: str = "ground_truth") -> pd.DataFrame:
    """The auto-label batches, newest first: batch id, when, how many labels, whether undone."""
    log = audit.audit_log(dataset._root_dataset, annotator=ANNOTATOR)
    log = log[log["field"] == gt_field]
    if log.empty:
        return pd.DataFrame(columns=["batch_id", "at", "labels", "undone"])
    grouped = log.groupby("batch_id").agg(at=("at", "max"), labels=("sample_id", "size"), undone=("undone", "all"))
    return grouped.reset_index().sort_values("at", ascending=False).reset_index(drop=True)


@store.dataset_or_name
def undo(dataset, batch_id: str, annotator: str) -> int:
    """Undo an auto-label batch (labels, tags and confidences, conflict-checked, one batch); labels restored."""
    root = dataset._root_dataset
    ids = [e["sample_id"] for e in audit.find(root, batch_id=str(batch_id), kind="label") if not e["undone"]]
    result = edits.undo(root, batch_id, annotator, f"undo auto-label batch {batch_id}")
    return len(ids) if result.edit_ids else 0


@store.dataset_or_name
def replace_labels_from_predictions(dataset, annotator: str, pred_field: str = "predictions",
                                    min_confidence: float | None = None, ids=None, gt_field: str = "ground_truth",
                                    reason: str = "") -> edits.BatchResult:
    """Copy predicted labels into ``gt_field`` as one audited, undoable batch by ``annotator`` (the only way
    predictions become labels): samples in ``ids`` (all by default) whose prediction reaches ``min_confidence``
    (per tag for multi-label). Labels changed since they were read are skipped and listed as conflicts."""
    audit.annotator_name(annotator)
    root = dataset._root_dataset
    kind = store.label_kind(root, gt_field)
    if store.label_kind(root, pred_field) != kind or kind == "detection":
        raise ValueError(f"Cannot copy {pred_field!r} ({store.label_kind(root, pred_field)}) into {gt_field!r} "
                         f"({kind}). Fix: pick a prediction field of the same single- or multi-label kind.")
    if min_confidence is not None and not 0 <= float(min_confidence) <= 1:
        raise ValueError(f"min_confidence must be in [0, 1], not {min_confidence!r}.")
    view = root if ids is None else root.select([str(i) for i in ids])
    if ids is not None and len(view) != len(set(map(str, ids))):
        raise ValueError(f"{len(set(map(str, ids))) - len(view)} of the ids are not samples of {root.name!r}. "
                         "Nothing was written. Fix: pass ids from dataset.values('id').")
    low = -1.0 if min_confidence is None else float(min_confidence)
    sids = view.values("id")
    if kind == "classification":
        olds = view.values(f"{gt_field}.label")
        preds = [[(label, conf)] if label is not None else None for label, conf in
                 zip(view.values(f"{pred_field}.label"), view.values(f"{pred_field}.confidence"))]
    else:
        olds = [sorted(t or []) for t in view.values(f"{gt_field}.classifications.label")]
        preds = [None if labels is None else list(zip(labels, confs or [None] * len(labels))) for labels, confs in
                 zip(view.values(f"{pred_field}.classifications.label"),
                     view.values(f"{pred_field}.classifications.confidence"))]
    changes = []
    for sid, old, pred in zip(sids, olds, preds):
        if pred is None:
            continue  # no prediction: nothing to copy
        kept = [label for label, conf in pred if (1.0 if conf is None else conf) >= low]
        if kind == "classification":
            if kept:
                changes.append((sid, kept[0], old))
        else:
            changes.append((sid, sorted(set(kept)), old))
    return edits.set_labels(root, changes, annotator, reason or f"labels replaced from {pred_field!r}",
                            field=gt_field, on_conflict="skip",
                            meta={"pred_field": pred_field, "min_confidence": min_confidence})


@store.dataset_or_name
def create_spot_check(dataset, name: str, per_class: int = 10, batch_id: str | None = None, seed: int = 0,
                      gt_field: str = "ground_truth", created_by: str = "") -> dict:
    """A review queue of up to ``per_class`` auto-labels per class (of ``batch_id``, else of every sample still
    tagged ``auto_label``), drawn at random; reviewers accept or fix each. Returns the queue definition."""
    root = dataset._root_dataset
    if batch_id is None:
        view = root.match_tags(TAG)
        ids, labels = view.values("id"), view.values(f"{gt_field}.label")
        entries = audit.find(root, field=gt_field, annotator=ANNOTATOR)
    else:
        entries = [e for e in audit.find(root, batch_id=str(batch_id), field=gt_field) if not e["undone"]]
        ids = [e["sample_id"] for e in entries]
        labels = [e["new"] for e in entries]
    if not ids:
        raise ValueError("There are no auto-labels to check. Fix: apply auto-labels first.")
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"sample_id": ids, "label": labels})
    picked = [sid for _, group in frame.groupby("label", sort=True)
              for sid in rng.permutation(group["sample_id"].to_numpy())[:per_class]]
    expected = entries[0].get("meta", {}).get("expected_precision", {}) if entries else {}
    return lq.create_queue(root, name, picked, field=gt_field, created_by=created_by, mode="review",
                           source=f"spot check of auto-labels ({per_class} per class)",
                           meta={"batch_id": batch_id, "expected_precision": expected})


@store.dataset_or_name
def spot_check_report(dataset, name: str) -> pd.DataFrame:
    """Per auto-label class of a spot-check queue: reviewed, confirmed, the observed precision (95 % Wilson
    interval) and the precision expected when the labels were applied; a last row "all"."""
    root = dataset._root_dataset
    definition = lq.get_queue(root, name)
    items = lq.items_frame(root, name)
    answers = annotations.find(root, queue_id=str(definition["_id"]))
    verdict: dict[str, list[bool]] = {}
    base = dict(zip(items["sample_id"], items["base"]))
    for a in answers:
        verdict.setdefault(a["sample_id"], []).append(a["label"] == base[a["sample_id"]])
    items["checked"] = items["sample_id"].isin(verdict)
    items["correct"] = [all(verdict.get(s, [False])) for s in items["sample_id"]]
    expected = definition.get("meta", {}).get("expected_precision", {})
    rows = []
    for cls, group in list(items.groupby("base", sort=True)) + [("all", items)]:
        checked, correct = int(group["checked"].sum()), int((group["checked"] & group["correct"]).sum())
        low, high = _wilson(correct, checked)
        rows.append({"class": cls, "in_queue": len(group), "checked": checked, "correct": correct,
                     "observed_precision": correct / checked if checked else float("nan"),
                     "precision_low": low, "precision_high": high,
                     "expected_precision": expected.get(cls, float("nan")) if cls != "all" else float("nan")})
    return pd.DataFrame(rows)
