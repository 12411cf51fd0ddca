"""Export a dataset, or one of its releases, in a standard format, through FiftyOne's own exporters.

Formats (``fmt``) and the label kinds they hold:

- ``imagefolder`` (classification): ``OUT/<split>/<class>/<image>`` (``OUT/<class>/<image>`` without
  splits), by ``fo.types.ImageClassificationDirectoryTree``; re-import with ``sda2 ingest folder``.
- ``coco`` (detection): ``OUT/<split>/labels.json`` and ``OUT/<split>/images/``, by
  ``fo.types.COCODetectionDataset``; re-import each split with ``sda2 ingest coco``.
- ``yolo`` (detection): ``OUT/dataset.yaml``, ``OUT/images/<split>/``, ``OUT/labels/<split>/``, by
  ``fo.types.YOLOv5Dataset`` (without splits, all samples go to ``train``).
- ``csv`` (classification, multi-label): ``OUT/labels.csv`` (filepath, label or tags, split, sample_id, tags)
  and the images copied to ``OUT/images/<split>/<sample id><ext>``; re-import with ``sda2 ingest table``.
- ``fiftyone`` (every kind): ``fo.types.FiftyOneDataset`` with media, every field kept; load it with
  ``fo.Dataset.from_dir`` and ``sda2 ingest fiftyone``.

Samples marked ``excluded`` are left out unless ``include_excluded``. When near-duplicate detection ran
(field ``crosses_split``) and duplicates span splits in what would be exported, the export is refused
(train/test leakage) unless ``allow_cross_split``, which exports and warns. Every export writes
``OUT/sda2_export.json``: the source, release version, format, counts and warnings. ``OUT`` must be new or
empty: an export never writes into, or deletes, a folder that holds anything.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field as dc_field
from datetime import datetime, timezone
from pathlib import Path

from sda2 import faults, store
from sda2.curation import releases

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)

FORMATS = {"imagefolder": ("classification",), "coco": ("detection",), "yolo": ("detection",),
           "csv": ("classification", "multilabel"), "fiftyone": ("classification", "multilabel", "detection")}
MANIFEST = "sda2_export.json"
NO_SPLIT = "unassigned"  # folder of samples without a split when others have one


@dataclass
class ExportReport:
    """What an export wrote: where, in which format, how many samples per split, what it left out and why."""

    source: str
    version: str | None
    fmt: str
    out: str
    samples: int
    by_split: dict
    excluded_left_out: int
    warnings: list[str] = dc_field(default_factory=list)

    def summary(self) -> str:
        """A plain-words account of the export."""
        what = f"{self.source}@{self.version}" if self.version else f"{self.source} (as it is now)"
        splits = ", ".join(f"{s}: {n:,}" for s, n in self.by_split.items())
        lines = [f"Exported {self.samples:,} samples of {what} as {self.fmt} to {self.out} ({splits}).",
                 f"  left out {self.excluded_left_out:,} samples marked excluded" if self.excluded_left_out
                 else "  no sample marked excluded was left out"]
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _check_out(out) -> Path:
    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ValueError(f"{out} {'is a file' if not out.is_dir() else 'is not empty'}. Fix: give a new or empty "
                         "folder for --out; an export never writes into or deletes a folder that holds files.")
    out.mkdir(parents=True, exist_ok=True)
    return out.resolve()


def _check_kind(fmt: str, kind: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"Unknown export format {fmt!r}. Fix: use one of {', '.join(FORMATS)}.")
    if kind not in FORMATS[fmt]:
        fits = ", ".join(f for f, kinds in FORMATS.items() if kind in kinds)
        raise ValueError(f"Format {fmt!r} holds {' or '.join(FORMATS[fmt])} labels, and this label field holds "
                         f"{kind} labels. Fix: use one of {fits}.")


def _cross_split(dataset, sample_ids: list[str]) -> int:
    """How many of ``sample_ids`` are in a duplicate group that spans splits (0 when never computed)."""
    if "crosses_split" not in dataset.get_field_schema():
        return 0
    crosses = dict(zip(*dataset.values(["id", "crosses_split"])))
    return sum(1 for s in sample_ids if crosses.get(s))


def _splits(view) -> list[str | None]:
    return sorted({s for s in view.values("split")}, key=lambda s: (s is None, s or ""))


def _by_split(view, split):
    from fiftyone import ViewField as F

    return view.match(F("split") == split) if split is not None else view.match(F("split") == None)  # noqa: E711


def _write(view, fmt: str, out: Path, field: str, classes: list[str], kind: str) -> None:
    splits = _splits(view)
    has_splits = any(s is not None for s in splits)
    if fmt == "fiftyone":
        view.export(export_dir=str(out), dataset_type=fo.types.FiftyOneDataset, export_media=True)
        return
    if fmt == "csv":
        _write_csv(view, out, field, kind)
        return
    for split in splits:
        part = _by_split(view, split)
        name = split if split is not None else (NO_SPLIT if has_splits else None)
        if fmt == "imagefolder":
            part.export(export_dir=str(out / name if name else out), dataset_type=fo.types.ImageClassificationDirectoryTree,
                        label_field=field, export_media=True)
        elif fmt == "coco":
            part.export(export_dir=str(out / name if name else out), dataset_type=fo.types.COCODetectionDataset,
                        label_field=field, classes=classes, export_media=True, data_path="images")
        else:  # yolo
            part.export(export_dir=str(out), dataset_type=fo.types.YOLOv5Dataset, label_field=field,
                        split=name or "train", classes=classes, export_media=True)
        faults.point("export.split")


def _write_csv(view, out: Path, field: str, kind: str) -> None:
    ids, paths, splits, tags = view.values(["id", "filepath", "split", "tags"])
    labels = releases.label_values(view, field, kind)
    if "sda2_sample_id" in view.get_field_schema():  # a release copy: name files by the dataset's sample ids
        ids = view.values("sda2_sample_id")
    rows = []
    for sid, path, split, lab, sample_tags in zip(ids, paths, splits, labels, tags):
        rel = Path("images") / (split or NO_SPLIT) / f"{sid}{Path(path).suffix.lower()}"
        (out / rel.parent).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out / rel)
        label = lab if kind == "classification" else "|".join(lab)
        rows.append({"filepath": rel.as_posix(), ("label" if kind == "classification" else "tags"): label or "",
                     "split": split or "", "sample_id": sid, "sample_tags": "|".join(sample_tags or [])})
    columns = ["filepath", "label" if kind == "classification" else "tags", "split", "sample_id", "sample_tags"]
    with open(out / "labels.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def export_dataset(dataset_or_ref, fmt: str, out, version: str | None = None, include_excluded: bool = False,
                   allow_cross_split: bool = False, label_field: str | None = None) -> ExportReport:
    """Export the dataset (``NAME``, ``NAME@VERSION``, or a dataset) or its release ``version`` as ``fmt`` to ``out``."""
    dataset, version = releases.resolve_ref(dataset_or_ref, version)
    field = label_field or (releases.release_info(dataset, version).label_field if version else "ground_truth")
    kind = store.label_kind(dataset, field)
    _check_kind(fmt, kind)
    classes = releases.release_info(dataset, version).classes if version else store.classes(dataset, field)
    if version:
        releases.release_info(dataset, version)  # refuse an unknown version before touching the folder
    out = _check_out(out)
    copy = None
    try:
        if version:
            copy = releases.release_dataset(dataset, version, name=f"{dataset.name}@{version}#{uuid.uuid4().hex[:8]}")
            collection, id_field = copy, "sda2_sample_id"
        else:
            collection, id_field = dataset, "id"
        view = collection if include_excluded else collection.match_tags("excluded", bool=False)
        left_out = len(collection) - len(view)
        if not len(view):
            raise ValueError(f"Nothing to export: {dataset.name!r}{'@' + version if version else ''} holds no samples "
                             f"{'' if include_excluded else 'that are not marked excluded '}. Fix: check the release "
                             "or pass include_excluded=True (--include-excluded).")
        warnings = []
        crossing = _cross_split(dataset, view.values(id_field))
        if crossing:
            text = (f"{crossing:,} exported samples are near-duplicates of samples in another split (leakage "
                    "between train and test)")
            if not allow_cross_split:
                raise ValueError(f"Refusing to export: {text}. Fix: resolve them on the Duplicates page (keep one per "
                                 "group, exclude the rest), or pass allow_cross_split=True (--allow-cross-split) to "
                                 "export anyway with a warning.")
            warnings.append(text + "; exported anyway (allow_cross_split)")
        if fmt == "yolo" and not any(_splits(view)):
            warnings.append("the samples have no split: YOLO needs one, so all are in 'train'")
        by_split = {str(s if s is not None else NO_SPLIT): len(_by_split(view, s)) for s in _splits(view)}
        _write(view, fmt, out, field, classes, kind)
        report = ExportReport(dataset.name, version, fmt, str(out), len(view), by_split, left_out, warnings)
        manifest = {**asdict(report), "label_field": field, "label_kind": kind, "classes": classes,
                    "exported_at": datetime.now(timezone.utc).isoformat()}
        (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
        return report
    finally:
        if copy is not None:
            copy.delete()


def exported_files(out) -> int:
    """How many files an export folder holds (for a summary line)."""
    return sum(len(files) for _, _, files in os.walk(out))
