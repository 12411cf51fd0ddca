"""Views shaped by curation: what training and export see, the review queue, duplicate groups."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sda2 import arrays, runs, store
from sda2.curation import audit

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)
from fiftyone import ViewField as F  # noqa: E402

LABEL_ISSUE_FIELDS = ("label_quality", "is_label_issue", "suggested_label")
DUPLICATE_FIELDS = ("duplicate_group", "is_duplicate", "duplicate_similarity")


@store.dataset_or_name
def training_view(dataset):
    """``dataset`` (or a view) without the samples marked excluded: what training and export must use."""
    return dataset.match_tags("excluded", bool=False)


def has_fields(dataset, names) -> bool:
    """True when every field in ``names`` is in the dataset's schema (e.g. detection has run) and no run that
    did not complete (killed mid write-back, or still writing) owns one of them."""
    schema = dataset.get_field_schema()
    return all(n in schema for n in names) and not runs.incomplete_fields(dataset) & set(names)


@store.dataset_or_name
def review_queue(dataset):
    """Label suspects not yet reviewed, most likely wrong first (needs the label-issue fields)."""
    if not has_fields(dataset, LABEL_ISSUE_FIELDS):
        raise ValueError(f"{dataset.name!r} has no label-issue fields yet ({', '.join(LABEL_ISSUE_FIELDS)}). "
                         "Fix: run label-issue detection first.")
    return dataset.match(F("is_label_issue") == True).match_tags("reviewed", bool=False).sort_by(  # noqa: E712
        "label_quality")


def suspects_frame(view, label_field: str = "ground_truth", limit: int | None = None) -> pd.DataFrame:
    """One row per sample of ``view`` (a review queue): id, image, given and suggested label, score, split."""
    if limit:
        view = view.limit(limit)
    label_path = store.label_path(view._root_dataset, label_field)
    split = view.values("split") if "split" in view.get_field_schema() else [None] * len(view)
    frame = pd.DataFrame({"sample_id": view.values("id"), "filepath": view.values("filepath"),
                          "label": view.values(label_path), "suggested_label": view.values("suggested_label"),
                          "label_quality": view.values("label_quality"), "split": split})
    if label_path.endswith(".detections.label"):
        frame["boxes"] = [[(d.label, d.bounding_box) for d in (dets.detections if dets else [])]
                          for dets in view.values(label_field)]
    return frame


def probabilities(dataset, sample_ids) -> tuple[list[str], np.ndarray] | None:
    """(classes, rows) of the stored class probabilities for ``sample_ids``; None when none are stored."""
    if not arrays.exists(dataset, "probabilities"):
        return None
    classes = [str(c) for c in arrays.info(dataset, "probabilities").get("classes", [])]
    _, rows = arrays.load(dataset, "probabilities", ids=list(sample_ids))
    return (classes or [str(i) for i in range(rows.shape[1])]), rows


@store.dataset_or_name
def review_progress(dataset, label_field: str = "ground_truth") -> dict:
    """Counts for the label review: suspects, reviewed suspects, remaining, and samples whose label was fixed."""
    suspects = dataset.match(F("is_label_issue") == True)  # noqa: E712
    total = len(suspects)
    reviewed = len(suspects.match_tags("reviewed"))
    fixed = len(audit.collection(dataset).distinct("sample_id", {"field": label_field, "undone": False,
                                                                 "kind": "label", **audit.APPLIED}))
    return {"suspects": total, "reviewed": reviewed, "remaining": total - reviewed, "fixed": fixed}


def _class_labels(view, schema) -> list:
    """The ground_truth class of each sample of ``view`` (None where it has no single-class label)."""
    field = schema.get("ground_truth")
    if getattr(field, "document_type", None) is not fo.Classification:
        return [None] * len(view)
    return view.values("ground_truth.label")


def issue_view(dataset, name: str):
    """The samples flagged by issue check ``name`` (``is_<name>_issue``, the sda2.issues contract), most likely
    an issue first (lowest ``<name>_score``); raises ValueError when the check has not run to completion."""
    flag, score = f"is_{name}_issue", f"{name}_score"
    if not has_fields(dataset._root_dataset, (flag, score)):
        raise ValueError(f"{dataset._root_dataset.name!r} has no results of the {name!r} check yet ({flag}, {score}). "
                         f"Fix: run sda2.find_issues(dataset, types=[{name!r}]).")
    return dataset.match(F(flag) == True).sort_by(score)  # noqa: E712


def flagged_frame(dataset, name: str, label_field: str | None = "ground_truth", limit: int | None = None,
                  skip: int = 0) -> pd.DataFrame:
    """One row per sample flagged by check ``name`` (of ``dataset`` or a view): id, filepath, score, label,
    tags, reviewed, excluded; lowest score first, rows ``skip`` to ``skip + limit``."""
    view = issue_view(dataset, name).skip(skip)
    if limit:
        view = view.limit(limit)
    schema = view.get_field_schema()
    label = (view.values(store.label_path(view._root_dataset, label_field))
             if label_field and label_field in schema else [None] * len(view))
    tags = view.values("tags")
    return pd.DataFrame({"id": view.values("id"), "filepath": view.values("filepath"),
                         f"{name}_score": view.values(f"{name}_score"), "label": label, "tags": tags,
                         "reviewed": ["reviewed" in (t or []) for t in tags],
                         "excluded": ["excluded" in (t or []) for t in tags]})


@store.dataset_or_name
def duplicate_groups(dataset) -> pd.DataFrame:
    """Members of near/exact duplicate groups, one row each, with review state; unresolved groups first.

    Columns: duplicate_group, sample_id, filepath, split, duplicate_similarity, is_duplicate,
    is_exact_duplicate, crosses_split, reviewed, excluded, resolved (every member of the group reviewed).
    """
    if not has_fields(dataset, DUPLICATE_FIELDS):
        raise ValueError(f"{dataset.name!r} has no duplicate fields yet ({', '.join(DUPLICATE_FIELDS)}). "
                         "Fix: run duplicate detection first.")
    view = dataset.match(F("duplicate_group") >= 0)
    schema = view.get_field_schema()
    optional = {name: view.values(name) if name in schema else [default] * len(view)
                for name, default in (("split", None), ("is_exact_duplicate", False), ("crosses_split", False))}
    tags = view.values("tags")
    frame = pd.DataFrame({"duplicate_group": view.values("duplicate_group"), "sample_id": view.values("id"),
                          "filepath": view.values("filepath"), "split": optional["split"],
                          "duplicate_similarity": view.values("duplicate_similarity"),
                          "is_duplicate": view.values("is_duplicate"),
                          "is_exact_duplicate": optional["is_exact_duplicate"],
                          "crosses_split": optional["crosses_split"],
                          "reviewed": ["reviewed" in (t or []) for t in tags],
                          "excluded": ["excluded" in (t or []) for t in tags],
                          "label": _class_labels(view, schema)})
    for column in ("is_duplicate", "is_exact_duplicate", "crosses_split"):
        frame[column] = frame[column].fillna(False).astype(bool)
    group = frame.groupby("duplicate_group")
    frame["resolved"] = group["reviewed"].transform("all")
    frame["group_crosses_split"] = group["crosses_split"].transform("any")
    frame["group_similarity"] = group["duplicate_similarity"].transform("max")
    return frame.sort_values(["resolved", "group_crosses_split", "group_similarity", "duplicate_group",
                              "is_duplicate"], ascending=[True, False, False, True, True]).reset_index(drop=True)
