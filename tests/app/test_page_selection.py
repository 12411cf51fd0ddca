"""The Selection page, headless through AppTest, on real digits copies (with and without embeddings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fiftyone import ViewField as F
from streamlit.testing.v1 import AppTest

from sda2 import store
from sda2.curation import queue
from sda2.compute import projection
from sda2.compute.predictions import compute_predictions
from sda2.ui.context import Context
from tests.explore.test_selection_dataset import pixel_features

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "selection.py")


def page(dataset, prediction_field: str | None = "predictions") -> AppTest:
    """The page as the app shell runs it: with the sidebar's context in the session state."""
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state["context"] = Context(dataset.name, "ground_truth", "classification", prediction_field, None,
                                          "tester")
    return at.run()


def figures(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture
def ds(digits, dataset_name):
    return digits.clone(dataset_name, persistent=True)


def test_without_embeddings_random_works_and_other_strategies_say_what_to_compute(ds):
    at = page(ds, prediction_field=None)
    assert not at.exception
    assert "press **Select**" in at.info[0].value
    at.number_input(key="sel_budget").set_value(30)
    at.button(key="sel_run").click().run()
    assert not at.exception
    assert at.subheader[0].value.startswith("30 samples selected by random from 1,797 in the whole dataset")
    (bars,) = figures(at)  # no embeddings: no map, only the class bars
    assert [t["name"] for t in bars["data"]] == ["pool (1,797)", "selected (30)"]
    assert any("No embeddings: coverage cannot be measured" in c.value for c in at.caption)

    at.selectbox(key="sel_strategy").set_value("margin").run()
    messages = " ".join(i.value for i in at.info).replace("\\", "")  # as shown: the Markdown escapes go
    assert "needs predicted probabilities" in messages and f"sda2.compute_predictions({ds.name!r})" in messages
    assert not [b for b in at.button if b.key == "sel_run"]
    at.selectbox(key="sel_strategy").set_value("diversity").run()
    assert "needs embeddings" in at.info[0].value and "Embedding map page" in at.info[0].value


def test_hybrid_on_a_split_compared_saved_and_queued(ds):
    pixel_features(ds)
    compute_predictions(ds)
    projection.compute_map(ds, method="pca")
    at = page(ds)
    at.selectbox(key="sel_strategy").set_value("hybrid")
    at.number_input(key="sel_budget").set_value(40)
    at.selectbox(key="sel_pool_kind").set_value("split").run()
    at.selectbox(key="sel_pool_name").set_value("test")
    at.button(key="sel_run").click().run()
    assert not at.exception
    assert at.subheader[0].value == "40 samples selected by hybrid from 360 in split 'test'"
    bars, points = figures(at)
    assert [t["name"] for t in bars["data"]] == ["pool (360)", "selected (40)"]
    pool_trace, selected_trace = points["data"]
    assert selected_trace["name"] == "selected (40)" and pool_trace["name"] == "rest of the pool (320)"
    test_ids = set(ds.match(F("split") == "test").values("id"))
    assert set(selected_trace["customdata"]) <= test_ids and len(set(selected_trace["customdata"])) == 40
    assert any("of the 360 pool samples lie within" in c.value for c in at.caption)

    at.text_input(key="sel_save_name").input("batch-1")
    at.button(key="sel_save").click().run()
    assert not at.exception and "Kept 40 samples as tag 'batch-1'" in at.success[0].value
    fresh = store.open_dataset(ds.name)
    assert set(fresh.match_tags("batch-1").values("id")) == set(selected_trace["customdata"])
    assert at.get("download_button")

    at.text_input(key="sel_queue_name").input("batch-1")
    at.button(key="sel_queue").click().run()
    assert not at.exception and "Queue 'batch-1' holds 40 samples" in at.success[0].value
    items = queue.items_frame(fresh, "batch-1")
    assert items["sample_id"].tolist() == at.session_state["sel_result"]["ids"]  # in the order picked
