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

import json
import os
import shutil
import uuid
from dataclasses import asdict, dataclass, field as dc_field
from datetime import datetime, timezone
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from sda2 import faults, store
from sda2.curation import releases

import fiftyone as fo  # noqa: E402  (sda2.store has started the database)

FORMATS = {"imagefolder": ("classification",), "coco": ("detection",), "yolo": ("detection",),
           "csv": ("classification", "multilabel"), "fiftyone": ("classification", "multilabel", "detection")}
MANIFEST = "sda2_export.json"
COPY_THREADS = 8  # parallel image copies of a CSV export
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


def _cross_split(dataset, sample_ids) -> int:
    """How many of ``sample_ids`` are in a duplicate group that spans splits (0 when never computed)."""
    if "crosses_split" not in dataset.get_field_schema():
        return 0
    from fiftyone import ViewField as F

    crossing = set(dataset.match(F("crosses_split") == True).values("id"))  # noqa: E712
    return int(pd.Series(list(sample_ids), dtype=object).isin(crossing).sum())


def _split_order(splits) -> list[str | None]:
    """Distinct splits, named ones sorted first, then None."""
    return sorted(set(splits), key=lambda s: (s is None, s or ""))


def _splits(view) -> list[str | None]:
    return _split_order(view.values("split"))


def _by_split(view, split):
    from fiftyone import ViewField as F

    return view.match(F("split") == split) if split is not None else view.match(F("split") == None)  # noqa: E711


def _write(view, fmt: str, out: Path, field: str, classes: list[str], kind: str) -> None:
    splits = _splits(view)
    has_splits = any(s is not None for s in splits)
    if fmt == "fiftyone":
        view.export(export_dir=str(out), dataset_type=fo.types.FiftyOneDataset, export_media=True)
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


def _write_csv(frame: pd.DataFrame, out: Path, kind: str) -> None:
    """``labels.csv`` of release/current rows and the images copied to ``images/<split>/<sample id><ext>``."""
    splits = frame["split"].where(frame["split"].astype(bool) & frame["split"].notna(), NO_SPLIT)
    suffixes = frame["filepath"].str.extract(r"(\.[^./\\]*)$", expand=False).fillna("").str.lower()
    rel = "images/" + splits.astype(str) + "/" + frame["sample_id"].astype(str) + suffixes
    for folder in splits.unique():
        (out / "images" / str(folder)).mkdir(parents=True, exist_ok=True)
    targets = [str(out / r) for r in rel]
    with ThreadPoolExecutor(max_workers=COPY_THREADS) as pool:  # file copies wait on the disk, not the GIL
        for _ in pool.map(shutil.copyfile, frame["filepath"], targets, chunksize=256):
            pass
    if kind == "classification":
        column, labels = "label", frame["label"].fillna("")
    else:
        column, labels = "tags", frame["label"].map(lambda t: "|".join(t or []))
    table = pd.DataFrame({"filepath": rel.values, column: labels.values,
                          "split": frame["split"].fillna("").values, "sample_id": frame["sample_id"].values,
                          "sample_tags": frame["tags"].map("|".join).values})
    table.to_csv(out / "labels.csv", index=False, encoding="utf-8")


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
    frame = releases.release_frame(dataset, version) if version else releases.current_frame(dataset, field)
    excluded = releases.excluded_mask(frame)
    rows = frame if include_excluded else frame[~excluded].reset_index(drop=True)
    left_out = len(frame) - len(rows)
    if not len(rows):
        raise ValueError(f"Nothing to export: {dataset.name!r}{'@' + version if version else ''} holds no samples "
                         f"{'' if include_excluded else 'that are not marked excluded '}. Fix: check the release "
                         "or pass include_excluded=True (--include-excluded).")
    warnings = []
    crossing = _cross_split(dataset, rows["sample_id"])
    if crossing:
        text = (f"{crossing:,} exported samples are near-duplicates of samples in another split (leakage "
                "between train and test)")
        if not allow_cross_split:
            raise ValueError(f"Refusing to export: {text}. Fix: resolve them on the Duplicates page (keep one per "
                             "group, exclude the rest), or pass allow_cross_split=True (--allow-cross-split) to "
                             "export anyway with a warning.")
        warnings.append(text + "; exported anyway (allow_cross_split)")
    split_col = rows["split"].astype(object).where(rows["split"].notna(), None)
    if fmt == "yolo" and not split_col.notna().any():
        warnings.append("the samples have no split: YOLO needs one, so all are in 'train'")
    counts = split_col.fillna(NO_SPLIT).value_counts()
    by_split = {str(s if s is not None else NO_SPLIT): int(counts[s if s is not None else NO_SPLIT])
                for s in _split_order(split_col.unique())}
    copy = None
    try:
        if fmt == "csv":  # straight from the rows: no FiftyOne copy of a release is needed
            _write_csv(rows, out, kind)
        else:
            if version:
                copy = releases.release_dataset(dataset, version,
                                                name=f"{dataset.name}@{version}#{uuid.uuid4().hex[:8]}")
                collection = copy
            else:
                collection = dataset
            view = collection if include_excluded else collection.match_tags("excluded", bool=False)
            _write(view, fmt, out, field, classes, kind)
    finally:
        if copy is not None:
            copy.delete()
    report = ExportReport(dataset.name, version, fmt, str(out), len(rows), by_split, left_out, warnings)
    manifest = {**asdict(report), "label_field": field, "label_kind": kind, "classes": classes,
                "exported_at": datetime.now(timezone.utc).isoformat()}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8")
    return report


def exported_files(out) -> int:
    """How many files an export folder holds (for a summary line)."""
    return sum(len(files) for _, _, files in os.walk(out))
