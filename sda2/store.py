"""The FiftyOne connection: open, list and delete datasets, and read their label layout.

Importing this module starts (or finds) the database first, so FiftyOne always talks to the right one.
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import time
from dataclasses import dataclass

from sda2 import config, database, names

DATABASE_URI = database.ensure_database()

import fiftyone as fo  # noqa: E402  (``import sda2`` has set the environment FiftyOne reads)
import fiftyone.core.odm as foo  # noqa: E402

LABEL_KINDS = {
    fo.Classification: "classification",
    fo.Classifications: "multilabel",
    fo.Detections: "detection",
}


class DatasetNotFound(KeyError):
    """No dataset of that name; the message lists those that exist."""

    def __str__(self) -> str:
        return self.args[0]


WORK_IN_PROGRESS = names.WORK_IN_PROGRESS  # names an import uses while it runs
OWNED_MEDIA = "sda2_media"  # dataset.info key: ids of the media folders sda2 wrote for the dataset


_REPLICA_SET: dict[int, bool] = {}  # id(client) -> whether it talks to a replica set


def durable(collection):
    """``collection`` with journaled acknowledgement (``j=True``; ``w="majority"`` on a replica set).

    Every write of a human decision (label edits, tags, thresholds, audit entries) goes through this, so an
    acknowledged write survives a kill -9 of mongod (and a primary's failover on a replica set).
    """
    from pymongo.write_concern import WriteConcern

    client = collection.database.client
    if id(client) not in _REPLICA_SET:
        hello = client.admin.command("hello")
        _REPLICA_SET[id(client)] = bool(hello.get("setName"))
    concern = WriteConcern(w="majority", j=True) if _REPLICA_SET[id(client)] else WriteConcern(j=True)
    return collection.with_options(write_concern=concern)


def list_datasets() -> list[str]:
    """Names of the stored datasets sda2 can open, sorted (temporary ones and ``unusable_datasets`` left out).

    The first call in a process first finishes or removes what killed imports left (``sda2.recovery``).
    """
    from sda2 import recovery

    recovery.recover_once()
    return sorted(n for n in fo.list_datasets() if names.is_valid_dataset_name(n))


def unusable_datasets() -> list[str]:
    """FiftyOne datasets whose names sda2 refuses (made by plain FiftyOne or an older sda2): rename to use them."""
    return sorted(n for n in fo.list_datasets()
                  if not names.is_valid_dataset_name(n) and not any(m in n for m in WORK_IN_PROGRESS)
                  and "@" not in n)  # NAME@VERSION: a release opened read-only for the FiftyOne App, not a dataset


def _checked_name(name) -> str:
    """``name`` when valid; a dataset made before names were checked gets the way to rename it."""
    try:
        return names.validate_dataset_name(name)
    except ValueError as exc:
        if isinstance(name, str) and fo.dataset_exists(name):
            raise ValueError(f"{exc} A dataset of that name was made before names were checked: rename it from "
                             f"Python with `fo.load_dataset({name!r}).name = 'new_name'`, then use the new "
                             "name.") from None
        raise


def open_dataset(name: str) -> fo.Dataset:
    """The persistent dataset ``name``, reloaded so fields added by other processes are visible.

    Opening first finishes or removes what killed imports left, and (once per process and dataset) clears
    the fields of compute runs killed mid write-back (``sda2.recovery``).
    """
    from sda2 import recovery

    _checked_name(name)
    recovery.recover_once()
    if not fo.dataset_exists(name):
        existing = ", ".join(list_datasets()) or "none"
        raise DatasetNotFound(
            f"No dataset named {name!r} (existing: {existing}). Fix: load it with `sda2 ingest` or `sda2 demo`."
        )
    dataset = fo.load_dataset(name)
    dataset.reload()
    recovery.recover_runs(dataset)
    return dataset


def as_dataset(dataset_or_name):
    """The dataset or view itself, or the stored dataset of that name (reloaded)."""
    return open_dataset(dataset_or_name) if isinstance(dataset_or_name, str) else dataset_or_name


def dataset_or_name(func):
    """Decorator for a public function whose first argument is a dataset: it takes a dataset's name too.

    ``sda2.audit_log("digits")`` and ``sda2.audit_log(ds)`` are the same call; a dataset or a view passes through
    unchanged, a name is opened with :func:`open_dataset` (an unknown name raises :class:`DatasetNotFound`).
    """
    first = next(iter(inspect.signature(func).parameters))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if args:
            args = (as_dataset(args[0]), *args[1:])
        elif first in kwargs:
            kwargs[first] = as_dataset(kwargs[first])
        return func(*args, **kwargs)

    wrapper.takes_dataset_or_name = True
    return wrapper


def dataset_id(dataset_or_name) -> str:
    """The id (24 hex digits) of a dataset, of the dataset under a view, or of the dataset so named."""
    if not isinstance(dataset_or_name, str):
        return str(dataset_or_name._root_dataset._doc.id)
    doc = foo.get_db_conn().datasets.find_one({"name": dataset_or_name}, {"_id": 1})
    if doc is None:
        existing = ", ".join(list_datasets()) or "none"
        raise DatasetNotFound(f"No dataset named {dataset_or_name!r} (existing: {existing}). Fix: load it with "
                              "`sda2 ingest` or `sda2 demo`.")
    return str(doc["_id"])


def dataset_name(dataset_or_name) -> str:
    """The name of a dataset, of the dataset under a view, or the name itself."""
    return dataset_or_name if isinstance(dataset_or_name, str) else dataset_or_name._root_dataset.name


def owned_media(dataset: fo.Dataset) -> list[str]:
    """Ids of the media folders sda2 wrote for ``dataset`` (``config.media_dir``); user images are never listed."""
    return [str(m) for m in (dataset.info or {}).get(OWNED_MEDIA, [])]


def media_in_use(media_id: str) -> bool:
    """Whether any stored dataset lists media folder ``media_id`` as its own or has a sample file inside it."""
    db = foo.get_db_conn()
    if db.datasets.count_documents({f"info.{OWNED_MEDIA}": media_id}, limit=1):
        return True
    prefix = {"$regex": "^" + re.escape(str(config.media_dir(media_id)) + os.sep)}  # anchored: uses the index
    for doc in db.datasets.find({}, {"sample_collection_name": 1}):
        if doc.get("sample_collection_name") and db[doc["sample_collection_name"]].find_one(
                {"filepath": prefix}, {"_id": 1}):
            return True
    return False


def release_media(media_ids) -> list[str]:
    """Delete each media folder that no stored dataset refers to any more; returns the ids deleted."""
    deleted = []
    for media_id in media_ids:
        if not media_in_use(media_id):
            config.remove_owned(config.media_dir(media_id))
            deleted.append(media_id)
    return deleted


def unused_media(min_age_s: float = 3600) -> list[str]:
    """Ids of media folders no dataset uses, older than ``min_age_s`` (younger ones may be an import's, running).

    Left by an import killed before it recorded them, or by datasets deleted with plain FiftyOne; pass
    them to ``release_media`` to delete them.
    """
    root = config.home() / "media" / config.database_name()
    if not root.is_dir():
        return []
    now = time.time()
    return sorted(p.name for p in root.iterdir() if config.OBJECT_ID.fullmatch(p.name) and not p.is_symlink()
                  and now - p.stat().st_mtime >= min_age_s and not media_in_use(p.name))


def remove_dataset_files(deleted_id: str, media_ids) -> None:
    """After a dataset was deleted: remove its arrays, and the media sda2 wrote for it that no other uses."""
    config.remove_owned(config.arrays_dir(deleted_id))
    release_media(media_ids)


def delete_dataset(name: str) -> None:
    """Delete dataset ``name`` and what sda2 stored for it: its arrays, and media sda2 wrote that no other uses.

    Images imported from the user's folders are never deleted; only folders under sda2's own media and
    arrays trees, keyed by id, are (``config.remove_owned``).
    """
    dataset = open_dataset(name)
    deleted_id, media_ids = dataset_id(dataset), owned_media(dataset)
    dataset.delete()
    remove_dataset_files(deleted_id, media_ids)


@dataclass(frozen=True)
class FieldInfo:
    """A label field of a dataset: its name and what kind of label it holds."""

    name: str
    kind: str  # "classification", "multilabel" or "detection"


@dataset_or_name
def label_fields(dataset: fo.Dataset) -> list[FieldInfo]:
    """The dataset's label fields that sda2 understands, in schema order."""
    schema = dataset.get_field_schema(embedded_doc_type=None)
    fields = []
    for name, field in schema.items():
        doc_type = getattr(field, "document_type", None)
        if doc_type in LABEL_KINDS:
            fields.append(FieldInfo(name, LABEL_KINDS[doc_type]))
    return fields


def label_kind(dataset: fo.Dataset, field: str) -> str:
    """The kind of label in ``field``: "classification", "multilabel" or "detection"."""
    for info in label_fields(dataset):
        if info.name == field:
            return info.kind
    names = ", ".join(f.name for f in label_fields(dataset)) or "none"
    raise KeyError(f"Dataset {dataset.name!r} has no label field {field!r} (label fields: {names}).")


def label_path(dataset: fo.Dataset, field: str) -> str:
    """The dotted path of the class names inside ``field`` (e.g. ``ground_truth.detections.label``)."""
    kind = label_kind(dataset, field)
    return {"classification": f"{field}.label", "multilabel": f"{field}.classifications.label",
            "detection": f"{field}.detections.label"}[kind]


@dataset_or_name
def classes(dataset: fo.Dataset, field: str = "ground_truth") -> list[str]:
    """The class names of ``field``: the dataset's declared classes, else those seen in the data, sorted."""
    declared = dataset.classes.get(field) or dataset.default_classes
    if declared:
        return list(declared)
    return sorted(str(c) for c in distinct_values(dataset, label_path(dataset, field)))


@dataset_or_name
def splits(dataset: fo.Dataset) -> list[str]:
    """The split names in the dataset's ``split`` field (empty when it has none)."""
    if "split" not in dataset.get_field_schema():
        return []
    return sorted(s for s in distinct_values(dataset, "split") if s)


_INDEXED: set[tuple[str, str]] = set()  # (dataset id, index name) known to exist in this process


def ensure_index(dataset: fo.Dataset, path: str, with_id: bool = False) -> None:
    """Index ``path`` of a whole dataset (with the sample id, for sorting, when ``with_id``) unless it already is;
    checked once per process, so pages that run on every rerun do not ask the database each time.

    Like the FiftyOne App's indexes: counts, filters, distinct values and any page of a sort then read only what
    they need.
    """
    name = f"{path}_1__id_1" if with_id else path
    key = (dataset_id(dataset), name)
    if key in _INDEXED:
        return
    if name not in dataset.list_indexes():
        dataset.create_index([(path, 1), ("id", 1)] if with_id else path)
    _INDEXED.add(key)


@dataset_or_name
def distinct_values(dataset, path: str) -> list:
    """Distinct values of ``path``, sorted; on a whole dataset read from an index on it, not every sample."""
    if not isinstance(dataset, fo.Dataset):
        return dataset.distinct(path)
    ensure_index(dataset, path)
    return sorted(v for v in dataset._sample_collection.distinct(path) if v is not None)


def live_dataset_ids() -> set[str]:
    """The ids of every dataset in the database (what per-dataset collections are named after)."""
    return {str(d["_id"]) for d in foo.get_db_conn().datasets.find({}, {"_id": 1})}


def drop_orphan_collections(prefix: str) -> list[str]:
    """Drop the collections ``<prefix><dataset id>`` of datasets that no longer exist; returns their names."""
    conn = foo.get_db_conn()
    live = live_dataset_ids()
    dropped = [n for n in conn.list_collection_names() if n.startswith(prefix) and n[len(prefix):] not in live]
    for name in dropped:
        conn.drop_collection(name)
    return dropped


_READY_COLLECTIONS: set[str] = set()


def dataset_collection(dataset, prefix: str, indexes: tuple = ()):
    """The pymongo collection ``<prefix><root dataset id>`` of ``dataset``: ``indexes`` (``(keys, options)`` pairs)
    are created on first use in a process, when the collections of deleted datasets are also dropped."""
    name = prefix + dataset_id(dataset)
    coll = foo.get_db_conn()[name]
    if name not in _READY_COLLECTIONS:
        if not any(n.startswith(prefix) for n in _READY_COLLECTIONS):
            drop_orphan_collections(prefix)
        for keys, options in indexes:
            coll.create_index(keys, **options)
        _READY_COLLECTIONS.add(name)
    return coll
