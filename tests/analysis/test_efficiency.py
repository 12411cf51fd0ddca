"""Labeler efficiency on annotation records with known speeds, rework and accuracy."""

import numpy as np
import pandas as pd
import pytest

from sda2.analysis import efficiency as ef

START = pd.Timestamp("2024-03-01 09:00", tz="UTC")


def team(n=300, seed=0, span=pd.Timedelta(0)):
    """Records of three labelers labeling the same n samples: (accuracy, median seconds, rework share) known."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 10, n)
    rows = []
    for name, accuracy, median, rework in (("ann", 0.95, 2.0, 0.02), ("ben", 0.85, 4.0, 0.1), ("cat", 0.7, 6.0, 0.3)):
        seconds = median * np.exp(rng.normal(0, 0.3, n))
        right = rng.random(n) < accuracy
        labels = np.where(right, truth, (truth + rng.integers(1, 10, n)) % 10).astype(str)
        at = START + pd.to_timedelta(np.cumsum(seconds), unit="s") + span * np.arange(n) / n
        rows.append(pd.DataFrame({"sample_id": [f"s{i}" for i in range(n)], "annotator": name, "label": labels,
                                  "seconds": seconds, "created_at": at, "queue": "q",
                                  "changed_by_review": rng.random(n) < rework}))
    return pd.concat(rows, ignore_index=True)


def test_labeler_figures_recover_speed_rework_and_accuracy_order():
    per = ef.labeler_efficiency(team()).set_index("annotator")
    assert per["labels"].tolist() == [300, 300, 300]
    np.testing.assert_allclose(per["median_seconds"], [2, 4, 6], rtol=0.08)
    # labels/hour = 3600 / mean seconds; the mean of a log-normal(0, 0.3) is median * exp(0.045)
    np.testing.assert_allclose(per["labels_per_hour"], 3600 / (np.array([2, 4, 6]) * np.exp(0.045)), rtol=0.06)
    np.testing.assert_allclose(per["rework_share"], [0.02, 0.1, 0.3], atol=0.05)
    assert per["agreement"].is_monotonic_decreasing
    assert per.loc["ann", "agreement"] > 0.85 and per.loc["cat", "agreement"] < 0.8
    assert (per["compared"] > 150).all()  # samples where the other two disagree have no consensus
    assert per.loc["ann", "hours"] == pytest.approx(per.loc["ann", "labels"] / per.loc["ann", "labels_per_hour"])


def test_idle_time_is_capped_in_labels_per_hour_but_not_in_the_median():
    records = team(n=50)
    fast = ef.labeler_efficiency(records).set_index("annotator").loc["ann"]
    idle = records.copy()
    idle.loc[idle.index[0], "seconds"] = 3 * 3600.0  # left the tab open for three hours
    slow = ef.labeler_efficiency(idle, idle_cap_s=300).set_index("annotator").loc["ann"]
    assert slow["hours"] == pytest.approx(fast["hours"] + (300 - records.loc[0, "seconds"]) / 3600)
    uncapped = ef.labeler_efficiency(idle, idle_cap_s=np.inf).set_index("annotator").loc["ann"]
    assert uncapped["labels_per_hour"] < 0.1 * slow["labels_per_hour"]
    assert slow["median_seconds"] == pytest.approx(fast["median_seconds"], rel=0.1)


def test_relabels_count_as_work_but_only_the_latest_answer_is_judged():
    records = pd.DataFrame({
        "sample_id": ["a", "a", "a"], "annotator": ["x", "x", "y"], "label": ["1", "2", "2"],
        "seconds": [3.0, 5.0, 4.0], "created_at": START + pd.to_timedelta([0, 10, 5], unit="s"),
        "queue": "q", "changed_by_review": False})
    judged = ef.with_agreement(records).sort_values("created_at")
    assert judged["agrees"].isna().tolist() == [True, False, False]  # x's first answer was replaced
    per = ef.labeler_efficiency(records).set_index("annotator")
    assert per.loc["x", "labels"] == 2 and per.loc["x", "agreement"] == 1.0


def test_over_time_buckets_by_label_count_or_calendar():
    records = team(n=100)
    assert ef.auto_bucket(records["created_at"]) == ef.LABELS_PER_BUCKET  # ten minutes of work
    by_count = ef.efficiency_over_time(records)
    assert by_count.groupby("annotator")["labels"].sum().tolist() == [100, 100, 100]
    assert by_count[by_count["annotator"] == "ann"]["period"].tolist() == [1, 26, 51, 76]
    week = team(n=100, span=pd.Timedelta(days=6))
    assert ef.auto_bucket(week["created_at"]) == "D"
    daily = ef.efficiency_over_time(week)
    assert daily["period"].nunique() == 7  # 09:00 on day 1 to early on day 7
    assert daily.groupby("annotator")["labels"].sum().tolist() == [100, 100, 100]
    slow_days = daily[daily["annotator"] == "cat"]["median_seconds"]
    assert slow_days.between(4, 9).all()
    with pytest.raises(ValueError, match="positive"):
        ef.efficiency_over_time(records, every=0)


def test_class_times_single_and_multilabel():
    records = pd.DataFrame({"sample_id": list("abcd"), "annotator": "x", "label": ["cat", "dog|cat", "dog", "cat"],
                            "seconds": [2.0, 10.0, 4.0, 3.0], "created_at": START, "queue": "q",
                            "changed_by_review": False})
    single = ef.class_times(records).set_index("label")
    assert single.loc["cat", "median_seconds"] == 2.5 and single.loc["dog|cat", "labels"] == 1
    tags = ef.class_times(records, multilabel=True).set_index("label")
    assert tags.loc["cat", "labels"] == 3 and tags.loc["cat", "median_seconds"] == 3.0
    assert tags.loc["dog", "median_seconds"] == 7.0
    assert tags.index[0] == "dog"  # slowest first


def test_empty_and_malformed_records():
    empty = team(n=1).iloc[:0]
    assert ef.labeler_efficiency(empty).empty and ef.efficiency_over_time(empty).empty
    assert ef.class_times(empty).empty
    with pytest.raises(ValueError, match="seconds"):
        ef.labeler_efficiency(team(n=5).drop(columns="seconds"))
