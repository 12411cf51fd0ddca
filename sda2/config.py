"""Where sda2 keeps its files and which database it talks to, read from the environment once."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The folder for the project's database, media and arrays (``SDA2_HOME``, default ``<repo>/.sda2``)."""
    return Path(os.environ.get("SDA2_HOME") or PROJECT_ROOT / ".sda2").resolve()


def db_port() -> int:
    """The port of the project's own MongoDB (``SDA2_DB_PORT``, default 27117)."""
    return int(os.environ.get("SDA2_DB_PORT") or 27117)


def database_name() -> str:
    """The database inside the server (``FIFTYONE_DATABASE_NAME``, default ``sda2``; tests use ``sda2_test``)."""
    return os.environ.get("FIFTYONE_DATABASE_NAME") or "sda2"


def user_database_uri() -> str | None:
    """The user's own MongoDB URI, or None when ``FIFTYONE_DATABASE_URI`` is unset or empty."""
    return os.environ.get("FIFTYONE_DATABASE_URI") or None


def media_dir(dataset_name: str) -> Path:
    """Folder for images sda2 writes for a dataset (e.g. the default's PNGs), one tree per database."""
    return home() / "media" / database_name() / dataset_name


def arrays_dir(dataset_name: str) -> Path:
    """Folder for a dataset's large arrays (embeddings, probabilities, maps), one tree per database."""
    return home() / "arrays" / database_name() / dataset_name
