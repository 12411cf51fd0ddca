"""The copy verifier on real digits and photos, star grouping without chaining, and detect_duplicates end to end."""

from __future__ import annotations

import tarfile

import numpy as np
import pytest
from PIL import Image

from sda2 import runs, store
from sda2.analysis import copy_check
from sda2.analysis.copy_groups import LOWEST, SURE, distinct_matches, identical_classes, star_groups
from sda2.analysis.duplicates import edited_queries, find_duplicates, nearest_neighbors, query_pairs
from sda2.analysis.image_edits import EDITS
from sda2.compute.duplicates import FINGERPRINT_SIZE, FINGERPRINT_TRIM, detect_duplicates, image_fingerprint
from sda2.ingest.base import Record
from sda2.ingest.mnist import read_idx
from sda2.ingest.writer import write_dataset
from tests.conftest import MNIST_DIR

CIFAR_TAR = MNIST_DIR.parent / "cifar10n" / "train_images.tar.gz"


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    """The first 2,000 MNIST test digits and their labels."""
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")[:2000]
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")[:2000]
    return images, labels


@pytest.fixture(scope="module")
def photos():
    """The first 40 CIFAR-10N photos (RGB, 32 x 32), read straight from the shared archive."""
    if not CIFAR_TAR.exists():
        pytest.skip(f"CIFAR-10N not found at {CIFAR_TAR}; put train_images.tar.gz there to run this test")
    out = []
    with tarfile.open(CIFAR_TAR, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.endswith(".jpg"):
                out.append(np.asarray(Image.open(tar.extractfile(member)).convert("RGB")))
                if len(out) == 40:
                    break
    return np.stack(out)


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_edit_of_real_digits_is_a_copy(mnist, edit):
    images, _ = mnist
    rng = np.random.default_rng(1)
    for i in (0, 1, 2, 3, 4, 7):  # a 7, 2, 1, 0, 4 and a 9
        copy = EDITS[edit](images[i], rng)
        verdict, similarity = copy_check.is_copy(images[i], copy)
        assert verdict, f"{edit} of digit {i} rejected (similarity {similarity:.3f})"
        assert 0 <= similarity <= 1


@pytest.mark.parametrize("edit", list(EDITS))
def test_every_edit_of_real_photos_is_a_copy(photos, edit):
    rng = np.random.default_rng(2)
    for i in range(0, 40, 8):
        verdict, similarity = copy_check.is_copy(photos[i], EDITS[edit](photos[i], rng))
        assert verdict, f"{edit} of photo {i} rejected (similarity {similarity:.3f})"


def test_different_images_of_the_same_class_are_rejected(mnist, photos):
    images, labels = mnist
    ones = np.flatnonzero(labels == 1)[:12]  # twelve different handwritten 1s: look-alikes, not copies
    for a, b in zip(ones[:-1], ones[1:]):
        verdict, similarity = copy_check.is_copy(images[a], images[b])
        assert not verdict, f"two different 1s ({a}, {b}) taken for copies (similarity {similarity:.3f})"
    for i in range(0, 38, 2):
        assert not copy_check.is_copy(photos[i], photos[i + 1])[0], f"photos {i} and {i + 1} taken for copies"
    assert copy_check.pair_similarity(photos[0], photos[0]) == pytest.approx(1.0)


def test_bad_image_shape_is_named():
    with pytest.raises(ValueError, match="2-D grayscale or H x W x 3"):
        copy_check.prepare(np.zeros(5))


def test_star_groups_never_chain_look_alikes():
    # a chain 0-1-2-3-4 of verified pairs, plus 5 verified against 0: stars, not one component of six
    rows, cols = [0, 1, 2, 3, 0], [1, 2, 3, 4, 5]
    sims = [0.95, 0.9, 0.92, 0.97, 0.99]
    frame = star_groups(7, rows, cols, sims)
    assert frame["duplicate_group"].tolist() == [0, 0, 1, 1, -1, 0, -1]
    assert frame["representative"].tolist() == [0, 0, 2, 2, -1, 0, -1]
    assert frame["duplicate_similarity"][[1, 5, 3]].tolist() == [0.95, 0.99, 0.92]  # each to its representative
    assert frame.loc[0, "duplicate_similarity"] == 0.99 and not frame.loc[0, "is_duplicate"]
    assert np.isnan(frame.loc[6, "duplicate_similarity"])


def test_star_groups_keep_identical_copies_together_and_respect_priority():
    identical = identical_classes(5, hashes=["h", None, "h", None, None])
    assert identical.tolist() == [0, 1, 0, 3, 4]
    # 3 is verified against 2 (a copy of 0 by bytes); priority makes 3 the representative
    frame = star_groups(5, [2], [3], [0.9], identical=identical, priority=[0, 0, 0, 5, 0])
    assert frame["duplicate_group"].tolist() == [0, -1, 0, 0, -1]
    assert frame["representative"].tolist() == [3, -1, 3, 3, -1]
    assert frame["is_identical"].tolist() == [False, False, True, False, False]  # 2 has the bytes of 0, which comes first
    assert frame["duplicate_similarity"][[0, 2]].tolist() == [0.9, 0.9]


def test_find_duplicates_with_a_verifier_uses_the_pair_similarities():
    X = np.array([[1, 0], [1, 0.1], [1, 0.2], [0, 1]], dtype=float)
    calls = []

    def verifier(rows, cols):
        calls.append(list(zip(rows.tolist(), cols.tolist())))
        return np.where((rows == 0) & (cols == 1), 0.97, 0.1)

    frame = find_duplicates(X, k=2, verifier=verifier)
    assert (0, 1) in calls[0] and (1, 2) in calls[0]
    assert frame["duplicate_group"].tolist() == [0, 0, -1, -1]
    assert frame.loc[1, "duplicate_similarity"] == 0.97
    assert frame.attrs["verified_pairs"] == 1 and frame.attrs["grouping"].startswith("star")


def test_detect_duplicates_finds_crops_and_rotations(mnist, tmp_path, dataset_name):
    images, labels = mnist
    rng = np.random.default_rng(3)
    records = []
    for i in range(300):
        path = tmp_path / f"o{i}.png"
        Image.fromarray(images[i]).save(path)
        records.append(Record(str(path), str(labels[i]), "train"))
    injected = {}
    for n, source in enumerate(range(0, 40, 2)):
        edit = ("crop_90", "rotate_6", "rotate_6_scale_5", "blur_1")[n % 4]
        path = tmp_path / f"c{n}_{edit}.png"
        Image.fromarray(EDITS[edit](images[source], rng)).save(path)
        records.append(Record(str(path), str(labels[source]), "test"))
        injected[len(records) - 1] = source
    write_dataset(dataset_name, records, "classification", check_images=False)
    ds = store.open_dataset(dataset_name)
    frame = detect_duplicates(ds, progress=False)
    group = frame["duplicate_group"].to_numpy()
    for copy, source in injected.items():
        assert group[copy] >= 0 and group[copy] == group[source], f"copy {copy} of digit {source} not found"
        assert frame["is_duplicate"].iloc[copy] and not frame["is_duplicate"].iloc[source]
        assert LOWEST <= frame["duplicate_similarity"].iloc[copy] <= 1
    false = frame[frame["is_duplicate"]].index.difference(frame.index[list(injected)])
    assert len(false) <= 1, f"{len(false)} originals flagged as copies of other originals"
    sizes = frame.loc[frame.duplicate_group >= 0].groupby("duplicate_group").size()
    assert sizes.max() <= 3
    stored = store.open_dataset(dataset_name)
    assert runs.run_record(stored, "sda2_duplicates")["summary"]["verified"] is True


def test_two_identical_files_joined_to_a_third_look_alike_are_still_exact():
    from sda2.analysis.copy_groups import star_groups

    # rows 1 and 2 hold the same bytes (identical class 1); both are verified near row 0, which ranks first
    out = star_groups(3, [0, 0], [1, 2], [0.95, 0.95], identical=[0, 1, 1], priority=[2.0, 1.0, 0.0])
    assert out["duplicate_group"].tolist() == [0, 0, 0] and out["representative"].tolist() == [0, 0, 0]
    assert out["is_identical"].tolist() == [False, False, True]


def test_edited_queries_find_the_original_of_rotated_and_scaled_copies(mnist, tmp_path):
    """Real 1s and 7s: the copy's original is not among its plain nearest neighbours, but an edited query finds it."""
    images, labels = mnist
    rows = np.flatnonzero(np.isin(labels, (1, 7)))[:400]  # look-alikes crowd the plain neighbour lists
    rng = np.random.default_rng(4)
    sources = rows[:60]
    kinds = [("rotate_6", "rotate_6_scale_5", "crop_90", "shift_2px")[i % 4] for i in range(len(sources))]
    pictures = [images[i] for i in rows] + [EDITS[k](images[s], rng) for s, k in zip(sources, kinds)]
    paths = []
    for n, picture in enumerate(pictures):
        paths.append(tmp_path / f"{n}.png")
        Image.fromarray(picture).save(paths[-1])
    X = np.stack([image_fingerprint(str(p), trim=FINGERPRINT_TRIM) for p in paths])
    copies = np.arange(len(rows), len(pictures))
    source_row = np.arange(len(sources))  # sources are the first rows
    _, idx = nearest_neighbors(X, k=2)
    plain = {(c, s) for c, s in zip(copies, source_row) if s in idx[c] or c in idx[s]}
    r, c = query_pairs(X / np.linalg.norm(X, axis=1, keepdims=True), edited_queries(X, FINGERPRINT_SIZE), 1, 0.5,
                       "exact", 50_000, 4)
    edited = set(zip(r.tolist(), c.tolist())) | set(zip(c.tolist(), r.tolist()))
    found = {(cp, s) for cp, s in zip(copies, source_row) if (cp, s) in edited or (cp, s) in plain}
    assert len(plain) < len(found), "the edited queries found no original that the plain search missed"
    assert len(found) >= 0.95 * len(copies), f"only {len(found)} of {len(copies)} originals found"
    assert len(r) <= 19 * len(X)  # one neighbour per edited query set (18 warps + a blur)


def test_distinct_matches_is_a_ratio_test():
    # 0-1: a copy standing out (0.8, next best 0.5); 2-3: look-alikes among others as close (0.85 vs 0.84);
    # 4-5: sure (0.95) although 4 also resembles 6; 7-8: too low
    rows = [0, 0, 2, 2, 3, 4, 4, 7]
    cols = [1, 9, 3, 10, 11, 5, 6, 8]
    sims = [0.8, 0.5, 0.85, 0.84, 0.8, 0.95, 0.9, 0.65]
    ok = distinct_matches(rows, cols, sims, 12)
    assert ok.tolist() == [True, False, False, False, False, True, False, False]
    assert SURE > LOWEST
    # identical samples are one image: a second byte-copy of 1 (row 9) is no runner-up of its own content
    ok = distinct_matches([0, 0], [1, 9], [0.8, 0.8], 12, identical=[0, 1, 2, 3, 4, 5, 6, 7, 8, 1, 10, 11])
    assert ok.tolist() == [True, True]
