"""A CSV or Parquet table of images: a file path, a label (or several tags), an optional split, extra columns.

- Relative paths are resolved against the table's folder, or ``base_dir`` when given.
- Multi-label when ``tags_col`` is given: tags separated by "|" or ";" (or a list, in Parquet); several
  rows for one image merge their tags, and a label column, if any, is kept as an ordinary field.
  Single-label tables keep the first row of an image and skip its repeats with the same label; when rows
  of one image give different labels, the image is not imported and every such row is reported as a
  conflict naming the labels (the table must say which one is right).
- Every other column becomes a sample field, typed by pandas (``convert_dtypes``): integers stay integers
  even with empty cells, empty cells become None. Column names are made valid FiftyOne field names
  (a reserved name such as ``id`` becomes ``col_id``); the report's notes list every rename.
- Unlabeled (``unlabeled=True``, CLI ``--unlabeled``): a row with an empty label (or no tags), or every row
  when the table has no label column, is imported without a label instead of being skipped.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from sda2 import hints
from sda2.ingest.base import IngestError, IngestReport, Mode, Record, Skipped, natural_sorted, paused_gc
from sda2.ingest.writer import RESERVED_FIELDS, check_target, write_dataset

_TAG_SEPARATORS = re.compile(r"[|;]")


def read_table(path: str | Path, text_columns: list[str]) -> pd.DataFrame:
    """The table at ``path`` (.csv, .tsv or .parquet), with ``text_columns`` read as text."""
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if suffix in (".csv", ".tsv", ".txt"):
            return pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=dict.fromkeys(text_columns, str),
                               skipinitialspace=True)
    except FileNotFoundError:
        raise IngestError(f"{path} not found. Fix: give the path of a .csv or .parquet table.") from None
    except Exception as exc:  # pandas and pyarrow raise many types for malformed tables
        raise IngestError(f"{path} cannot be read as a table ({exc}). Fix: check that it is a valid "
                          f"{suffix.lstrip('.').upper()} file.") from None
    raise IngestError(f"{path} is not a .csv, .tsv or .parquet file. Fix: save the table in one of those formats.")


def _field_names(columns: list[str]) -> tuple[dict[str, str], list[str]]:
    """Column -> valid, unique FiftyOne field name, and a note for every column renamed."""
    names, notes, used = {}, [], set()
    for column in columns:
        name = re.sub(r"[^0-9A-Za-z_]+", "_", str(column).strip()).strip("_") or "column"
        if name in RESERVED_FIELDS:
            name = f"col_{name}"
        base, k = name, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names[column] = name
        if name != column:
            notes.append(f"column {column!r} stored as field {name!r}")
    return names, notes


def _python_values(series: pd.Series) -> list:
    """The column's values as plain Python objects (None for empty cells), as BSON can store them."""
    if series.dtype == object:
        return [v.tolist() if isinstance(v, np.ndarray) else None if _is_missing(v) else v for v in series]
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.to_pydatetime() for v in series]
    return series.astype(object).where(series.notna(), None).tolist()


def _is_missing(value) -> bool:
    return value is None or (not isinstance(value, (list, tuple, dict, np.ndarray)) and bool(pd.isna(value)))


def _text(value) -> str | None:
    """A cell as stripped text (None when empty); 3.0 (an integer column with gaps, in Parquet) reads "3"."""
    if _is_missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _tags(value) -> list[str]:
    """The distinct tags of one cell: a "|"/";"-separated string, or a list (Parquet)."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = [str(v) for v in value if not _is_missing(v)]
    else:
        items = _TAG_SEPARATORS.split(_text(value) or "")
    return list(dict.fromkeys(t.strip() for t in items if t.strip()))


def table_records(df: pd.DataFrame, table: Path, filepath_col: str = "filepath", label_col: str = "label",
                  tags_col: str | None = None, split_col: str | None = "split", base_dir: str | Path | None = None,
                  unlabeled: bool = False) -> tuple[list[Record], list[Skipped], list[str]]:
    """(records, skipped rows, notes) for a table already read; a missing needed column raises IngestError.

    ``unlabeled``: the label column may be missing; empty labels (or no tags) become None (no label).
    """
    if unlabeled and (tags_col or label_col) not in df.columns:
        df = df.assign(**{tags_col or label_col: None})
    needed = [filepath_col, tags_col or label_col]
    missing = [c for c in needed if c not in df.columns]
    if missing:
        label = "tags" if tags_col else "label"
        flags = hints.hint(cli=f"--filepath-col / --{label}-col", api=f"filepath_col= / {label}_col=")
        raise IngestError(f"{table.name} has no column {', '.join(map(repr, missing))} (its columns: "
                          f"{', '.join(map(str, df.columns)) or 'none'}). Fix: rename the column in the table, or "
                          f"name yours with {flags}.")
    base = Path(base_dir or table.parent).expanduser().resolve()
    used = {filepath_col, tags_col or label_col} | ({split_col} if split_col in df.columns else set())
    extra_columns = [c for c in df.columns if c not in used]
    names, notes = _field_names(extra_columns)
    typed = df[extra_columns].convert_dtypes() if extra_columns else df[[]]
    extras = {names[c]: _python_values(typed[c]) for c in extra_columns}
    splits = df[split_col].tolist() if split_col in df.columns else [None] * len(df)
    labels = df[tags_col or label_col].tolist()
    row_name = "line" if table.suffix.lower() in (".csv", ".tsv", ".txt") else "row"
    first_row = 2 if row_name == "line" else 1
    records: list[Record] = []
    skipped: list[Skipped] = []
    seen: dict[str, Record] = {}
    rows_of: dict[str, list[tuple[str, str | None]]] = {}  # single-label: path -> (row, label) of its rows
    for i, (path, label, split) in enumerate(zip(df[filepath_col].tolist(), labels, splits)):
        where = f"{table.name} {row_name} {i + first_row}"
        raw = _text(path)
        if raw is None:
            skipped.append(Skipped(where, f"empty {filepath_col!r}; fill in the image path"))
            continue
        where = f"{where} ({raw})"
        path = os.path.normpath(os.path.join(base, os.path.expanduser(raw)))
        if path in seen:
            if tags_col:
                seen[path].label = list(dict.fromkeys(seen[path].label + _tags(label)))
            else:
                rows_of[path].append((where, _text(label)))
            continue
        fields = {name: values[i] for name, values in extras.items()}
        record = Record(path, _tags(label) if tags_col else _text(label), _text(split), fields, where)
        seen[path] = record
        records.append(record)
        if not tags_col:
            rows_of[path] = [(where, record.label)]
    conflicted = set()
    for path, rows in rows_of.items():
        labels = list(dict.fromkeys(label for _, label in rows if label is not None))
        if len(labels) > 1:
            conflicted.add(path)
            said = "; ".join(f"{row} says {label!r}" for row, label in rows)
            skipped += [Skipped(row, f"conflicting labels for one image ({', '.join(map(repr, labels))}): {said}; "
                                     "keep one row per image, with the right label") for row, _ in rows]
        else:
            (first, label), *repeats = rows
            skipped += [Skipped(row, f"same image {'and label ' if again == label else ''}as {first}; keep one row "
                                     "per image") for row, again in repeats]
    records = [r for r in records if r.filepath not in conflicted] if conflicted else records
    if unlabeled:
        for record in records:
            if record.label in ("", []):
                record.label = None
    if tags_col and len(records) < len(df) - len(skipped):
        notes.append(f"rows of the same image merged: {len(df) - len(skipped):,} rows, {len(records):,} images")
    notes.append(f"relative paths resolved against {base}")
    return records, skipped, notes


def import_table(path: str | Path, name: str, mode: Mode = "error", filepath_col: str = "filepath",
                 label_col: str = "label", tags_col: str | None = None, split_col: str | None = "split",
                 base_dir: str | Path | None = None, classes: list[str] | None = None,
                 unlabeled: bool = False) -> IngestReport:
    """Import a CSV/Parquet table of image paths and labels (or tags, multi-label) as dataset ``name``.

    ``unlabeled``: rows with an empty label (or no tags, or no label column at all) are imported without one.
    """
    check_target(name, mode)
    path = Path(path).expanduser().resolve()
    text_columns = [c for c in (filepath_col, label_col, tags_col, split_col) if c]
    df = read_table(path, text_columns)
    with paused_gc():
        records, skipped, notes = table_records(df, path, filepath_col, label_col, tags_col, split_col, base_dir,
                                                unlabeled)
    if not classes:
        classes = natural_sorted(t for r in records for t in (r.label if tags_col else [r.label]) or () if t)
    kind = "multilabel" if tags_col else "classification"
    return write_dataset(name, records, kind, mode, classes=classes, skipped=skipped, notes=notes,
                         unlabeled=unlabeled)
