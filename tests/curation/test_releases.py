"""Releases on a real database: immutable after edits, delta storage, read-only copies, and the diff."""

from __future__ import annotations

import pandas as pd
import pytest

from sda2 import store
from sda2.curation import edits, release_diff, releases


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of the digits dataset."""
    return digits.clone(dataset_name, persistent=True)


def _other(label: str) -> str:
    return str((int(label) + 1) % 10)


def test_release_is_unchanged_after_edits(ds):
    before = releases.current_frame(ds)
    info = releases.create_release(ds, "v1", "alice", notes="first hand-off", guideline_version="g-2")
    assert (info.version, info.created_by, info.notes, info.guideline, info.samples, info.full) == \
        ("v1", "alice", "first hand-off", "g-2", len(ds), True)
    ids = ds.take(5, seed=3).values("id")
    labels = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label")))
    edits.set_labels(ds, {s: _other(lab) for s, lab in labels.items()}, "bob", "looked again")
    edits.mark(ds, ids[:2], "excluded", "carol", "blurry")
    frame = releases.release_frame(ds, "v1")
    pd.testing.assert_frame_equal(frame, before.sort_values("sample_id").reset_index(drop=True))
    now = releases.current_frame(ds).set_index("sample_id")
    assert all(now.at[s, "label"] == _other(lab) for s, lab in labels.items())  # the edits did happen
    with pytest.raises(ValueError, match="already has a release 'v1'"):
        releases.create_release(ds, "v1", "alice")


def test_second_release_stores_only_the_delta(ds):
    releases.create_release(ds, "v1", "alice")
    ids = ds.take(7, seed=4).values("id")
    labels = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label")))
    edits.set_labels(ds, {s: _other(lab) for s, lab in labels.items()}, "bob", "fix")
    removed = ds.take(3, seed=9).exclude(ids).values("id")
    ds.delete_samples(removed)
    v2 = releases.create_release(ds, "v2", "alice", notes="seven fixed, three dropped")
    assert (v2.full, v2.stored_rows, v2.parent, v2.samples) == (False, 10, "v1", len(ds))
    pd.testing.assert_frame_equal(releases.release_frame(ds, "v2"),
                                  releases.current_frame(ds).sort_values("sample_id").reset_index(drop=True))
    assert len(releases.release_frame(ds, "v1")) == len(ds) + 3
    assert [r.version for r in releases.list_releases(ds)] == ["v1", "v2"]
    assert releases.storage_bytes(ds)["rows"] == len(ds) + 3 + 10


def test_diff_shows_exactly_the_audited_edits(ds):
    releases.create_release(ds, "v1", "alice")
    ids = ds.take(6, seed=5).values("id")
    labels = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("ground_truth.label")))
    relabel = {s: _other(labels[s]) for s in ids[:4]}
    edits.set_labels(ds, relabel, "bob", "stroke reads as the next digit")
    edits.mark(ds, ids[4:], "excluded", "carol", "smudged")
    d = release_diff.diff(ds, "v1")
    assert d.summary == {"added": 0, "removed": 0, "excluded": 2, "restored": 0, "label": 4, "split": 0}
    lab = d.changes[d.changes.change == "label"].set_index("sample_id")
    assert set(lab.index) == set(relabel)
    assert all(lab.at[s, "new_label"] == relabel[s] and lab.at[s, "old_label"] == labels[s] for s in relabel)
    assert set(lab["who"]) == {"bob"} and set(lab["reason"]) == {"stroke reads as the next digit"}
    ex = d.changes[d.changes.change == "excluded"]
    assert set(ex.sample_id) == set(ids[4:]) and set(ex.who) == {"carol"} and set(ex.reason) == {"smudged"}
    # the distribution shift is exactly the edits: excluded samples leave the counts, relabels move one each
    split = dict(zip(ds.select(ids).values("id"), ds.select(ids).values("split")))
    expected: dict = {}
    for s in ids[:4]:
        expected[(split[s], labels[s])] = expected.get((split[s], labels[s]), 0) - 1
        expected[(split[s], relabel[s])] = expected.get((split[s], relabel[s]), 0) + 1
    for s in ids[4:]:
        expected[(split[s], labels[s])] = expected.get((split[s], labels[s]), 0) - 1
    got = {(r.split, r.label): r.shift for r in d.distribution.itertuples() if r.shift}
    assert got == {k: v for k, v in expected.items() if v}
    csv = d.to_csv()
    assert csv.splitlines()[0] == ",".join(release_diff.CHANGE_COLUMNS) and len(csv.splitlines()) == 7
    # release to release: v2 taken now shows the same changes
    releases.create_release(ds, "v2", "alice")
    assert release_diff.diff(ds, "v1", "v2").summary == d.summary


def test_release_dataset_is_a_read_only_copy(ds):
    releases.create_release(ds, "v1", "alice")
    sid = ds.first().id
    old = ds.first().ground_truth.label
    edits.set_label(ds, sid, _other(old), "bob")
    copy = releases.release_dataset(ds, "v1")
    assert copy.name == f"{ds.name}@v1" and not copy.persistent and len(copy) == len(ds)
    got = dict(zip(copy.values("sda2_sample_id"), copy.values("ground_truth.label")))
    assert got[sid] == old
    assert set(copy.distinct("split")) == set(store.splits(ds))
    assert copy.name not in store.list_datasets()
    copy.delete()


def test_bad_versions_and_refs_get_clear_errors(ds):
    for bad in ["", "v 1", "v@1", "../x", "x" * 41, "-v1", None]:
        with pytest.raises(ValueError, match="Invalid release version"):
            releases.create_release(ds, bad, "alice")
    with pytest.raises(ValueError, match="annotator"):
        releases.create_release(ds, "v1", "  ")
    with pytest.raises(releases.ReleaseNotFound, match="no release 'v9'.*none yet"):
        releases.release_frame(ds, "v9")
    assert releases.parse_ref("digits@v1") == ("digits", "v1")
    assert releases.parse_ref("고양이 cats") == ("고양이 cats", None)
    with pytest.raises(ValueError, match="names no version"):
        releases.parse_ref("digits@")
    with pytest.raises(ValueError, match="Invalid dataset name"):
        releases.parse_ref("../etc@v1")
    assert releases.list_releases(ds) == []
