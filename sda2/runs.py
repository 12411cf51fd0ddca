"""Computed write-backs recorded as FiftyOne runs that say whether they finished.

A compute step that writes fields onto many samples calls :func:`begin` first (the run is registered as
``pending``, with the fields it will write and the process that writes them), writes, then calls
:func:`complete`. A process killed in between leaves a pending run: readers treat its fields as absent
(:func:`incomplete_fields`), and recovery (:func:`clear`, run by ``sda2.recovery`` when the writer is dead)
removes the half-written fields, so no page ever shows half the samples scored.

Every computed result is such a run (embeddings, maps, predictions, issue checks, thresholds): it records its
``kind``, its parameters, the label version it was computed at (:mod:`sda2.label_versions`), the fields and
the arrays (:mod:`sda2.arrays`) it owns. :func:`list_runs` lists the complete ones with how many labels were
edited since (:func:`run_staleness`); :func:`delete_run` removes a run with its fields and array files.
Arrays stored by an older sda2 (a JSON record beside each, no run) are adopted as runs on first use
(:func:`adopt_arrays`).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timezone

import pandas as pd

from sda2 import arrays as stored_arrays, liveness, store  # noqa: F401  (store starts the database first)
from sda2.label_versions import changes_since, label_version, version_at

import fiftyone.core.odm as foo  # noqa: E402

METHOD = "sda2"  # the ``method`` of every run sda2 records
PENDING, COMPLETE = "pending", "complete"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(value):
    """``value`` as plain JSON types (numpy scalars as numbers, anything else unknown as text)."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


KINDS = {"sda2_issue_": "issue", "sda2_label_issues": "label_issues", "sda2_duplicates": "duplicates",
         "sda2_thresholds": "thresholds"}  # the kind of runs recorded before runs said their kind


def kind_of(key: str, config: dict) -> str:
    """The kind of run ``key`` (embeddings, map, predictions, issue, label_issues, duplicates, thresholds, …)."""
    if config.get("kind"):
        return config["kind"]
    return next((kind for prefix, kind in KINDS.items() if key.startswith(prefix)), "other")


def array_run_key(array_key: str) -> str:
    """The run key of the result stored as array ``array_key`` (``sda2_<array key>``, made a valid name)."""
    return "sda2_" + "".join(c if c.isalnum() or c == "_" else "_" for c in array_key)


def begin(dataset, key: str, fields, info_key: str | None = None, params: dict | None = None, *,
          kind: str | None = None, arrays=(), label_version_used: int | None = None) -> None:
    """Record run ``key`` as pending (its fields and arrays, its writer, its ``params``, the label version it
    used: the one now unless ``label_version_used`` was read when the labels were) before anything is written."""
    owner = {**liveness.owner(), "at": _now()}
    version = label_version(dataset) if label_version_used is None else int(label_version_used)
    config = dataset.init_run(method=METHOD, status=PENDING, kind=kind or kind_of(key, {}), fields=list(fields),
                              arrays=list(arrays), info_key=info_key, owner=owner, started=owner["at"],
                              params=_jsonable(params or {}), label_version=version)
    dataset.register_run(key, config, overwrite=True, cleanup=False)


def complete(dataset, key: str, **summary) -> None:
    """Mark run ``key`` complete (all its fields written), with a JSON-able ``summary`` of what it found."""
    config = dataset.get_run_info(key).config
    config.status = COMPLETE
    config.finished = _now()
    config.summary = _jsonable(summary)
    dataset.update_run_config(key, config)


@contextmanager
def recording(dataset, key: str, kind: str, fields=(), arrays=(), params: dict | None = None,
              label_version_used: int | None = None, summary: dict | None = None):
    """``with recording(...):`` write a result: run ``key`` pending before, complete (with ``summary``) after.

    An exception inside clears what was written (the run's fields and arrays), as recovery would after a kill.
    """
    begin(dataset, key, fields, params=params, kind=kind, arrays=arrays, label_version_used=label_version_used)
    try:
        yield
    except BaseException:
        clear(dataset, key)
        raise
    complete(dataset, key, **(summary or {}))


def record(dataset, key: str, kind: str, params: dict | None = None, fields=(), arrays=(), **summary) -> None:
    """Record a result already stored (owning the ``fields`` and ``arrays`` given) as complete run ``key``."""
    begin(dataset, key, fields, params=params, kind=kind, arrays=arrays)
    complete(dataset, key, **summary)


def _docs(dataset, query: dict | None = None) -> list[dict]:
    """The stored run documents of ``dataset`` recorded by sda2, read fresh from the database."""
    return list(foo.get_db_conn().runs.find({"_dataset_id": dataset._root_dataset._doc.id, "config.method": METHOD,
                                             **(query or {})}, {"key": 1, "config": 1}))


def state(dataset, key: str) -> str | None:
    """``"complete"``, ``"running"`` (writer alive), ``"interrupted"`` (writer dead), or None (no such run)."""
    docs = _docs(dataset, {"key": key})
    if not docs:
        return None
    config = docs[0]["config"]
    if config.get("status") == COMPLETE:
        return COMPLETE
    return "running" if liveness.is_alive(config.get("owner")) else "interrupted"


def incomplete(dataset) -> list[dict]:
    """The dataset's runs that are not complete: key, fields, started, and whether the writer is alive."""
    return [{"key": d["key"], "fields": list(d["config"].get("fields") or []), "started": d["config"].get("started"),
             "alive": liveness.is_alive(d["config"].get("owner"))}
            for d in _docs(dataset, {"config.status": {"$ne": COMPLETE}})]


def incomplete_fields(dataset) -> set[str]:
    """Fields written by runs that have not completed: readers must treat them as absent."""
    return {f for run in incomplete(dataset) for f in run["fields"]}


def incomplete_arrays(dataset) -> set[str]:
    """Arrays written by runs that have not completed: readers must treat them as absent."""
    return {a for d in _docs(dataset, {"config.status": {"$ne": COMPLETE}}) for a in d["config"].get("arrays") or []}


def clear(dataset, key: str) -> list[str]:
    """Remove run ``key``, every field it writes (values, schema, info summary) and its arrays; the fields."""
    dataset = dataset._root_dataset  # the fields are the dataset's, whatever view the run was made on
    docs = _docs(dataset, {"key": key})
    if not docs:
        return []
    config = docs[0]["config"]
    fields = list(config.get("fields") or [])
    if fields:  # values first, so a recovery interrupted here is simply run again
        dataset._sample_collection.update_many({}, {"$unset": {f: "" for f in fields}})
    dataset.reload()
    schema = dataset.get_field_schema()
    present = [f for f in fields if f in schema]
    if present:
        dataset.delete_sample_fields(present)
    for array_key in config.get("arrays") or []:
        stored_arrays.delete(dataset, array_key)
    if config.get("info_key") and config["info_key"] in dataset.info:
        dataset.info = {k: v for k, v in dataset.info.items() if k != config["info_key"]}
        dataset.save()
    if dataset.has_run(key):
        dataset.delete_run(key)
    return fields


# ---------------------------------------------------------------- every result, listed

def _doc_summary(key: str, config: dict) -> dict:
    return {"key": key, "kind": kind_of(key, config), "parameters": dict(config.get("params") or {}),
            "label_version": config.get("label_version"), "completed_at": config.get("finished"),
            "fields": list(config.get("fields") or []), "arrays": list(config.get("arrays") or []),
            "summary": dict(config.get("summary") or {})}


def run_record(dataset, key: str) -> dict | None:
    """The record of complete run ``key``: kind, parameters, label version, completed at, fields, arrays, summary."""
    docs = _docs(store.as_dataset(dataset)._root_dataset, {"key": key, "config.status": COMPLETE})
    return _doc_summary(key, docs[0]["config"]) if docs else None


def run_staleness(dataset_or_name, key: str) -> int | None:
    """How many labels were edited since run ``key`` was computed (net: an undone edit counts no more); None
    when there is no such complete run."""
    dataset = store.as_dataset(dataset_or_name)
    adopt_arrays(dataset)
    found = run_record(dataset, key)
    if found is None:
        return None
    return changes_since(dataset, found["label_version"] or 0)


def owner_of(dataset_or_name, name: str) -> str | None:
    """The key of the complete run that owns field or array ``name`` (the newest when several list it)."""
    dataset = store.as_dataset(dataset_or_name)
    adopt_arrays(dataset)
    docs = _docs(dataset._root_dataset, {"config.status": COMPLETE,
                                         "$or": [{"config.fields": name}, {"config.arrays": name}]})
    docs.sort(key=lambda d: d["config"].get("finished") or "")
    return docs[-1]["key"] if docs else None


COLUMNS = ["key", "kind", "parameters", "label_version", "completed_at", "fields", "arrays", "edits_since",
           "stale", "summary"]


def list_runs(dataset_or_name) -> pd.DataFrame:
    """Every complete computed result of the dataset: key, kind, parameters, label version, completed at, the
    fields and arrays it owns, label edits since (``edits_since``) and ``stale`` (edited since), newest first."""
    dataset = store.as_dataset(dataset_or_name)
    adopt_arrays(dataset)
    rows = []
    for doc in _docs(dataset._root_dataset, {"config.status": COMPLETE}):
        row = _doc_summary(doc["key"], doc["config"])
        row["edits_since"] = changes_since(dataset, row["label_version"] or 0)
        row["stale"] = row["edits_since"] > 0
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.sort_values("completed_at", ascending=False, na_position="last").reset_index(drop=True)


def delete_run(dataset_or_name, key: str) -> dict:
    """Delete run ``key`` with the fields (from every sample) and the array files it owns; what was removed."""
    dataset = store.as_dataset(dataset_or_name)
    adopt_arrays(dataset)
    docs = _docs(dataset._root_dataset, {"key": key})
    if not docs:
        known = ", ".join(sorted(d["key"] for d in _docs(dataset._root_dataset))) or "none"
        raise KeyError(f"No run {key!r} on {dataset.name!r} (runs: {known}). Fix: pick a key from "
                       "sda2.list_runs(dataset).")
    owned = list(docs[0]["config"].get("arrays") or [])
    fields = clear(dataset, key)
    return {"key": key, "fields": fields, "arrays": owned}


# ---------------------------------------------------------------- arrays stored before runs: adopted

def array_kind(array_key: str, record: dict) -> str | None:
    """The kind of result an array's JSON record describes (embeddings, map, predictions), None for a cache."""
    if record.get("kind") == "embeddings":
        return "embeddings"
    if record.get("embeddings_key") and record.get("method"):
        return "map"
    if record.get("field") and "classes" in record:
        return "predictions"
    return None


LEFT_OUT = {"key", "shape", "dtype", "created_at", "skipped", "excluded", "notes", "calibration", "classes"}


def adopt_arrays(dataset) -> list[str]:
    """Record each result array an older sda2 stored (JSON beside it, no run owns it) as a complete run, at the
    label version of its creation time; the run keys added."""
    dataset = store.as_dataset(dataset)._root_dataset
    owned = {a for d in _docs(dataset) for a in d["config"].get("arrays") or []}
    added = []
    for array_key in stored_arrays.list_keys(dataset):
        if array_key in owned:
            continue
        try:
            info = stored_arrays.info(dataset, array_key)
        except (OSError, ValueError):
            continue
        kind = array_kind(array_key, info)
        if kind is None:
            continue
        key = array_run_key(array_key)
        adopt(dataset, key, kind, [info["field"]] if kind == "predictions" else [], [array_key],
              {k: v for k, v in info.items() if k not in LEFT_OUT}, info.get("created_at"),
              {k: info[k] for k in ("accuracy", "shape") if k in info})
        added.append(key)
    return added


def adopt(dataset, key: str, kind: str, fields, arrays, params: dict, created_at: str | None,
          summary: dict, info_key: str | None = None) -> None:
    """Record a result an older sda2 stored without a run as complete run ``key``, made at ``created_at`` (so
    at the label version of that time; the version now when the time is unknown)."""
    created = created_at or _now()
    begin(dataset, key, fields, info_key=info_key, params=params, kind=kind, arrays=arrays,
          label_version_used=version_at(dataset, created) if created_at else None)
    config = dataset.get_run_info(key).config
    config.status, config.finished, config.adopted = COMPLETE, created, True
    config.summary = _jsonable(summary)
    dataset.update_run_config(key, config)
