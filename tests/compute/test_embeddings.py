"""Image embeddings: EfficientNet-Lite0 and raw pixels computed on real images, resumed, imported, loaded."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import cross_val_score
from sklearn.neighbors import KNeighborsClassifier

from sda2 import arrays, store
from sda2.compute import embeddings
from sda2.compute.effnet import auto_input_size
from sda2.compute.embeddings import (compute_embeddings, default_backbone, default_model, embedding_keys,
                                     import_embeddings, load_embeddings)
from sda2.ingest.base import Record
from sda2.ingest.writer import write_dataset


@pytest.fixture
def small(digits, dataset_name):
    """The first 64 digits as a dataset of this test's own (so its arrays are its own too)."""
    return digits.limit(64).clone(dataset_name, persistent=True)


def test_pixel_embeddings_of_digits_are_the_images_aligned_by_id(digits, dataset_name):
    dataset = digits.clone(dataset_name, persistent=True)
    run = compute_embeddings(dataset, model="pixels", progress=False)
    assert run.key == "embeddings_pixels" and run.computed == 1797 and not run.skipped
    ids, values = load_embeddings(dataset_name, "embeddings_pixels")
    assert values.shape == (1797, 64) and values.dtype == np.float32
    assert list(ids) == dataset.values("id")
    # each row is its own sample's image: the PNGs hold sklearn's 0..16 pixels scaled to 0..255
    source = load_digits().images[dataset.values("source_index")].reshape(1797, -1) / 16
    assert np.abs(values - source).max() < 0.01
    assert arrays.info(dataset_name, "embeddings_pixels")["input_size"] == 8


def test_effnet_embeddings_shape_alignment_and_resume(small):
    name = small.name
    first = compute_embeddings(small, model="effnet_lite0", progress=False)
    assert first.key == "embeddings_effnet_lite0" and first.computed == 64 and first.reused == 0
    ids, values = load_embeddings(name)
    assert values.shape == (64, 1280) and np.isfinite(values).all() and list(ids) == small.values("id")
    info = arrays.info(name, first.key)
    assert info["model"] == "effnet_lite0" and info["input_size"] == 112 and info["kind"] == "embeddings"

    # forget 10 rows: a second run embeds exactly those, keeps the others bit for bit, restores the order
    kept = np.r_[0:20, 30:64]
    arrays.save(name, first.key, ids[kept], values[kept], **{k: v for k, v in info.items()
                                                             if k not in ("key", "shape", "dtype", "created_at")})
    second = compute_embeddings(name, model="effnet_lite0", progress=False)
    assert (second.computed, second.reused) == (10, 54)
    ids2, values2 = load_embeddings(name)
    assert list(ids2) == list(ids)
    assert np.array_equal(values2[kept], values[kept])
    np.testing.assert_allclose(values2[20:30], values[20:30], atol=1e-4)

    # nothing left to do: no recompute, the file is not even rewritten
    mtime = (arrays.folder(name) / f"{first.key}.npy").stat().st_mtime_ns
    third = compute_embeddings(name, model="effnet_lite0", progress=False)
    assert (third.computed, third.reused) == (0, 64)
    assert (arrays.folder(name) / f"{first.key}.npy").stat().st_mtime_ns == mtime

    with pytest.raises(ValueError, match="input_size=112.*another key"):
        compute_embeddings(name, model="effnet_lite0", input_size=64, progress=False)

    # embeddings made with an older preprocessing (ImageNet mean/std) are recomputed, never mixed with new rows
    arrays.save(name, first.key, ids[kept], values[kept] + 1.0,
                **{**{k: v for k, v in info.items() if k not in ("key", "shape", "dtype", "created_at")},
                   "preprocessing": "EXIF-rotated, RGB (gray replicated), bilinear resize, ImageNet mean/std"})
    fourth = compute_embeddings(name, model="effnet_lite0", progress=False)
    assert (fourth.computed, fourth.reused) == (64, 0)
    assert arrays.info(name, first.key)["preprocessing"].endswith("(x - 127) / 128")
    np.testing.assert_allclose(load_embeddings(name)[1], values, atol=1e-4)


def test_input_size_follows_the_images():
    assert [auto_input_size(side) for side in (8, 28, 112, 150, 224, 500, 4000)] == [112, 160, 224, 224, 224, 224, 224]


def test_default_model_is_pixels_for_tiny_images_only(small, mnist_dir, dataset_name, tmp_path, monkeypatch):
    from sda2.ingest.mnist import import_mnist

    assert default_model(small) == "pixels"  # 8 px digits
    import_mnist(mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz",
                 dataset_name + "_mnist", out_dir=tmp_path, limit=20)
    assert default_model(dataset_name + "_mnist") == "effnet_lite0"  # 28 px gray digits: Lite0's features win
    store.delete_dataset(dataset_name + "_mnist")
    # colour photos: the larger backbone (CIFAR-10N's first five, from the shared archive)
    with tarfile.open(mnist_dir.parent / "cifar10n" / "train_images.tar.gz", "r:gz") as tar:
        photos = [m for m in tar.getmembers()[:40] if m.name.endswith(".jpg")][:5]
        tar.extractall(tmp_path / "cifar", members=photos, filter="data")
    write_dataset(dataset_name + "_cifar", [Record(str(tmp_path / "cifar" / m.name), "x", "train") for m in photos],
                  "classification", classes=["x"])
    assert default_model(dataset_name + "_cifar") == default_backbone(dataset_name + "_cifar") == "effnet_lite2"
    # more colour images than Lite2 can embed within the CPU budget: Lite0 (the CPU budget does not bind on a GPU)
    monkeypatch.setattr(embeddings, "LITE2_CPU_MAX_SAMPLES", 4)
    expected = "effnet_lite2" if torch.cuda.is_available() else "effnet_lite0"
    assert default_backbone(dataset_name + "_cifar") == expected
    store.delete_dataset(dataset_name + "_cifar")


def test_unreadable_images_are_skipped_and_reported(small, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png at all")
    paths = small.values("filepath")
    paths[3], paths[40] = str(tmp_path / "missing.png"), str(broken)
    small.set_values("filepath", paths)
    run = compute_embeddings(small, model="pixels", progress=False)
    assert run.computed == 62 and len(run.ids) == 62
    reasons = {s.item: s.reason for s in run.skipped}
    assert "file not found" in reasons[str(tmp_path / "missing.png")]
    assert "not a readable image" in reasons[str(broken)]
    assert "2 skipped" in run.summary() and "missing.png" in run.summary()
    assert len(arrays.info(small.name, "embeddings_pixels")["skipped"]) == 2


def test_import_user_array_aligned_by_order_or_by_ids(small, tmp_path):
    name = small.name
    ids = small.values("id")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(64, 5)).astype(np.float32)
    import_embeddings(name, vectors)
    got_ids, got = load_embeddings(name, "embeddings_user")
    assert list(got_ids) == ids and np.array_equal(got, vectors)

    # a shuffled subset with its ids, from an .npz file: stored in dataset order
    order = rng.permutation(64)[:50]
    np.savez(tmp_path / "mine.npz", embeddings=vectors[order], ids=np.array(ids)[order])
    run = import_embeddings(name, tmp_path / "mine.npz", key="embeddings_subset")
    assert run.computed == 50
    got_ids, got = load_embeddings(name, "embeddings_subset")
    assert list(got_ids) == [i for i in ids if i in set(np.array(ids)[order])]
    position = {sid: k for k, sid in enumerate(ids)}
    assert np.array_equal(got, vectors[[position[s] for s in got_ids]])

    # a FiftyOne field of vectors
    small.set_values("my_vector", [v.tolist() for v in vectors])
    import_embeddings(name, "my_vector", key="embeddings_field")
    np.testing.assert_allclose(load_embeddings(name, "embeddings_field")[1], vectors, rtol=1e-6)

    # the user's own come first when no key is given; a view gets its own rows only
    assert embedding_keys(name)[0] == "embeddings_field"
    view = small.skip(10).limit(5)
    view_ids, view_values = load_embeddings(view, "embeddings_user")
    assert list(view_ids) == view.values("id") and np.array_equal(view_values, vectors[10:15])


def test_import_refuses_bad_input_and_keeps_what_is_stored(small, tmp_path):
    name = small.name
    good = np.ones((64, 3), np.float32)
    import_embeddings(name, good)
    with pytest.raises(ValueError, match="exist already.*overwrite=True"):
        import_embeddings(name, good * 2)
    with pytest.raises(ValueError, match="63 rows of embeddings but .* 64 samples.*ids="):
        import_embeddings(name, good[:63], key="e2")
    nan = good.copy()
    nan[[5, 9]] = np.nan
    with pytest.raises(ValueError, match="2 rows .* NaN or inf .*\\[5, 9\\]"):
        import_embeddings(name, nan, key="e2")
    with pytest.raises(ValueError, match="Ragged.*row 0 has 3 values but row 1 has 2"):
        import_embeddings(name, [[1, 2, 3], [1, 2]] + [[1, 2, 3]] * 62, key="e2")
    with pytest.raises(ValueError, match="not samples of"):
        import_embeddings(name, good[:2], key="e2", ids=["nope", small.first().id])
    with pytest.raises(ValueError, match="neither a .npy/.npz file nor a field"):
        import_embeddings(name, "no_such_field", key="e2")
    np.save(tmp_path / "flat.npy", np.ones(64))
    with pytest.raises(ValueError, match="must be 2-D"):
        import_embeddings(name, tmp_path / "flat.npy", key="e2")
    assert not arrays.exists(name, "e2")
    assert np.array_equal(load_embeddings(name, "embeddings_user")[1], good)


def test_missing_embeddings_name_the_fix(small):
    with pytest.raises(KeyError, match="compute_embeddings"):
        load_embeddings(small.name)
    with pytest.raises(ValueError, match="Unknown embedding model 'clip'.*import_embeddings"):
        compute_embeddings(small, model="clip", progress=False)


def test_effnet_embeddings_separate_mnist_digits(mnist_dir, dataset_name, tmp_path):
    from sda2.ingest.mnist import import_mnist

    import_mnist(mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz",
                 dataset_name, out_dir=tmp_path, limit=300)
    dataset = store.open_dataset(dataset_name)
    run = compute_embeddings(dataset, progress=False)
    labels = dataset.values("ground_truth.label")
    accuracy = cross_val_score(KNeighborsClassifier(5), run.values, labels, cv=5).mean()
    assert accuracy > 0.6  # chance is 0.1; measured 0.77


def test_effnet_lite2_embeddings_are_real_and_preferred_when_stored(mnist_dir, dataset_name, tmp_path):
    from sda2.ingest.mnist import import_mnist

    import_mnist(mnist_dir / "t10k-images-idx3-ubyte.gz", mnist_dir / "t10k-labels-idx1-ubyte.gz",
                 dataset_name, out_dir=tmp_path, limit=300)
    dataset = store.open_dataset(dataset_name)
    lite0 = compute_embeddings(dataset, progress=False)  # gray digits: sda2's choice is Lite0 (see default_backbone)
    assert lite0.key == "embeddings_effnet_lite0"
    lite2 = compute_embeddings(dataset, model="effnet_lite2", progress=False)
    assert lite2.key == "embeddings_effnet_lite2" and lite2.values.shape == (300, 1280)
    info = arrays.info(dataset_name, lite2.key)
    assert info["model"] == "effnet_lite2" and info["input_size"] == auto_input_size(28) == 160  # 28 px digits
    assert not np.allclose(lite2.values, lite0.values)  # another network, not Lite0's weights under a new name
    labels = dataset.values("ground_truth.label")
    assert cross_val_score(KNeighborsClassifier(5), lite2.values, labels, cv=5).mean() > 0.6
    ids, values = load_embeddings(dataset_name)  # no key: the better backbone's
    assert np.array_equal(values, lite2.values) and list(ids) == dataset.values("id")
    with pytest.raises(ValueError, match="Unknown EfficientNet variant 'lite9'"):
        from sda2.compute.effnet import EffNetEmbedder
        EffNetEmbedder(112, "cpu", "lite9")
