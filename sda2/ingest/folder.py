"""An image folder with one sub-folder per class, optionally under split folders.

Two layouts, told apart by where the images are:

    root/cat/a.png, root/dog/b.jpg                  "class": the folder name is the label, no split
    root/train/cat/a.png, root/test/dog/b.jpg       "split": split folders above the class folders

Images in sub-folders of a class folder belong to that class. Hidden files are ignored; other files
that are not images (by extension) are reported as skipped.

Symbolic links to folders are followed once: folders reached without a link are walked first, then a
linked split or class folder is walked only when its target is not a folder already walked, nor inside
or around one; otherwise it is reported as skipped, so no image is imported twice through a link.
(Links inside a class folder are not followed, as ``os.walk`` does by default.)

Unlabeled (``unlabeled=True``, CLI ``--unlabeled``): every image anywhere under the root is imported without
a label, whatever the folders are called; a top folder named like a split (train, test, val, …) gives
its images that split.
"""

from __future__ import annotations

import os
from pathlib import Path

from sda2 import hints
from sda2.ingest.base import IngestError, IngestReport, Mode, Record, Skipped, natural_sorted, paused_gc
from sda2.ingest.writer import IMAGE_EXTENSIONS, check_target, write_dataset

SPLIT_NAMES = frozenset({"train", "training", "test", "testing", "val", "valid", "validation", "dev", "holdout"})


def _is_image(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def _listing(folder: str) -> tuple[list[str], list[str]]:
    """(visible sub-folder names, visible file names) of ``folder``, sorted."""
    dirs, files = [], []
    with os.scandir(folder) as entries:
        for entry in entries:
            if not entry.name.startswith("."):
                (dirs if entry.is_dir() else files).append(entry.name)
    return sorted(dirs), sorted(files)


def detect_layout(root: str | Path) -> str:
    """"split" when the top folders hold class sub-folders rather than images, else "class".

    A top folder with both images and sub-folders counts as a split folder when it is named like one
    (train, test, val, …), else as a class folder.
    """
    root = str(root)
    real_root = os.path.realpath(root)
    direct, nested = [], []
    for top in _listing(root)[0]:
        target = os.path.realpath(os.path.join(root, top))
        if os.path.commonpath([target, real_root]) == target:
            continue  # a link to the root or above it: skipped by folder_records, says nothing of the layout
        dirs, files = _listing(os.path.join(root, top))
        has_images = any(_is_image(f) for f in files)
        if dirs and (not has_images or top.lower() in SPLIT_NAMES):
            nested.append(top)
        elif has_images:
            direct.append(top)
    if direct and nested:
        raise IngestError(
            f"Cannot tell the layout of {root}: {', '.join(direct[:5])} hold images (class folders) but "
            f"{', '.join(nested[:5])} hold sub-folders (split folders?). Fix: give every folder the same layout, "
            "or pass " + hints.hint(cli="--layout class", api="layout='class'") + " (sub-folder images count for "
            "their top folder) or " + hints.hint(cli="--layout split", api="layout='split'") + ".")
    return "split" if nested else "class"


def _class_records(folder: str, label: str, split: str | None, skipped: list[Skipped]) -> list[Record]:
    records = []
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for f in sorted(files):
            path = os.path.join(here, f)
            if f.startswith("."):
                continue
            if _is_image(f):
                records.append(Record(path, label, split))
            else:
                skipped.append(Skipped(path, "not an image file (extension not one of "
                                             f"{', '.join(sorted(IMAGE_EXTENSIONS))}); move it out of the folder"))
    return records


def _linked_folder(path: str, root: str, real_root: str) -> bool:
    """Whether ``path`` (under ``root``) is reached through a symbolic link below the root."""
    return os.path.realpath(path) != os.path.join(real_root, os.path.relpath(path, root))


def _already_walked(target: str, walked: list[str], real_root: str) -> str | None:
    """The walked folder equal to, inside or around ``target``, or the root when it lies inside ``target``."""
    for folder in walked:
        if os.path.commonpath([target, folder]) in (target, folder):
            return folder
    return real_root if os.path.commonpath([target, real_root]) == target else None


def folder_records(root: str | Path, layout: str = "auto") -> tuple[list[Record], list[Skipped], list[str]]:
    """(records, skipped items, notes) for the images under ``root`` in the given or detected layout."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise IngestError(f"{root} is not a folder. Fix: give the folder that holds one sub-folder per class.")
    if layout == "auto":
        layout = detect_layout(root)
    if layout not in ("class", "split"):
        raise IngestError(f"Unknown layout {layout!r}. Fix: use 'auto', 'class' or 'split'.")
    records: list[Record] = []
    skipped: list[Skipped] = []
    notes = [f"layout {layout!r} ({'root/split/class/image' if layout == 'split' else 'root/class/image'})"]
    groups = [(None, root)] if layout == "class" else [(s, os.path.join(root, s)) for s in _listing(root)[0]]
    folders = [(split, os.path.join(folder, label), label) for split, folder in groups
               for label in _listing(folder)[0]]
    real_root = os.path.realpath(root)
    walked: list[str] = []  # real paths of the class folders walked so far
    for split, path, label in sorted(folders, key=lambda f: _linked_folder(f[1], root, real_root)):
        target = os.path.realpath(path)
        if _linked_folder(path, root, real_root):
            seen = _already_walked(target, walked, real_root)
            if seen is not None:
                skipped.append(Skipped(path, f"a link to {target}, which overlaps {seen}, a folder already "
                                             "imported: its images are imported once. Remove the link if it "
                                             "is not meant as another class"))
                continue
        walked.append(target)
        found = _class_records(path, label, split, skipped)
        if not found:
            notes.append(f"folder {path} holds no images")
        records += found
    for split, folder in groups:
        where = "class" if split is None else f"class (inside split {split!r})"
        skipped += [Skipped(os.path.join(folder, f), f"image outside any {where} folder; move it into a class "
                            "folder, or import without labels (" + hints.hint(cli="--unlabeled", api="unlabeled=True")
                            + ")") for f in _listing(folder)[1] if _is_image(f)]
    if not records:
        raise IngestError(f"No images found under {root}. Fix: arrange them as root/<class>/<image> or "
                          "root/<split>/<class>/<image>, or import them without labels with "
                          + hints.hint(cli="--unlabeled.", api="unlabeled=True."))
    return records, skipped, notes


def unlabeled_records(root: str | Path) -> tuple[list[Record], list[Skipped], list[str]]:
    """(records without labels, skipped items, notes) for every image under ``root``, in any folder tree."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise IngestError(f"{root} is not a folder. Fix: give the folder that holds the images.")
    records: list[Record] = []
    skipped: list[Skipped] = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        rel = os.path.relpath(here, root)
        top = None if rel == "." else rel.split(os.sep)[0]
        split = top if top is not None and top.lower() in SPLIT_NAMES else None
        for f in sorted(files):
            if f.startswith("."):
                continue
            path = os.path.join(here, f)
            if _is_image(f):
                records.append(Record(path, None, split))
            else:
                skipped.append(Skipped(path, "not an image file (extension not one of "
                                             f"{', '.join(sorted(IMAGE_EXTENSIONS))}); move it out of the folder"))
    if not records:
        raise IngestError(f"No images found under {root}. Fix: give the folder that holds the images "
                          f"({', '.join(sorted(IMAGE_EXTENSIONS))}).")
    return records, skipped, [f"unlabeled: every image under {root} imported without a label"]


def import_folder(root: str | Path, name: str, mode: Mode = "error", layout: str = "auto",
                  classes: list[str] | None = None, unlabeled: bool = False) -> IngestReport:
    """Import an image folder (one sub-folder per class, optionally split folders above) as dataset ``name``.

    ``unlabeled``: import every image under ``root`` (any folder tree) without a label; ``classes`` (when
    given) are declared for labeling them later.
    """
    check_target(name, mode)
    with paused_gc():
        records, skipped, notes = unlabeled_records(root) if unlabeled else folder_records(root, layout)
    if unlabeled:
        classes = list(classes or [])
    else:
        classes = list(classes) if classes else natural_sorted(r.label for r in records)
    return write_dataset(name, records, "classification", mode, classes=classes, skipped=skipped, notes=notes,
                         unlabeled=unlabeled)
