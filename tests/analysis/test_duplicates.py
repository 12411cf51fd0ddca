"""Duplicate and outlier detection on arrays: hand-made cases, and copies injected into real digit images."""

from __future__ import annotations

import io
import shutil

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from sda2.analysis.duplicates import duplicate_groups, find_duplicates, nearest_neighbors
from sda2.compute.duplicates import file_hash, image_fingerprint


def test_hand_made_groups():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(6, 16))
    X = np.vstack([base, base[0] * 3, base[0] + 0.01 * rng.normal(size=16), base[4] + 0.01 * rng.normal(size=16)])
    # rows 6 and 7 copy row 0 (scaled: cosine 1; and slightly noisy), row 8 copies row 4
    frame = find_duplicates(X, 0.99, k=3)
    assert frame["duplicate_group"].tolist() == [0, -1, -1, -1, 1, -1, 0, 0, 1]
    assert frame["is_duplicate"].tolist() == [False] * 6 + [True, True, True]
    assert frame.loc[6, "duplicate_similarity"] == pytest.approx(1.0, abs=1e-5)
    assert 0.99 <= frame.loc[7, "duplicate_similarity"] < 1
    assert np.isnan(frame.loc[1, "duplicate_similarity"])
    assert frame.attrs["groups"] == 2 and frame.attrs["duplicates"] == 3


def test_priority_picks_the_representative_and_splits_mark_leaks():
    X = np.array([[1, 0, 0], [1, 0.001, 0], [0, 1, 0], [0, 1, 0.001], [0, 0, 1]], dtype=float)
    frame = find_duplicates(X, 0.99, k=2, priority=[0, 5, 0, 0, 0], splits=["train", "train", "train", "test", "test"])
    assert frame["is_duplicate"].tolist() == [True, False, False, True, False]
    assert frame["crosses_split"].tolist() == [False, False, True, True, False]
    groups = duplicate_groups(frame, ["train", "train", "train", "test", "test"])
    assert groups["representative"].tolist() == [1, 2]
    assert groups["members"].tolist() == [[0, 1], [2, 3]]
    assert groups["splits"].tolist() == [["train"], ["test", "train"]]


def test_exact_hashes_group_without_embeddings_and_mark_exact_copies():
    frame = find_duplicates(hashes=["a", "b", "a", None, "a", "c"])
    assert frame["duplicate_group"].tolist() == [0, -1, 0, -1, 0, -1]
    assert frame["is_exact_duplicate"].tolist() == [False, False, True, False, True, False]
    assert frame["duplicate_similarity"][[0, 2, 4]].tolist() == [1.0, 1.0, 1.0]
    assert frame["outlier_score"].isna().all() and not frame["is_outlier"].any()


def test_outliers_by_knn_distance():
    rng = np.random.default_rng(1)
    X = np.vstack([rng.normal(size=(300, 8)) + 5, [[-5, 5, -5, 5, -5, 5, -5, 5]]])
    frame = find_duplicates(X, 0.999, k=5, outlier_fraction=0.01)
    assert frame["outlier_score"].idxmax() == 300
    assert frame.loc[300, "is_outlier"]
    assert frame["is_outlier"].sum() == 4  # 1% of 301, rounded up at the quantile


def test_approximate_index_agrees_with_exact():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(6000, 32)).astype(np.float32)
    copies = rng.choice(6000, 300, replace=False)
    X = np.vstack([X, X[copies] + 0.02 * rng.normal(size=(300, 32))])
    exact = find_duplicates(X, 0.98, method="exact")
    ivf = find_duplicates(X, 0.98, method="ivf")
    hnsw = find_duplicates(X, 0.98, method="hnsw")
    assert exact["is_duplicate"].sum() == 300
    for approx in (ivf, hnsw):
        assert (approx["duplicate_group"] >= 0).sum() >= 0.99 * 600
    sims, idx = nearest_neighbors(X, k=3)
    assert (idx[6000:, 0] == copies).all() and (idx != np.arange(len(X))[:, None]).all()
    assert sims.shape == (6300, 3) and (np.diff(sims, axis=1) <= 1e-6).all()


@pytest.mark.parametrize("kwargs,message", [
    ({"embeddings": [[np.nan, 1.0], [1.0, 0.0]]}, "NaN"),
    ({"embeddings": np.ones((3, 2)), "hashes": ["a"]}, "aligned"),
    ({"embeddings": np.ones((3, 2)), "threshold": 1.5}, "threshold"),
    ({}, "Nothing to compare"),
    ({"embeddings": np.ones(3)}, "2-D"),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        find_duplicates(**kwargs)


def _png(array: np.ndarray, path) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def test_injected_copies_in_real_digits(tmp_path):
    """Real digit images plus exact copies and near copies of each kind: all copies land with their source."""
    images = (load_digits().images * (255 / 16)).astype(np.uint8)
    rng = np.random.default_rng(0)
    chosen = rng.choice(len(images), 400, replace=False)
    sources = chosen[300:]
    upscaled = {i: np.asarray(Image.fromarray(images[i]).resize((28, 28), Image.BICUBIC)) for i in chosen}
    paths = [_png(upscaled[i], tmp_path / f"o{i}.png") for i in chosen]

    def jpeg(a):
        buffer = io.BytesIO()
        Image.fromarray(a).save(buffer, "JPEG", quality=90)
        return np.asarray(Image.open(buffer))

    kinds = {"shift": lambda a: np.roll(a, 1, axis=1),
             "brightness": lambda a: np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8),
             "resize": lambda a: np.asarray(Image.fromarray(a).resize((56, 56), Image.BICUBIC)
                                            .resize((28, 28), Image.BICUBIC)),
             "jpeg": jpeg}
    truth = []  # (copy row, source row, kind)
    for n, source in enumerate(sources):
        row = 300 + n
        kind = ["exact", *kinds][n % 5]
        target = tmp_path / f"c{n}.png"
        if kind == "exact":
            shutil.copy(paths[row], target)
        else:
            _png(kinds[kind](upscaled[source]), target)
        truth.append((len(paths), row, kind))
        paths.append(str(target))
    X = np.stack([image_fingerprint(p) for p in paths])
    hashes = [file_hash(p) for p in paths]
    frame = find_duplicates(X, hashes=hashes)
    group = frame["duplicate_group"].to_numpy()
    for copy, source, kind in truth:
        assert group[copy] >= 0 and group[copy] == group[source], f"{kind} copy of row {source} not found"
        assert frame.loc[copy, "is_duplicate"] and not frame.loc[source, "is_duplicate"]
        assert frame.loc[copy, "is_exact_duplicate"] == (kind == "exact")
    flagged = set(np.flatnonzero(frame["is_duplicate"]))
    assert len(flagged - {c for c, _, _ in truth}) <= 5  # few natural look-alikes among 400 real digits


def test_fingerprint_of_unreadable_file_is_nan(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    assert np.isnan(image_fingerprint(str(bad))).all()
    assert file_hash(str(tmp_path / "missing.png")) is None


def test_all_zero_embeddings_form_one_group_and_are_not_outliers():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 8)).astype(np.float32)
    X[[5, 17, 30]] = 0.0  # e.g. blank images under pixel features
    frame = find_duplicates(X, 0.999, k=5, outlier_fraction=0.05)
    groups = frame.loc[[5, 17, 30], "duplicate_group"]
    assert groups.nunique() == 1 and groups.iloc[0] >= 0
    assert frame.loc[[17, 30], "is_duplicate"].all() and not frame.loc[5, "is_duplicate"]
    assert (frame.loc[[5, 17, 30], "duplicate_similarity"] == 1.0).all()
    assert frame.loc[[5, 17, 30], "outlier_score"].isna().all()
    assert not frame.loc[[5, 17, 30], "is_outlier"].any()
    assert frame.attrs["zero_embeddings"] == 3
    everything_zero = find_duplicates(np.zeros((10, 4), dtype=np.float32), 0.99, k=3)
    assert not everything_zero["is_outlier"].any() and everything_zero["duplicate_group"].nunique() == 1


@pytest.mark.parametrize("bad_k", [0, -1, 2.5, True])
def test_k_must_be_a_positive_whole_number(bad_k):
    with pytest.raises(ValueError, match="k is the number of nearest neighbours"):
        find_duplicates(np.eye(5, dtype=np.float32), 0.99, k=bad_k)
