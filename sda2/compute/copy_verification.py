"""Verify candidate duplicate pairs on the images themselves (sda2.analysis.copy_check), with a progress bar.

Each image involved in a candidate pair is read once, reduced to the verifier's small grayscale square and
kept in memory; pairs are then scored in chunks on a few threads (opencv releases the GIL).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from sda2.analysis import copy_check

CHUNK = 512
WORKERS = 2


def load_prepared(path: str) -> np.ndarray | None:
    """The verifier's grayscale square of one image file (None when it cannot be read)."""
    try:
        with Image.open(path) as image:
            image.draft("L", (4 * copy_check.SIZE, 4 * copy_check.SIZE))
            return copy_check.prepare(np.asarray(image.convert("L")))
    except Exception:  # noqa: BLE001  (PIL raises many types for unreadable files)
        return None


def image_verifier(paths: list[str], progress: bool = True):
    """A ``verifier(rows, cols) -> similarities`` over the images at ``paths`` (0 where one cannot be read)."""
    cache: dict[int, np.ndarray | None] = {}

    def verify(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        needed = sorted(set(np.asarray(rows).tolist()) | set(np.asarray(cols).tolist()))
        todo = [i for i in needed if i not in cache]
        with ThreadPoolExecutor(WORKERS) as pool:
            for i, image in zip(todo, pool.map(lambda i: load_prepared(paths[i]), todo, chunksize=64)):
                cache[i] = image
        out = np.zeros(len(rows), dtype=np.float64)
        chunks = [slice(s, min(s + CHUNK, len(rows))) for s in range(0, len(rows), CHUNK)]

        def score(part: slice) -> np.ndarray:
            return np.array([0.0 if cache[a] is None or cache[b] is None else copy_check.pair_similarity(cache[a], cache[b])
                             for a, b in zip(rows[part], cols[part])])

        with ThreadPoolExecutor(WORKERS) as pool, tqdm(total=len(rows), desc="verifying pairs", unit="pair",
                                                       disable=not progress) as bar:
            for part, values in zip(chunks, pool.map(score, chunks)):
                out[part] = values
                bar.update(len(values))
        return out

    return verify
