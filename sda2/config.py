"""Where sda2 keeps its files and which database it talks to, read from the environment once."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


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


def _id_folder(tree: str, folder_id) -> Path:
    """``<home>/<tree>/<database>/<id>``, refusing anything but a 24-hex id (a name is never a path)."""
    text = str(folder_id)
    if not OBJECT_ID.fullmatch(text):
        raise ValueError(f"{text!r} is not an id (24 lowercase hex digits). Fix: pass the dataset's id "
                         "(store.dataset_id(dataset)) or a media id, never a name or a path.")
    return home() / tree / database_name() / text


def media_dir(media_id) -> Path:
    """Folder for images sda2 writes itself (the digits PNGs, MNIST PNGs), keyed by the id of that import."""
    return _id_folder("media", media_id)


def arrays_dir(dataset_id) -> Path:
    """Folder for a dataset's large arrays (embeddings, probabilities, maps), keyed by the dataset's id."""
    return _id_folder("arrays", dataset_id)


def owned_roots() -> tuple[Path, Path]:
    """The two trees sda2 may delete from: ``<home>/media`` and ``<home>/arrays`` (symlinks resolved)."""
    return (home() / "media").resolve(), (home() / "arrays").resolve()


def remove_owned(path) -> bool:
    """Delete ``path`` (a folder or file) when it lies inside sda2's media or arrays tree; raises otherwise.

    The path, with every symlink resolved, must be at least two levels inside ``<home>/media`` or
    ``<home>/arrays`` (``<tree>/<database>/<id>``): never a tree or database folder itself, never
    anything outside. A path that is itself a symlink is refused (its target is not ours to delete).
    Returns whether something was deleted (False when nothing was there).
    """
    path = Path(path)
    resolved = path.resolve()
    for root in owned_roots():
        if resolved.is_relative_to(root) and len(resolved.relative_to(root).parts) >= 2:
            break
    else:
        media, arrays = owned_roots()
        raise ValueError(f"Refusing to delete {path} (resolves to {resolved}): sda2 deletes only inside its own "
                         f"{media}/<database>/<id> and {arrays}/<database>/<id>. Fix: delete it yourself if you "
                         "mean to; this is a bug in the caller otherwise.")
    if path.is_symlink():
        raise ValueError(f"Refusing to delete {path}: it is a symbolic link (to {resolved}). Fix: remove the link "
                         "yourself if you mean to.")
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    return True
