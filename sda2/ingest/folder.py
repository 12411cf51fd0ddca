"""An image folder with one sub-folder per class, optionally under split folders.

Two layouts, told apart by where the images are:

    root/cat/a.png, root/dog/b.jpg                  "class": the folder name is the label, no split
    root/train/cat/a.png, root/test/dog/b.jpg       "split": split folders above the class folders

Images in sub-folders of a class folder belong to that class. Hidden files are ignored; other files
that are not images (by extension) are reported as skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

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
    direct, nested = [], []
    for top in _listing(root)[0]:
        dirs, files = _listing(os.path.join(root, top))
        has_images = any(_is_image(f) for f in files)
        if dirs and (not has_images or top.lower() in SPLIT_NAMES):
            nested.append(top)
        elif has_images:
            direct.append(top)
    if direct and nested:
        raise IngestError(
            f"Cannot tell the layout of {root}: {', '.join(direct[:5])} hold images (class folders) but "
            f"{', '.join(nested[:5])} hold sub-folders (split folders?). Fix: give every folder the same "
            "layout, or pass layout='class' (sub-folder images count for their top folder) or layout='split'.")
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
    for split, folder in groups:
        classes, files = _listing(folder)
        where = "class" if split is None else f"class (inside split {split!r})"
        skipped += [Skipped(os.path.join(folder, f), f"image outside any {where} folder; move it into a class "
                            "folder") for f in files if _is_image(f)]
        for label in classes:
            found = _class_records(os.path.join(folder, label), label, split, skipped)
            if not found:
                notes.append(f"folder {os.path.join(folder, label)} holds no images")
            records += found
    if not records:
        raise IngestError(f"No images found under {root}. Fix: arrange them as root/<class>/<image> or "
                          "root/<split>/<class>/<image>.")
    return records, skipped, notes


def import_folder(root: str | Path, name: str, mode: Mode = "error", layout: str = "auto",
                  classes: list[str] | None = None) -> IngestReport:
    """Import an image folder (one sub-folder per class, optionally split folders above) as dataset ``name``."""
    check_target(name, mode)
    with paused_gc():
        records, skipped, notes = folder_records(root, layout)
    classes = list(classes) if classes else natural_sorted(r.label for r in records)
    return write_dataset(name, records, "classification", mode, classes=classes, skipped=skipped, notes=notes)
