"""The FiftyOne connection: open, list and delete datasets, and read their label layout.

Importing this module starts (or finds) the database first, so FiftyOne always talks to the right one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

from sda2 import arrays, config, database

DATABASE_URI = database.ensure_running()

import fiftyone as fo  # noqa: E402  (``import sda2`` has set the environment FiftyOne reads)

LABEL_KINDS = {
    fo.Classification: "classification",
    fo.Classifications: "multilabel",
    fo.Detections: "detection",
}


class DatasetNotFound(KeyError):
    """No dataset of that name; the message lists those that exist."""

    def __str__(self) -> str:
        return self.args[0]


WORK_IN_PROGRESS = (".__incoming_", ".__replaced_")  # names an import uses while it runs


def list_datasets() -> list[str]:
    """Names of the stored datasets, sorted (an import's temporary datasets left out)."""
    return sorted(n for n in fo.list_datasets() if not any(m in n for m in WORK_IN_PROGRESS))


def open_dataset(name: str) -> fo.Dataset:
    """The persistent dataset ``name``, reloaded so fields added by other processes are visible."""
    if not fo.dataset_exists(name):
        existing = ", ".join(list_datasets()) or "none"
        raise DatasetNotFound(
            f"No dataset named {name!r} (existing: {existing}). Fix: load it with `sda2 ingest` or `sda2 demo`."
        )
    dataset = fo.load_dataset(name)
    dataset.reload()
    return dataset


def as_dataset(dataset_or_name):
    """The dataset or view itself, or the stored dataset of that name (reloaded)."""
    return open_dataset(dataset_or_name) if isinstance(dataset_or_name, str) else dataset_or_name


def delete_dataset(name: str) -> None:
    """Delete dataset ``name`` and everything sda2 stored for it (its arrays and written media included)."""
    open_dataset(name).delete()
    arrays.delete(name)
    shutil.rmtree(config.media_dir(name), ignore_errors=True)


@dataclass(frozen=True)
class FieldInfo:
    """A label field of a dataset: its name and what kind of label it holds."""

    name: str
    kind: str  # "classification", "multilabel" or "detection"


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


def classes(dataset: fo.Dataset, field: str = "ground_truth") -> list[str]:
    """The class names of ``field``: the dataset's declared classes, else those seen in the data, sorted."""
    declared = dataset.classes.get(field) or dataset.default_classes
    if declared:
        return list(declared)
    return sorted(str(c) for c in dataset.distinct(label_path(dataset, field)))


def splits(dataset: fo.Dataset) -> list[str]:
    """The split names in the dataset's ``split`` field (empty when it has none)."""
    if "split" not in dataset.get_field_schema():
        return []
    return sorted(s for s in dataset.distinct("split") if s)
