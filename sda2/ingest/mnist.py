"""MNIST-style idx files (images and labels, gzip-compressed or not) written as PNG files and imported.

The PNGs go to ``out_dir``, by default ``<a new media folder of this import>/<images file stem>``
(``config.media_dir``, keyed by a fresh id recorded in the dataset's info, so the PNGs are deleted
with the dataset and no two imports share them). A given ``out_dir`` is the user's: it is never deleted.
The PNGs are rewritten on every import, so they always match the idx file they came from.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from bson import ObjectId
from PIL import Image
from tqdm.auto import tqdm

from sda2 import config, store
from sda2.ingest.base import IngestError, IngestReport, Mode, Record, natural_sorted
from sda2.ingest.writer import check_target, write_dataset

_UBYTE = 0x08


def read_idx(path: str | Path) -> np.ndarray:
    """The uint8 array stored in an idx file (as MNIST, Fashion-MNIST and EMNIST ship them), header-checked."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
    except FileNotFoundError:
        raise IngestError(f"{path} not found. Fix: give the path of an idx file such as "
                          "t10k-images-idx3-ubyte.gz.") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(f"{path} cannot be read ({exc}). Fix: download the file again.") from None
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != _UBYTE or raw[3] == 0:
        raise IngestError(f"{path} is not an idx file of unsigned bytes (its first bytes are {raw[:4].hex()}, "
                          "expected 0000 08 0n). Fix: give an MNIST-style idx file.")
    ndim = raw[3]
    offset = 4 + 4 * ndim
    if len(raw) < offset:
        raise IngestError(f"{path} ends inside its header. Fix: download the file again.")
    shape = struct.unpack(f">{ndim}I", raw[4:offset])
    if len(raw) - offset != math.prod(shape):
        raise IngestError(f"{path} holds {len(raw) - offset:,} bytes of data but its header announces shape "
                          f"{shape} ({math.prod(shape):,} bytes). Fix: download the file again.")
    return np.frombuffer(raw, np.uint8, offset=offset).reshape(shape)


def _stem(path: Path) -> str:
    return path.name.removesuffix(".gz").replace(".", "-")


def write_pngs(images: np.ndarray, folder: Path) -> list[str]:
    """Write each image of an (n, height, width) uint8 array as ``folder/<index>.png``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    digits = max(5, len(str(len(images) - 1)))
    paths = [str(folder / f"{i:0{digits}d}.png") for i in range(len(images))]

    def save(chunk: range) -> int:
        for i in chunk:
            Image.fromarray(images[i]).save(paths[i], compress_level=1)
        return len(chunk)

    chunks = [range(start, min(start + 500, len(images))) for start in range(0, len(images), 500)]
    with ThreadPoolExecutor(4) as pool, tqdm(total=len(images), desc=f"writing PNGs to {folder.name}",
                                             unit="image", disable=len(images) < 5_000) as bar:
        for done in pool.map(save, chunks):
            bar.update(done)
    return paths


def import_mnist(images_path: str | Path, labels_path: str | Path, name: str, mode: Mode = "error",
                 out_dir: str | Path | None = None, split: str | None = None,
                 limit: int | None = None) -> IngestReport:
    """Import an idx pair (e.g. t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) as PNGs in dataset ``name``."""
    check_target(name, mode)
    images_path, labels_path = Path(images_path), Path(labels_path)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise IngestError(f"{images_path} holds an array of shape {images.shape}, not (n, height, width) "
                          "images. Fix: pass the images file first, then the labels file.")
    if labels.ndim != 1:
        raise IngestError(f"{labels_path} holds an array of shape {labels.shape}, not one label per image. "
                          "Fix: pass the labels file (…-labels-idx1-ubyte) second.")
    if len(images) != len(labels):
        raise IngestError(f"{images_path.name} holds {len(images):,} images but {labels_path.name} holds "
                          f"{len(labels):,} labels. Fix: pass the matching pair (e.g. t10k-images with t10k-labels).")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    media_id = None if out_dir else str(ObjectId())
    folder = Path(out_dir) if out_dir else config.media_dir(media_id) / _stem(images_path)
    try:
        paths = write_pngs(images, folder)
        names = [str(v) for v in labels.tolist()]
        records = [Record(p, label, split, {"source_index": i}, f"{images_path.name} image {i}")
                   for i, (p, label) in enumerate(zip(paths, names))]
        return write_dataset(name, records, "classification", mode, classes=natural_sorted(names),
                             notes=[f"{len(paths):,} PNG files written to {folder}"],
                             media=[media_id] if media_id else None)
    except BaseException:
        if media_id:
            store.release_media([media_id])  # deleted unless the import got as far as recording it
        raise
