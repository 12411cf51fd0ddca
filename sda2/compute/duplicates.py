"""Duplicates and outliers on a stored dataset: content hashes, near copies on embeddings, bulk write back.

Fields written on every sample: ``duplicate_group`` (int, -1 none), ``is_duplicate`` (True for every group
member but the kept representative), ``duplicate_similarity`` (cosine similarity to the representative),
``is_exact_duplicate`` (same file bytes as a group member that comes before it), ``crosses_split`` (the group spans splits:
train/test leakage), ``outlier_distance`` (mean cosine distance to the k nearest neighbours: the analysis
layer's ``outlier_score``, renamed so as not to clash with the outlier check's 0-1 ``outlier_score`` of
``sda2.issues.outlier``) and ``is_outlier``.

Near copies are found on image fingerprints by default: grayscale, re-centred on the intensity centroid,
resized to 32 x 32 and standardised, so re-encoding, brightness / contrast changes, small shifts and
resizing barely move them, while different images stay apart. The verified path (the default) trims 8 % of
each side first and also searches each fingerprint rotated, scaled, blurred and shifted
(sda2.analysis.duplicates.edited_queries), then checks every candidate on the images. Stored embeddings (semantic neighbours,
e.g. ``embeddings_effnet``) can be used instead with a lower threshold.
"""

from __future__ import annotations

import hashlib
import warnings
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage
from tqdm.auto import tqdm

from sda2 import arrays, faults, runs, store
from sda2.analysis.duplicates import DEFAULT_THRESHOLD, duplicate_groups, edited_queries, find_duplicates
from sda2.compute.copy_verification import image_verifier
from sda2.compute.label_issues import write_fields

FIELDS = {"duplicate_group": -1, "is_duplicate": False, "duplicate_similarity": None, "is_exact_duplicate": False,
          "crosses_split": False, "outlier_distance": None, "is_outlier": False}
FINGERPRINT_SIZE = 32
FINGERPRINT_TRIM = 0.08  # verified path: share of each side left out, so a shifted copy's black edge cannot move it
FINGERPRINT_KEY = f"fingerprints_{FINGERPRINT_SIZE}_trim"  # the cached trimmed fingerprints (verified path)
PLAIN_KEY = f"fingerprints_{FINGERPRINT_SIZE}"  # untrimmed (verify=False: the cosine cut, which a trim would hurt)
WORKERS = 8
HASH_WORKERS = 2  # hashing releases the GIL on large files; more threads only contend on small ones
RUN_KEY = "sda2_duplicates"  # the FiftyOne run (and dataset.info summary) of the write-back: pending, then complete


def file_hash(path: str) -> str | None:
    """SHA-256 of a file's bytes (None when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def file_hashes(paths: list[str], progress: bool = True) -> list[str | None]:
    """Content hashes of many files, chunks of them hashed in two threads."""
    chunks = [paths[i:i + 256] for i in range(0, len(paths), 256)]
    with ThreadPoolExecutor(HASH_WORKERS) as pool, tqdm(total=len(paths), desc="hashing files", unit="file",
                                                   disable=not progress) as bar:
        hashes = []
        for chunk in pool.map(lambda c: [file_hash(p) for p in c], chunks):
            hashes.extend(chunk)
            bar.update(len(chunk))
    return hashes


def image_fingerprint(path: str, size: int = FINGERPRINT_SIZE, trim: float = 0.0) -> np.ndarray:
    """A size*size vector robust to re-encoding, brightness, small shifts and resizing (NaN if unreadable).

    ``trim`` (a share of each side, e.g. 0.08) is left out first, so the black edge of a shifted or rotated
    copy does not move the intensity centroid the fingerprint is centred on. It costs the plain cosine cut:
    a 1-px roll of a digit that fills its frame falls from cosine >= 0.99 to 0.975, so only the verified path
    (whose edited queries and image check absorb that) uses it.
    """
    try:
        with Image.open(path) as image:
            image = image.convert("L")
            image.draft("L", (4 * size, 4 * size))
            if max(image.size) > 4 * size:
                image = image.resize((4 * size, 4 * size), Image.BOX)
            pixels = np.asarray(image, dtype=np.float32) / 255
        t = int(round(trim * min(pixels.shape)))
        if t and min(pixels.shape) - 2 * t >= 4:
            pixels = pixels[t:pixels.shape[0] - t, t:pixels.shape[1] - t]
    except Exception:  # noqa: BLE001  (PIL raises many types for unreadable files)
        return np.full(size * size, np.nan, dtype=np.float32)
    weight = pixels - pixels.min()
    if weight.sum() > 0:
        cy, cx = ndimage.center_of_mass(weight)
        h, w = pixels.shape
        pixels = ndimage.shift(pixels, ((h - 1) / 2 - cy, (w - 1) / 2 - cx), order=1, mode="nearest")
    small = np.array(Image.fromarray(pixels).resize((size, size), Image.BOX), dtype=np.float32).ravel()
    small -= small.mean()
    return small / (small.std() + 1e-6)


def image_fingerprints(dataset, ids: list[str], paths: list[str], progress: bool = True,
                       trim: float = 0.0) -> np.ndarray:
    """Fingerprints of the dataset's images, cached in sda2.arrays; only samples without one are computed."""
    key = FINGERPRINT_KEY if trim else PLAIN_KEY
    if arrays.exists(dataset, key):
        _, values = arrays.load(dataset, key, ids=ids)
        values = np.array(values, dtype=np.float32)
    else:
        values = np.full((len(ids), FINGERPRINT_SIZE ** 2), np.nan, dtype=np.float32)
    todo = np.flatnonzero(np.isnan(values).any(axis=1))
    if len(todo):
        with ThreadPoolExecutor(WORKERS) as pool:
            rows = pool.map(lambda p: image_fingerprint(p, FINGERPRINT_SIZE, trim), (paths[i] for i in todo),
                            chunksize=64)
            values[todo] = np.stack(list(tqdm(rows, total=len(todo), desc="fingerprints", unit="image",
                                              disable=not progress)))
        arrays.save(dataset, key, ids, values, size=FINGERPRINT_SIZE,
                    method=f"centroid-aligned grayscale, {trim:.0%} border trimmed")
    return values


def _embeddings(dataset, embeddings, ids: list[str], paths: list[str], progress: bool,
                trim: float = 0.0) -> np.ndarray | None:
    if embeddings is None:
        return None
    if isinstance(embeddings, str):
        if embeddings == "fingerprints":
            return image_fingerprints(dataset, ids, paths, progress, trim)
        if not arrays.exists(dataset, embeddings):
            stored = ", ".join(arrays.list_keys(dataset)) or "none"
            raise KeyError(f"No array {embeddings!r} for {dataset.name!r} (stored: {stored}). Fix: pass "
                           "embeddings='fingerprints', a stored key, or an array with one row per sample.")
        return np.asarray(arrays.load(dataset, embeddings, ids=ids)[1], dtype=np.float32)
    values = np.asarray(embeddings, dtype=np.float32)
    if len(values) != len(ids):
        raise ValueError(f"{len(values):,} embedding rows for {len(ids):,} samples of {dataset.name!r}: pass one "
                         "row per sample, in dataset order (dataset.values('id')).")
    return values


def detect_duplicates(dataset_or_name, embeddings="fingerprints", threshold: float | None = None, *,
                      k: int = 10, exact: bool = True, outlier_fraction: float = 0.01, write: bool = True,
                      progress: bool = True, verify: bool = True, **options) -> pd.DataFrame:
    """Find exact copies (file hashes), near copies and outliers; write the duplicate / outlier fields in bulk.

    ``verify=True`` (default): nearest neighbours at cosine ≥ ``threshold`` (default 0.5) are candidates, each
    checked on the images (sda2.analysis.copy_check: crops, small rotations, blur, noise, shifts survive) and
    grouped around a representative without chaining. ``verify=False``: cosine ≥ ``threshold`` (default 0.99)
    alone, linked into connected components.
    """
    dataset = store.as_dataset(dataset_or_name)
    ids, paths = dataset.values("id"), dataset.values("filepath")
    if not ids:
        raise ValueError(f"Dataset {dataset.name!r} is empty: nothing to compare.")
    splits = dataset.values("split") if "split" in dataset.get_field_schema() else None
    hashes = np.array(file_hashes(paths, progress), dtype=object) if exact else None
    X = _embeddings(dataset, embeddings, ids, paths, progress, FINGERPRINT_TRIM if verify else 0.0)
    usable = np.ones(len(ids), dtype=bool) if X is None else np.isfinite(X).all(axis=1)
    if not usable.all():
        warnings.warn(f"{int((~usable).sum()):,} samples of {dataset.name!r} have unreadable images or no "
                      "embeddings and were left out (fix the files, or compute their embeddings).", stacklevel=2)
    rows = np.flatnonzero(usable)
    if verify and X is not None:
        options["verifier"] = image_verifier([paths[i] for i in rows], progress)
        if isinstance(embeddings, str) and embeddings == "fingerprints" and "queries" not in options:
            options["queries"] = edited_queries(X[rows], FINGERPRINT_SIZE)  # rotated / scaled / blurred / shifted
    found = find_duplicates(None if X is None else X[rows], threshold, k=k,
                            hashes=None if hashes is None else hashes[rows],
                            splits=None if splits is None else [splits[i] for i in rows],
                            outlier_fraction=outlier_fraction, progress=progress, **options)
    found.index = pd.Index([ids[i] for i in rows], name="id")
    frame = found.reindex(pd.Index(ids, name="id")).rename(columns={"outlier_score": "outlier_distance"})
    for field, default in FIELDS.items():
        if default is not None:
            frame[field] = frame[field].fillna(default).astype(type(default))
    frame["filepath"] = paths
    frame["split"] = splits
    frame.attrs.update(found.attrs, embeddings=embeddings if isinstance(embeddings, str) or embeddings is None
                       else "array")
    if write:
        _write(dataset, frame)
    return frame


def _write(dataset, frame: pd.DataFrame) -> None:
    """All duplicate / outlier fields in one bulk write, in dataset order; NaN floats become None."""
    columns = {}
    for field in FIELDS:
        column = frame[field].to_numpy()
        values = column.tolist()
        columns[field] = [None if np.isnan(v) else v for v in values] if column.dtype.kind == "f" else values
    summary = {**{k: (v if isinstance(v, (int, float, str)) or v is None else str(v)) for k, v in frame.attrs.items()},
               "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    runs.begin(dataset, RUN_KEY, list(FIELDS), info_key=RUN_KEY, params={"embeddings": summary.get("embeddings")},
               kind="duplicates")
    write_fields(dataset, frame.index.tolist(), columns)
    faults.point("compute.duplicates.written")
    runs.complete(dataset, RUN_KEY, **summary)  # the summary lives in the run (no longer in dataset.info)


def read_duplicate_groups(dataset_or_name, crosses_split_only: bool = False) -> pd.DataFrame:
    """The stored duplicate groups (size, representative, member ids, similarity, splits), largest first."""
    dataset = store.as_dataset(dataset_or_name)
    if runs.state(dataset, RUN_KEY) in ("running", "interrupted"):
        raise KeyError(f"The duplicate fields of {dataset.name!r} are incomplete (their run did not finish). "
                       "Fix: recompute with sda2.detect_duplicates(dataset).")
    if "duplicate_group" not in dataset.get_field_schema():
        raise KeyError(f"Dataset {dataset.name!r} has no duplicate fields yet. Fix: run sda2.detect_duplicates(dataset).")
    view = dataset.match({"duplicate_group": {"$gte": 0}})
    fields = ["id", "split", *FIELDS] if "split" in dataset.get_field_schema() else ["id", *FIELDS]
    columns = dict(zip(fields, view.values(fields)))
    frame = pd.DataFrame(columns).set_index("id")
    groups = duplicate_groups(frame, frame.get("split"))
    if crosses_split_only:
        groups = groups[groups.crosses_split]
    return groups.sort_values(["size", "duplicate_group"], ascending=[False, True]).reset_index(drop=True)
