"""The embedded default dataset: scikit-learn's 1,797 real 8x8 handwritten digits, written as PNG files.

Every load writes its own copy of the PNGs (1,797 files of about 100 bytes) into a fresh media folder
keyed by a new id, recorded in the dataset's info: two demo datasets never share files, so deleting
one never takes the other's images, and the folder is deleted with the dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from bson import ObjectId
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sda2 import config, store
from sda2.ingest.base import IngestReport, Mode, Record
from sda2.ingest.writer import check_target, write_dataset

DEFAULT_NAME = "digits"


def digits_records(folder: Path, test_size: float = 0.2, seed: int = 0) -> list[Record]:
    """One record per digit image, PNGs written into ``folder``, stratified split."""
    bunch = load_digits()
    folder.mkdir(parents=True, exist_ok=True)
    index = np.arange(len(bunch.target))
    _, test_index = train_test_split(index, test_size=test_size, random_state=seed, stratify=bunch.target)
    is_test = np.zeros(len(index), dtype=bool)
    is_test[test_index] = True
    records = []
    for i, (image, target) in enumerate(zip(bunch.images, bunch.target)):
        path = folder / f"{i:05d}.png"
        if not path.exists():
            Image.fromarray((image * (255 / 16)).astype(np.uint8), mode="L").save(path)
        records.append(Record(str(path), str(target), "test" if is_test[i] else "train", {"source_index": i}))
    return records


def load_digits_dataset(name: str = DEFAULT_NAME, mode: Mode = "error") -> IngestReport:
    """Import the default digits dataset as ``name`` (train/test split, classes "0".."9"), with its own PNGs."""
    check_target(name, mode)
    media_id = str(ObjectId())
    try:
        return write_dataset(name, digits_records(config.media_dir(media_id)), "classification", mode=mode,
                             classes=[str(c) for c in range(10)], media=[media_id])
    except BaseException:
        store.release_media([media_id])  # deleted unless the import got as far as recording it
        raise
