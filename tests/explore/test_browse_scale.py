"""The Samples page's choices at scale: numeric fields found by a probe plus one pass and kept per dataset
version; tags, classes and splits read from an index; all checked against FiftyOne's own answers."""

from __future__ import annotations

import pytest

from sda2 import store
from sda2.curation import edits
from sda2.explore import browse
from tests.conftest import private_copy

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)


@pytest.fixture
def small(digits, dataset_name):
    """A private 120-sample copy of digits that a test may edit."""
    return private_copy(digits, dataset_name, 120)


def _holding_values(ds) -> list[str]:
    """Numeric fields with a value, by FiftyOne's own count (one aggregation per field)."""
    return [p for p in browse._numeric_paths(ds) if ds.count(p)]


def test_numeric_fields_beyond_the_probed_samples_are_found(small, monkeypatch):
    monkeypatch.setattr(browse, "PROBE_ROWS", 10)  # the first 10 samples hold no "late" value
    small.add_sample_field("late", fo.FloatField)
    small.add_sample_field("never", fo.IntField)
    last = small.skip(len(small) - 1).first().id
    small.set_values("late", {last: 0.25}, key_field="id")
    found = browse.numeric_fields(small.name)
    assert "late" in found and "never" not in found
    assert found == _holding_values(small)


def test_numeric_fields_follow_a_new_value_and_a_new_field(small):
    small.add_sample_field("score_b", fo.FloatField)
    assert "score_b" not in browse.numeric_fields(small.name)
    small.set_values("score_b", {small.first().id: 1.5}, key_field="id")  # stamps last_modified_at
    assert "score_b" in browse.numeric_fields(small.name)
    small.add_sample_field("score_c", fo.IntField)  # a new field: another schema, looked at afresh
    small.set_values("score_c", [7] * len(small))
    assert browse.numeric_fields(small.name) == _holding_values(small)


def test_tags_of_a_dataset_from_the_index_and_of_a_view(small):
    ids = small.values("id")
    edits.tag(small, ids[:3], "고양이", annotator="tester")
    edits.tag(small, ids[100:102], "a very long tag with spaces", annotator="tester")
    assert browse.sample_tags(small.name) == sorted(small.distinct("tags")) == ["a very long tag with spaces", "고양이"]
    assert "tags" in small.list_indexes()
    assert browse.sample_tags(small.limit(50)) == ["고양이"]


def test_classes_and_splits_from_an_index_match_fiftyone(small):
    small.set_values("predictions", [fo.Classification(label=str(i % 4)) for i in range(len(small))])
    assert store.classes(small, "predictions") == ["0", "1", "2", "3"]
    assert "predictions.label" in small.list_indexes()
    assert store.splits(small) == sorted(s for s in small.distinct("split") if s)
    assert "split" in small.list_indexes()
    train = small.match(fo.ViewField("split") == store.splits(small)[0])
    assert store.distinct_values(train, "split") == [store.splits(small)[0]]
