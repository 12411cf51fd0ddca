"""Every computed result of a dataset as a FiftyOne run: list, delete, how stale; older records adopted.

The runs themselves are written by the compute steps through :mod:`sda2.runs`. Results an older sda2 recorded
elsewhere are adopted as runs the first time they are listed here: arrays with a JSON record beside them
(:func:`sda2.runs.adopt_arrays`) and the label-issue and duplicate summaries kept in ``dataset.info``
(``sda2_label_issues``, ``sda2_duplicates``) whose fields are on the samples but which no run records.
"""

from __future__ import annotations

import pandas as pd

from sda2 import runs, store
from sda2.compute import duplicates, label_issues

LEGACY_INFO = {label_issues.RUN_KEY: ("label_issues", list(label_issues.FIELDS)),
               duplicates.RUN_KEY: ("duplicates", list(duplicates.FIELDS))}


def adopt_legacy(dataset_or_name) -> list[str]:
    """Record as runs the results older sda2 versions kept as ``dataset.info`` keys or array JSON; keys added."""
    dataset = store.as_dataset(dataset_or_name)._root_dataset
    added = runs.adopt_arrays(dataset)
    schema = dataset.get_field_schema()
    for key, (kind, fields) in LEGACY_INFO.items():
        summary = dataset.info.get(key)
        present = [f for f in fields if f in schema]
        if not isinstance(summary, dict) or not present or runs.state(dataset, key) is not None:
            continue
        params = {k: summary[k] for k in ("gt_field", "pred_field", "embeddings") if k in summary}
        runs.adopt(dataset, key, kind, present, [], params, summary.get("created_at"), summary, info_key=key)
        added.append(key)
    return added


def list_runs(dataset_or_name) -> pd.DataFrame:
    """Every computed result (a complete run): key, kind, parameters, label version, completed at, fields,
    arrays, label edits since and whether that makes it stale."""
    adopt_legacy(dataset_or_name)
    return runs.list_runs(dataset_or_name)


def delete_run(dataset_or_name, key: str) -> dict:
    """Delete computed result ``key``: its run, its fields on every sample and its array files."""
    adopt_legacy(dataset_or_name)
    return runs.delete_run(dataset_or_name, key)


def run_staleness(dataset_or_name, key: str) -> int | None:
    """Labels edited since result ``key`` was computed (an undone edit no longer counts); None if no such run."""
    adopt_legacy(dataset_or_name)
    return runs.run_staleness(dataset_or_name, key)


def result_owner(dataset_or_name, name: str) -> str | None:
    """The key of the computed result that owns field or array ``name`` (None when none does)."""
    adopt_legacy(dataset_or_name)
    return runs.owner_of(dataset_or_name, name)
