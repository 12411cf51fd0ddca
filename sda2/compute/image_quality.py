"""Image properties of a stored dataset read from its files (a progress bar, threads), cached in sda2.arrays.

The properties (``sda2.analysis.image_quality.PROPERTIES``: size, brightness, entropy, sharpness, chroma)
are what the image-quality checks of ``sda2.issues.image_quality`` score. Only samples without cached
properties are read; an unreadable file gets a NaN row and a warning naming it.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
from PIL import Image
from tqdm.auto import tqdm

from sda2 import arrays, store
from sda2.analysis.image_quality import PROPERTIES, image_properties

KEY = "image_properties"  # the sda2.arrays key of the cached properties (one row per sample)
VERSION = 1  # bump when a property's definition changes: older caches are recomputed
READ_SIZE = 256  # pixels are measured with the longer side reduced to at most this (size is the file's own)
WORKERS = 4
GRAY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def read_pixels(path: str, size: int = READ_SIZE) -> tuple[np.ndarray, tuple[int, int]]:
    """(uint8 pixels, H x W gray or H x W x 3 RGB, reduced to at most ``size``; the file's (width, height))."""
    with Image.open(path) as image:
        full = image.size
        gray = image.mode in GRAY_MODES
        image.draft("L" if gray else "RGB", (size, size))
        image = image.convert("L" if gray else "RGB")
        if max(image.size) > size:
            image.thumbnail((size, size), Image.BOX)
        return np.asarray(image), full


def file_properties(path: str) -> dict[str, float]:
    """The image-quality properties of one file (NaN everywhere when it cannot be read)."""
    try:
        pixels, (width, height) = read_pixels(path)
    except Exception:  # noqa: BLE001  (PIL raises many types for unreadable files)
        return dict.fromkeys(PROPERTIES, float("nan"))
    values = image_properties(pixels)
    values.update(width=float(width), height=float(height))
    return values


def image_properties_frame(dataset_or_name, progress: bool = True) -> pd.DataFrame:
    """One row of properties per sample (index: sample id, dataset order); new samples read, the rest cached."""
    dataset = store.as_dataset(dataset_or_name)
    ids, paths = dataset.values("id"), dataset.values("filepath")
    values = np.full((len(ids), len(PROPERTIES)), np.nan)
    if arrays.exists(dataset, KEY) and arrays.info(dataset, KEY).get("version") == VERSION:
        values = np.array(arrays.load(dataset, KEY, ids=ids)[1], dtype=np.float64)
    todo = np.flatnonzero(np.isnan(values[:, 0]))
    if len(todo):
        with ThreadPoolExecutor(WORKERS) as pool:
            rows = pool.map(file_properties, (paths[i] for i in todo), chunksize=32)
            read = list(tqdm(rows, total=len(todo), desc="image properties", unit="image", disable=not progress))
        values[todo] = [[row[c] for c in PROPERTIES] for row in read]
        arrays.save(dataset, KEY, ids, values, columns=list(PROPERTIES), version=VERSION)
    unreadable = [paths[i] for i in np.flatnonzero(np.isnan(values[:, 0]))]
    if unreadable:
        warnings.warn(f"{len(unreadable):,} images of {dataset.name!r} could not be read (first: {unreadable[0]}) "
                      "and were not checked. Fix: replace or remove those files.", stacklevel=2)
    return pd.DataFrame(values, index=pd.Index(ids, name="id"), columns=list(PROPERTIES))
