"""Computed write-backs recorded as FiftyOne runs that say whether they finished.

A compute step that writes fields onto many samples calls :func:`begin` first (the run is registered as
``pending``, with the fields it will write and the process that writes them), writes, then calls
:func:`complete`. A process killed in between leaves a pending run: readers treat its fields as absent
(:func:`incomplete_fields`), and recovery (:func:`clear`, run by ``sda2.recovery`` when the writer is dead)
removes the half-written fields, so no page ever shows half the samples scored.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sda2 import liveness, store  # noqa: F401  (store starts the database before FiftyOne connects)

import fiftyone.core.odm as foo  # noqa: E402

METHOD = "sda2"  # the ``method`` of every run sda2 records
PENDING, COMPLETE = "pending", "complete"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def begin(dataset, key: str, fields, info_key: str | None = None, params: dict | None = None) -> None:
    """Record run ``key`` as pending (its fields, its writer, its ``params``) before any field is written."""
    owner = {**liveness.owner(), "at": _now()}
    config = dataset.init_run(method=METHOD, status=PENDING, fields=list(fields), info_key=info_key, owner=owner,
                              started=owner["at"], params={k: str(v) for k, v in (params or {}).items()})
    dataset.register_run(key, config, overwrite=True, cleanup=False)


def complete(dataset, key: str, **summary) -> None:
    """Mark run ``key`` complete (all its fields written), with a JSON-able ``summary`` of what it found."""
    config = dataset.get_run_info(key).config
    config.status = COMPLETE
    config.finished = _now()
    config.summary = summary
    dataset.update_run_config(key, config)


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


def clear(dataset, key: str) -> list[str]:
    """Remove run ``key`` and every field it writes (values, schema, info summary); the fields removed."""
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
    if config.get("info_key") and config["info_key"] in dataset.info:
        dataset.info = {k: v for k, v in dataset.info.items() if k != config["info_key"]}
        dataset.save()
    if dataset.has_run(key):
        dataset.delete_run(key)
    return fields
