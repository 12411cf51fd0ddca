"""Keeping a selection as a tag or a FiftyOne saved view, on a real database (a copy of the digits fixture)."""

from __future__ import annotations

import pytest

import sda2
from sda2 import store
from sda2.curation import saved_views


@pytest.fixture
def ds(digits, dataset_name):
    """A persistent copy of the digits fixture, deleted after the test."""
    return digits.clone(dataset_name, persistent=True)


def test_tag_selection_is_stored_and_seen_by_a_fresh_load(ds):
    ids = ds.values("id")[:25]
    assert saved_views.tag_samples(ds.name, ids + ids[:3], "  cluster-7 ", "alice") == 25  # repeats count once
    fresh = store.open_dataset(ds.name)
    assert sorted(fresh.match_tags("cluster-7").values("id")) == sorted(ids)
    assert fresh.count_sample_tags() == {"cluster-7": 25}
    log = sda2.audit_log(ds)
    assert len(log) == 25 and set(log["annotator"]) == {"alice"} and set(log["field"]) == {"tags:cluster-7"}
    sda2.undo_last(ds, "alice")
    assert store.open_dataset(ds.name).count_sample_tags() == {}
    assert saved_views.tag_samples(ds, ids, "cluster-7", "alice") == 25
    assert saved_views.tag_samples(ds, ids[:5], "cluster-7", "alice") == 5  # tagging again keeps one tag per sample
    assert fresh.count_sample_tags() == {"cluster-7": 25}


def test_saved_view_round_trip(ds):
    ids = ds.values("id")[100:140]
    saved_views.save_view(ds.name, "map pick", ids, description="from the map")
    assert saved_views.saved_views(ds.name) == ["map pick"]
    fresh = store.open_dataset(ds.name)  # what the FiftyOne App (another process) would read
    assert fresh.list_saved_views() == ["map pick"]
    assert sorted(saved_views.load_view(fresh, "map pick").values("id")) == sorted(ids)

    with pytest.raises(ValueError, match="already has a saved view named 'map pick'.*overwrite=True"):
        saved_views.save_view(ds, "map pick", ids[:3])
    assert len(saved_views.load_view(ds, "map pick")) == 40  # the refused save changed nothing
    saved_views.save_view(ds, "map pick", ids[:3], overwrite=True)
    assert len(saved_views.load_view(ds, "map pick")) == 3

    saved_views.delete_view(ds, "map pick")
    assert saved_views.saved_views(ds) == [] and len(ds) == 1797
    with pytest.raises(KeyError, match="no saved view 'map pick'"):
        saved_views.load_view(ds, "map pick")


def test_bad_selections_change_nothing(ds):
    ids = ds.values("id")[:10]
    with pytest.raises(ValueError, match="selection is empty"):
        saved_views.tag_samples(ds, [], "x", "alice")
    with pytest.raises(ValueError, match="tag name is empty"):
        saved_views.tag_samples(ds, ids, "  ", "alice")
    with pytest.raises(ValueError, match="not sample ids.*'abc'"):
        saved_views.save_view(ds, "v", ids + ["abc"])
    gone = ids[0]
    ds.delete_samples([gone])
    with pytest.raises(ValueError, match="1 of 10 selected samples are not in"):
        saved_views.tag_samples(ds, ids, "x", "alice")
    assert ds.count_sample_tags() == {} and saved_views.saved_views(ds) == []
