"""The one writer of issue fields: a check's result written in bulk, recorded as the FiftyOne run of the check.

Run ``sda2_issue_<name>`` is recorded pending (with the fields it writes) before the first value is written
and complete, with the check's summary, after the last (``sda2.runs``): a process killed midway leaves a run
that readers treat as absent and recovery clears. Deleting the run (:func:`delete_result`) removes its fields.
Fields the check writes that an older run also listed (e.g. ``is_label_issue`` of ``sda2_label_issues``)
move to this run, so deleting the older run no longer removes the newer values.
"""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd

from sda2 import faults, runs, store
from sda2.compute.label_issues import write_fields
from sda2.issues.base import IssueCheck, IssueResult

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)

RUN_PREFIX = "sda2_issue_"


def run_key(name: str) -> str:
    """The FiftyOne run key of check ``name``."""
    return RUN_PREFIX + name


def _column(values: pd.Series) -> list:
    """Plain Python values for MongoDB: NaN floats become None, numpy scalars Python scalars."""
    array = values.to_numpy()
    if array.dtype.kind == "f":
        return [None if np.isnan(v) else float(v) for v in array]
    if array.dtype.kind in "biu":
        return array.tolist()
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in array.tolist()]


def _take_over(dataset, key: str, fields: list[str]) -> None:
    """Drop ``fields`` from the field lists of other sda2 runs: from now on run ``key`` owns them."""
    for other in dataset.list_runs():
        if other == key:
            continue
        config = dataset.get_run_info(other).config
        owned = list(getattr(config, "fields", None) or [])
        if getattr(config, "method", None) == runs.METHOD and set(owned) & set(fields):
            config.fields = [f for f in owned if f not in fields]
            dataset.update_run_config(other, config)


def write_result(dataset, check: IssueCheck, result: IssueResult, params: dict | None = None) -> dict:
    """Write ``result`` of ``check`` onto ``dataset`` as run ``sda2_issue_<name>``; returns the stored summary."""
    key = run_key(check.name)
    frame = result.frame
    fields = list(frame.columns)
    schema = dataset.get_field_schema()
    _take_over(dataset, key, fields)
    runs.begin(dataset, key, fields, params={"check": check.name, **(params or {})})
    for name, ftype in ((check.flag_field, fo.BooleanField), (check.score_field, fo.FloatField)):
        if name not in schema:  # declared first: an all-NaN score must still be a float field
            dataset.add_sample_field(name, ftype)
    write_fields(dataset, frame.index.tolist(), {c: _column(frame[c]) for c in fields})
    faults.point("issues.writer.written")
    summary = {**{k: v if isinstance(v, (bool, int, float, str, list, dict)) or v is None else str(v)
                  for k, v in result.summary.items()},
               "check": check.name, "samples": len(frame),
               "computed_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    runs.complete(dataset, key, **summary)
    return summary


def status(dataset_or_name, name: str) -> str | None:
    """``"complete"``, ``"running"``, ``"interrupted"`` or None (never run) for check ``name``."""
    return runs.state(store.as_dataset(dataset_or_name), run_key(name))


def stored_summary(dataset_or_name, name: str) -> dict | None:
    """The summary of check ``name``'s complete run (None when it never completed)."""
    dataset = store.as_dataset(dataset_or_name)
    if status(dataset, name) != runs.COMPLETE:
        return None
    dataset.reload()
    config = dataset.get_run_info(run_key(name)).config
    return dict(getattr(config, "summary", None) or {})


def delete_result(dataset_or_name, name: str) -> list[str]:
    """Delete check ``name``'s run and every field it wrote; returns the fields removed."""
    return runs.clear(store.as_dataset(dataset_or_name), run_key(name))
