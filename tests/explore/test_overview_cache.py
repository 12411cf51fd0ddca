"""The overview kept per dataset version: asked again it is a lookup; any sda2 write or deletion recounts it."""

from __future__ import annotations

import pytest

from sda2.curation import edits
from sda2.explore import overview
from tests.conftest import private_copy

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)


@pytest.fixture
def small(digits, dataset_name):
    """A private 200-sample copy of digits that a test may edit."""
    return private_copy(digits, dataset_name, 200)


def _counts(result) -> dict:
    return result.overall.set_index("label")["count"].to_dict()


def test_a_second_open_is_the_kept_result_until_an_edit_through_sda2(small):
    first = overview.dataset_overview(small.name)
    zero = small.match(fo.ViewField("ground_truth.label") == "0").first().id
    # a raw write that does not stamp last_modified_at (sda2 never writes this way) is not seen: the kept result
    small._sample_collection.update_one({"_id": small[zero]._id}, {"$set": {"ground_truth.label": "1"}})
    assert _counts(overview.dataset_overview(small.name)) == _counts(first)
    small._sample_collection.update_one({"_id": small[zero]._id}, {"$set": {"ground_truth.label": "0"}})
    edits.set_labels(small, {zero: "1"}, annotator="tester", reason="cache test")  # stamps the sample
    after = _counts(overview.dataset_overview(small.name))
    assert after["0"] == _counts(first)["0"] - 1 and after["1"] == _counts(first)["1"] + 1


def test_deleting_samples_recounts(small):
    assert overview.dataset_overview(small).num_samples == 200
    small.delete_samples(small.take(7, seed=1))
    assert overview.dataset_overview(small.name).num_samples == 193


def test_each_field_split_and_prediction_choice_is_kept_apart(small):
    small.set_values("predictions", [fo.Classification(label="3") for _ in range(len(small))])
    plain = overview.dataset_overview(small.name)
    with_pred = overview.dataset_overview(small.name, prediction_field="predictions")
    split = next(iter(plain.split_counts))
    one_split = overview.dataset_overview(small.name, split=split)
    assert plain.prediction_overall is None
    predicted = with_pred.prediction_overall.set_index("label")["count"]
    assert predicted["3"] == 200 and predicted.sum() == 200
    assert one_split.num_samples == plain.split_counts[split]


def test_changing_a_returned_table_leaves_the_kept_one(small):
    result = overview.dataset_overview(small.name)
    counts = _counts(result)
    result.overall["count"] = 0
    result.split_counts.clear()
    again = overview.dataset_overview(small.name)
    assert _counts(again) == counts and sum(again.split_counts.values()) == 200


def test_a_view_is_counted_not_kept(small):
    view = small.limit(50)
    assert overview.dataset_overview(view).num_samples == 50
    assert overview.dataset_overview(small.limit(20)).num_samples == 20
