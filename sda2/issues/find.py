"""``find_issues``: run registered checks on a dataset, computing what they need, and write their fields.

    import sda2
    sda2.issue_types()                                   # ['label', 'near_duplicate', 'outlier', ...]
    sda2.find_issues("digits", types=["dark", "blurry"])  # one row per check: status, issues, scored, seconds

Each check's fields are written through ``sda2.issues.writer`` as FiftyOne run ``sda2_issue_<name>``.
A check that cannot run (no labels, detections without predictions, an unreadable input) is reported with
its reason in the summary and a warning; the other checks go on and nothing stored is damaged.
"""

from __future__ import annotations

import time
import warnings

import pandas as pd

from sda2 import arrays, store
from sda2.compute.embeddings import compute_embeddings, default_model, embedding_keys
from sda2.compute.predictions import compute_predictions, probabilities_key
from sda2.issues import writer
from sda2.issues.base import IssueCheck, IssueContext, check_result
from sda2.issues.registry import get, issue_types

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)

COLUMNS = ["check", "needs", "status", "issues", "scored", "samples", "seconds", "message"]


class NeedMissing(Exception):
    """A check's input is absent and cannot be computed here."""


def _has_predictions(dataset, pred_field: str) -> bool:
    return arrays.exists(dataset, probabilities_key(pred_field)) or pred_field in dataset.get_field_schema()


def _prepare(context: IssueContext, need: str, compute_missing: bool) -> None:
    """Make ``need`` available for ``context``'s dataset, computing it when allowed; NeedMissing if not."""
    dataset = context.dataset
    if need == "labels":
        if context.label_field not in {f.name for f in store.label_fields(dataset)}:
            raise NeedMissing(f"no label field {context.label_field!r}. Fix: import labels, or pass label_field=.")
    elif need == "predictions" and not _has_predictions(dataset, context.pred_field):
        if not compute_missing:
            raise NeedMissing(f"no predictions {context.pred_field!r}. Fix: run sda2.compute_predictions(dataset) "
                              "or pass compute_missing=True.")
        try:
            context.shared(("predictions", context.pred_field),
                           lambda: compute_predictions(dataset, gt_field=context.label_field,
                                                       pred_field=context.pred_field))
        except (ValueError, KeyError) as exc:
            raise NeedMissing(f"predictions could not be computed: {exc}") from exc
    elif need == "embeddings" and not embedding_keys(dataset):
        if not compute_missing:
            raise NeedMissing("no embeddings. Fix: run sda2.compute_embeddings(dataset) or pass compute_missing=True.")
        context.shared("embeddings", lambda: compute_embeddings(dataset, model=default_model(dataset),
                                                                progress=context.report or context.progress))


def _run(check: IssueCheck, context: IssueContext, compute_missing: bool, params: dict) -> dict:
    row = {"check": check.name, "needs": ", ".join(check.needs), "samples": len(context.ids)}
    start = time.perf_counter()
    try:
        for need in check.needs:
            _prepare(context, need, compute_missing)
        result = check.find(context)
        check_result(check, context.ids, result)
        summary = writer.write_result(context.dataset, check, result, params)
    except NeedMissing as exc:
        return {**row, "status": "skipped", "issues": None, "scored": None, "message": f"Skipped: {exc}",
                "seconds": time.perf_counter() - start}
    except (ValueError, KeyError) as exc:  # bad input: say so, keep going with the other checks
        return {**row, "status": "failed", "issues": None, "scored": None, "message": f"Failed: {exc}",
                "seconds": time.perf_counter() - start}
    return {**row, "status": "found", "issues": summary["issues"], "scored": summary["scored"],
            "message": str(summary.get("message", "")), "seconds": time.perf_counter() - start}


def find_issues(dataset_or_name, types=None, annotator: str | None = None, *, label_field: str = "ground_truth",
                pred_field: str = "predictions", compute_missing: bool = True, progress=True,
                options: dict | None = None) -> pd.DataFrame:
    """Run the checks ``types`` (default: all registered) and write their fields; one summary row per check.

    ``annotator`` (who asked) is recorded with each run; ``options`` maps a check name to its keyword options
    (e.g. ``{"outlier": {"outlier_fraction": 0.02}, "blurry": {"threshold": 0.4}}``). ``progress``: True for
    tqdm bars, False for none, or a callable ``progress(fraction, eta_s, text)`` that checks able to report
    (label issues, embeddings) move.
    """
    dataset = store.as_dataset(dataset_or_name)
    if not isinstance(dataset, fo.Dataset):
        raise ValueError("find_issues writes fields for a whole dataset; pass the dataset (or its name), not a view.")
    if not len(dataset):
        raise ValueError(f"Dataset {dataset.name!r} is empty: nothing to check. Fix: import samples first.")
    names = issue_types() if types is None else [types] if isinstance(types, str) else list(dict.fromkeys(types))
    checks = [get(name) for name in names]  # an unknown name fails here, before anything runs
    unknown = sorted(set(options or {}) - set(issue_types()))
    if unknown:
        raise KeyError(f"options name unknown checks {unknown}. Registered: {', '.join(issue_types())}.")
    report = progress if callable(progress) else None
    context = IssueContext(dataset, label_field, pred_field, report is None and bool(progress), options)
    context.report = report
    params = {"label_field": label_field, "pred_field": pred_field, "by": annotator or ""}
    rows = [_run(check, context, compute_missing, {**params, **context.options_for(check.name)}) for check in checks]
    frame = pd.DataFrame(rows, columns=COLUMNS).set_index("check")
    for name, row in frame[frame.status != "found"].iterrows():
        warnings.warn(f"Issue check {name!r} on {dataset.name!r}: {row.message}", stacklevel=2)
    return frame


def issue_overview(dataset_or_name) -> pd.DataFrame:
    """Every registered check with its description, needs, state and stored counts (one row per check)."""
    dataset = store.as_dataset(dataset_or_name)
    rows = []
    for name in issue_types():
        check = get(name)
        state = writer.status(dataset, name)
        summary = writer.stored_summary(dataset, name) if state == "complete" else None
        rows.append({"check": name, "description": check.description, "needs": ", ".join(check.needs),
                     "state": state or "not run", "issues": None if summary is None else summary.get("issues"),
                     "scored": None if summary is None else summary.get("scored"),
                     "computed_at": None if summary is None else summary.get("computed_at")})
    return pd.DataFrame(rows, columns=["check", "description", "needs", "state", "issues", "scored", "computed_at"])
