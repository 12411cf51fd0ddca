"""The Overview page, headless through Streamlit's AppTest: digits, predictions, multi-label and detection sets."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.explore.test_overview import make_detection, make_multilabel

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def _overview(**sidebar) -> AppTest:
    """The Overview page with the sidebar pickers preset (keys: dataset, label_field, prediction_field, split)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in sidebar.items():
        at.session_state[key] = value
    at.run().switch_page("app_pages/overview.py").run()
    assert not at.exception, at.exception
    return at


def _array(value) -> list:
    """A plotly JSON array, decoded when plotly sent it as typed binary data."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return list(value)


def _figure(at, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def test_page_shows_metrics_and_ten_classes(digits):
    at = _overview(dataset="digits")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == f"{len(digits):,}"
    assert metrics["Classes"] == "10"
    assert metrics["Splits"] == "2"
    assert metrics["Unlabeled samples"] == "0"
    assert metrics["Imbalance"] == "1.1 : 1"
    figure = _figure(at)
    bars = {trace["name"]: trace for trace in figure["data"]}
    assert set(bars) == {"train", "test"}
    assert sorted(bars["train"]["x"], key=int) == [str(d) for d in range(10)]
    train = dict(zip(bars["train"]["x"], _array(bars["train"]["y"])))
    assert sum(train.values()) == sum(1 for s in digits.values("split") if s == "train")
    assert not at.warning  # digits are balanced: no imbalance warning


def test_sort_by_name_orders_classes(digits):
    at = _overview(dataset="digits")
    at.get("button_group")[0].set_value("by name").run()
    figure = _figure(at)
    assert figure["data"][0]["x"] == [str(d) for d in range(10)]


@pytest.fixture
def digits_with_predictions(digits, dataset_name):
    """A copy of digits with predictions that call every '8' a '3'."""
    copy = digits.clone(dataset_name, persistent=True)
    copy.set_values("predictions", [fo.Classification(label="3" if label == "8" else label)
                                    for label in copy.values("ground_truth.label")])
    return copy


def test_prediction_distribution_beside_ground_truth(digits_with_predictions):
    name = digits_with_predictions.name
    at = _overview(dataset=name, prediction_field="predictions")
    figure = _figure(at, 1)
    bars = {trace["name"]: dict(zip(trace["x"], _array(trace["y"]))) for trace in figure["data"]}
    assert set(bars) == {"ground truth", "predictions"}
    assert bars["predictions"]["8"] == 0 and bars["ground truth"]["8"] > 0
    assert bars["predictions"]["3"] == pytest.approx(bars["ground truth"]["3"] + bars["ground truth"]["8"])
    assert any("under-predicts '8'" in c.value for c in at.caption)


def test_multilabel_page_shows_tags_and_cooccurrence(tmp_path, dataset_name):
    make_multilabel(dataset_name, tmp_path / "img")
    at = _overview(dataset=dataset_name)
    assert {m.label: m.value for m in at.metric}["Samples without tags"] == "1"
    kinds = [_figure(at, i)["data"][0]["type"] for i in range(len(at.get("plotly_chart")))]
    assert kinds == ["bar", "heatmap", "bar"]  # tag frequency, co-occurrence, tags per sample


def test_detection_page_shows_boxes(tmp_path, dataset_name):
    make_detection(dataset_name, tmp_path / "img")
    at = _overview(dataset=dataset_name)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Boxes"] == "6" and metrics["Images without boxes"] == "1"
    assert len(at.get("plotly_chart")) == 4  # boxes per class, per image, size, aspect


def test_label_fix_elsewhere_shows_at_once(digits_with_predictions):
    dataset = digits_with_predictions
    at = _overview(dataset=dataset.name)

    def total(label):
        bars = _figure(at)["data"]
        return sum(dict(zip(t["x"], _array(t["y"])))[label] for t in bars)

    zeros = total("0")
    sample_id = dataset.match(fo.ViewField("ground_truth.label") == "0").first().id
    dataset.set_values("ground_truth.label", {sample_id: "1"}, key_field="id")  # e.g. a fix on another page
    at.run()
    assert total("0") == zeros - 1
