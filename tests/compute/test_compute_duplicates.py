"""detect_duplicates on a real FiftyOne database: digits cloned, copies of train images injected into test."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

import fiftyone as fo
from sda2 import arrays, runs, store
from sda2.analysis.copy_groups import LOWEST
from sda2.compute.duplicates import FINGERPRINT_KEY, PLAIN_KEY, detect_duplicates, read_duplicate_groups
from tests.conftest import private_copy


@pytest.fixture
def leaky_digits(digits, dataset_name, tmp_path):
    """400 digits plus, in the test split, an exact copy and a brighter copy of train images."""
    ds = private_copy(digits, dataset_name, 400)
    train = ds.match({"split": "train"}).limit(2)
    (exact_src, exact_id), (bright_src, bright_id) = zip(train.values("filepath"), train.values("id"))
    exact_path, bright_path = tmp_path / "exact.png", tmp_path / "bright.png"
    shutil.copy(exact_src, exact_path)
    pixels = np.asarray(Image.open(bright_src), dtype=np.int16)
    Image.fromarray(np.clip(pixels + 30, 0, 255).astype(np.uint8)).save(bright_path)
    new_ids = ds.add_samples([fo.Sample(filepath=str(p), split="test", ground_truth=fo.Classification(label="x"))
                              for p in (exact_path, bright_path)])
    return ds, {"exact": (exact_id, new_ids[0]), "bright": (bright_id, new_ids[1])}


def test_fields_written_and_leaks_reported(leaky_digits):
    ds, pairs = leaky_digits
    frame = detect_duplicates(ds.name, progress=False)
    assert len(frame) == len(ds)
    ds = store.open_dataset(ds.name)
    schema = ds.get_field_schema()
    for field, kind in [("duplicate_group", fo.IntField), ("is_duplicate", fo.BooleanField),
                        ("duplicate_similarity", fo.FloatField), ("is_exact_duplicate", fo.BooleanField),
                        ("crosses_split", fo.BooleanField), ("outlier_distance", fo.FloatField),
                        ("is_outlier", fo.BooleanField)]:
        assert isinstance(schema[field], kind), field
    stored = {f: dict(zip(ds.values("id"), ds.values(f))) for f in
              ("duplicate_group", "is_duplicate", "is_exact_duplicate", "crosses_split", "duplicate_similarity")}
    for kind, (source, copy) in pairs.items():
        assert stored["duplicate_group"][source] == stored["duplicate_group"][copy] >= 0
        assert not stored["is_duplicate"][source] and stored["is_duplicate"][copy]  # the first one is kept
        assert stored["crosses_split"][copy] and stored["crosses_split"][source]
        assert stored["is_exact_duplicate"][copy] == (kind == "exact")
    assert stored["duplicate_similarity"][pairs["exact"][1]] == 1.0
    assert stored["duplicate_similarity"][pairs["bright"][1]] >= LOWEST  # verified on the images
    singles = [i for i, g in stored["duplicate_group"].items() if g == -1]
    assert all(stored["duplicate_similarity"][i] is None for i in singles)
    assert 0 < sum(ds.values("is_outlier")) <= 0.02 * len(ds)

    leaks = read_duplicate_groups(ds, crosses_split_only=True)
    assert {pairs["exact"][1], pairs["bright"][1]} <= {m for members in leaks["members"] for m in members}
    assert all(s == ["test", "train"] for s in leaks["splits"])
    assert runs.run_record(ds, "sda2_duplicates")["summary"]["embeddings"] == "fingerprints"
    assert arrays.exists(ds, FINGERPRINT_KEY)  # the verified path searches border-trimmed fingerprints


def test_fingerprints_are_cached_and_reused(leaky_digits):
    ds, _ = leaky_digits
    detect_duplicates(ds, progress=False, write=False, verify=False)  # the cache, not the verifier, is tested here
    key = PLAIN_KEY  # verify=False: the untrimmed fingerprints
    ids, cached = arrays.load(ds.name, key)
    assert len(ids) == len(ds) and np.isfinite(cached).all()
    marker = np.array(cached)
    marker[:, :] = 0
    marker[:, 0] = 1  # every sample "identical": proves the cache is what gets used
    arrays.save(ds.name, key, ids, marker)
    frame = detect_duplicates(ds, progress=False, write=False, exact=False, verify=False)  # the cut on fingerprints alone
    assert frame["duplicate_group"].nunique() == 1


def test_stored_embeddings_and_bad_inputs(leaky_digits):
    ds, _ = leaky_digits
    ids = ds.values("id")
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(len(ids), 16))
    arrays.save(ds.name, "embeddings_test", ids, emb)
    frame = detect_duplicates(ds, embeddings="embeddings_test", threshold=0.999, progress=False, write=False)
    assert frame["is_exact_duplicate"].sum() == 1 and frame["is_duplicate"].sum() == 1  # only the exact copy
    with pytest.raises(KeyError, match="stored: embeddings_test"):
        detect_duplicates(ds, embeddings="embeddings_nope", progress=False)
    with pytest.raises(ValueError, match="one row per sample"):
        detect_duplicates(ds, embeddings=emb[:-1], progress=False)
    assert "duplicate_group" not in ds.get_field_schema()  # nothing written by the failed calls


def test_unreadable_image_is_left_out_with_a_warning(leaky_digits, tmp_path):
    ds, _ = leaky_digits
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    sample = fo.Sample(filepath=str(broken), split="test")
    ds.add_sample(sample)
    with pytest.warns(UserWarning, match="1 samples"):
        frame = detect_duplicates(ds, progress=False, verify=False)
    assert frame.loc[sample.id, "duplicate_group"] == -1 and not frame.loc[sample.id, "is_duplicate"]
    assert ds.values("duplicate_group")[-1] == -1
