"""sda2, a Software 2.0 IDE: the notebook API. A notebook and an app page call the same functions.

    import sda2
    sda2.load_default()                      # the embedded digits dataset
    ds = sda2.open_dataset("digits")
    sda2.class_distribution(ds)              # a pandas DataFrame

Names are imported on first use, so ``import sda2`` is fast and starts no database until one is needed.
"""

from __future__ import annotations

import importlib

from sda2 import database as _database

_database.export_environment()

# public name -> module that defines it
_API = {
    "list_datasets": "sda2.store",
    "open_dataset": "sda2.store",
    "delete_dataset": "sda2.store",
    "label_fields": "sda2.store",
    "classes": "sda2.store",
    "splits": "sda2.store",
    "load_default": "sda2.ingest",
    "IngestReport": "sda2.ingest",
    "IngestError": "sda2.ingest",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'sda2' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
