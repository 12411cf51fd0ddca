"""MNIST idx importer: real MNIST (a few hundred images), hand-made idx files for the error cases."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest
from PIL import Image

from sda2 import config, store
from sda2.ingest import IngestError, import_mnist
from sda2.ingest.mnist import read_idx


def _idx(path, array: np.ndarray, compress: bool = False) -> None:
    header = bytes([0, 0, 8, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


def test_real_mnist_pngs_match_the_idx_pixels(mnist_dir, tmp_path, dataset_name):
    images = mnist_dir / "t10k-images-idx3-ubyte.gz"
    labels = mnist_dir / "t10k-labels-idx1-ubyte.gz"
    report = import_mnist(images, labels, dataset_name, split="test", limit=300, out_dir=tmp_path / "png")
    ds = store.open_dataset(dataset_name)
    expected_labels = read_idx(labels)[:300]
    assert report.loaded == 300 and ds.count_values("split") == {"test": 300}
    assert store.classes(ds) == [str(d) for d in range(10)]
    order = np.argsort(ds.values("source_index"))
    assert [int(v) for v in np.array(ds.values("ground_truth.label"))[order]] == expected_labels.tolist()
    sample = ds.match({"source_index": 7}).first()
    assert np.array_equal(np.asarray(Image.open(sample.filepath)), read_idx(images)[7])
    assert (sample.metadata.width, sample.metadata.height, sample.metadata.num_channels) == (28, 28, 1)


def test_gzip_and_plain_idx_and_append_of_a_second_file(tmp_path, dataset_name):
    rng = np.random.default_rng(0)
    _idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 255, (6, 5, 4)), compress=True)
    _idx(tmp_path / "train-labels-idx1-ubyte.gz", np.array([0, 1, 2, 0, 1, 2]), compress=True)
    _idx(tmp_path / "t10k-images-idx3-ubyte", rng.integers(0, 255, (3, 5, 4)))
    _idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([2, 2, 1]))
    import_mnist(tmp_path / "train-images-idx3-ubyte.gz", tmp_path / "train-labels-idx1-ubyte.gz", dataset_name,
                 split="train")
    import_mnist(tmp_path / "t10k-images-idx3-ubyte", tmp_path / "t10k-labels-idx1-ubyte", dataset_name,
                 mode="append", split="test")
    ds = store.open_dataset(dataset_name)
    assert ds.count_values("split") == {"train": 6, "test": 3}
    paths = set(ds.values("filepath"))
    assert len(paths) == 9  # the two files never share a PNG path
    train_media, test_media = store.owned_media(ds)  # each import wrote its PNGs into its own media folder
    assert {os.path.dirname(p) for p in paths} == {str(config.media_dir(train_media) / "train-images-idx3-ubyte"),
                                                   str(config.media_dir(test_media) / "t10k-images-idx3-ubyte")}
    assert ds.bounds("metadata.width") == (4, 4) and ds.bounds("metadata.height") == (5, 5)
    store.delete_dataset(dataset_name)  # the PNGs sda2 wrote go with the dataset
    assert not config.media_dir(train_media).exists() and not config.media_dir(test_media).exists()


def test_bad_idx_input_gets_clear_errors(tmp_path, dataset_name):
    _idx(tmp_path / "images", np.zeros((4, 3, 3)))
    _idx(tmp_path / "labels", np.zeros(5))
    with pytest.raises(IngestError, match="images holds 4 images but labels holds 5 labels.*matching pair"):
        import_mnist(tmp_path / "images", tmp_path / "labels", dataset_name)
    with pytest.raises(IngestError, match="not one label per image"):
        import_mnist(tmp_path / "images", tmp_path / "images", dataset_name)
    (tmp_path / "text").write_text("hello")
    with pytest.raises(IngestError, match="not an idx file"):
        import_mnist(tmp_path / "text", tmp_path / "labels", dataset_name)
    (tmp_path / "short").write_bytes((tmp_path / "images").read_bytes()[:-3])
    with pytest.raises(IngestError, match="announces shape"):
        import_mnist(tmp_path / "short", tmp_path / "labels", dataset_name)
    with pytest.raises(IngestError, match="not found"):
        import_mnist(tmp_path / "nothing.gz", tmp_path / "labels", dataset_name)
    assert dataset_name not in store.list_datasets()
