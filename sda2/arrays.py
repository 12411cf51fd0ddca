"""Large per-sample arrays (embeddings, probabilities, 2-D maps) kept as .npy files beside the database.

Reading 100k rows from MongoDB documents is slow; a memory-mapped .npy is not. Each array is stored with
the sample ids it is aligned to and a small JSON record of what produced it (like a FiftyOne run: a
key, the parameters, when), so it can be listed, reloaded, checked against the dataset and deleted.

Every function takes the dataset (or a view of it) or its name. The folder is keyed by the dataset's
id (``config.arrays_dir``), which survives renames and can never be a path; a folder left under the
dataset's name by an older sda2 (``arrays/<database>/<name>``) is moved to the id on first use.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from sda2 import config, names, store


def folder(dataset_or_name) -> Path:
    """The folder holding the arrays of a dataset (given as a dataset, a view of one, or a name)."""
    dataset_id = store.dataset_id(dataset_or_name)
    path = config.arrays_dir(dataset_id)
    if not path.exists():
        _migrate_name_folder(store.dataset_name(dataset_or_name), path)
    return path


def _migrate_name_folder(name: str | None, id_folder: Path) -> None:
    """Move an older sda2's ``arrays/<database>/<name>`` to the id folder, when it is a plain folder there."""
    if not names.is_valid_dataset_name(name) or config.OBJECT_ID.fullmatch(name):
        return
    legacy = id_folder.parent / name
    if legacy.is_symlink() or not legacy.is_dir() or legacy.resolve().parent != id_folder.parent.resolve():
        return
    try:
        os.rename(legacy, id_folder)
    except OSError:  # another process moved it first, or the id folder appeared meanwhile
        pass


def _paths(dataset_or_name, key: str) -> tuple[Path, Path, Path]:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise ValueError(f"Invalid array key {key!r}: use a plain name such as 'embeddings_effnet'.")
    where = folder(dataset_or_name)
    return where / f"{key}.npy", where / f"{key}.ids.npy", where / f"{key}.json"


def save(dataset_or_name, key: str, ids, values: np.ndarray, **info) -> None:
    """Store ``values`` (one row per id in ``ids``) under ``key``, with ``info`` describing how it was made."""
    values = np.asarray(values)
    ids = np.asarray([str(i) for i in ids])
    if len(ids) != len(values):
        raise ValueError(f"{len(ids)} sample ids but {len(values)} rows: they must be aligned one to one.")
    data_path, ids_path, info_path = _paths(dataset_or_name, key)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    for path, array in ((data_path, values), (ids_path, ids)):
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, array)
        tmp.replace(path)
    record = {"key": key, "shape": list(values.shape), "dtype": str(values.dtype),
              "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), **info}
    info_path.write_text(json.dumps(record, indent=2, default=str))


def exists(dataset_or_name, key: str) -> bool:
    """True when an array ``key`` is stored for the dataset."""
    return _paths(dataset_or_name, key)[0].exists()


def info(dataset_or_name, key: str) -> dict:
    """The JSON record stored with array ``key``."""
    return json.loads(_paths(dataset_or_name, key)[2].read_text())


def load(dataset_or_name, key: str, ids=None) -> tuple[np.ndarray, np.ndarray]:
    """(ids, values) of array ``key``; with ``ids`` given, rows follow them and missing ones are NaN."""
    data_path, ids_path, _ = _paths(dataset_or_name, key)
    if not data_path.exists():
        stored = ", ".join(list_keys(dataset_or_name)) or "none"
        raise KeyError(f"No array {key!r} for dataset {store.dataset_name(dataset_or_name)!r} (stored: {stored}). "
                       "Fix: compute it first (e.g. sda2.compute_embeddings).")
    values = np.load(data_path, mmap_mode="r")
    stored_ids = np.load(ids_path)
    if ids is None:
        return stored_ids, values
    ids = np.asarray([str(i) for i in ids])
    order = {sid: row for row, sid in enumerate(stored_ids)}
    rows = np.array([order.get(i, -1) for i in ids], dtype=np.int64)
    out = np.full((len(ids),) + values.shape[1:], np.nan,
                  dtype=values.dtype if values.dtype.kind == "f" else np.float64)
    hit = rows >= 0
    out[hit] = values[rows[hit]]
    return ids, out


def list_keys(dataset_or_name) -> list[str]:
    """Keys of the arrays stored for the dataset, sorted."""
    where = folder(dataset_or_name)
    return sorted(p.stem for p in where.glob("*.json")) if where.exists() else []


def delete(dataset_or_name, key: str | None = None) -> None:
    """Delete array ``key``, or every array of the dataset when ``key`` is None."""
    if key is None:
        config.remove_owned(folder(dataset_or_name))
        return
    for path in _paths(dataset_or_name, key):
        path.unlink(missing_ok=True)
