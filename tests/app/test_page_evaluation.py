"""The Evaluation page, headless through AppTest, on copies of digits (the shared fixture stays untouched)."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sda2 import arrays, store
from sda2.explore import evaluation
from sda2.compute.predictions import compute_predictions, prediction_record
from tests.compute.test_predictions import make_multilabel, save_pixel_embeddings

APP = str(Path(__file__).resolve().parents[2] / "app.py")


@pytest.fixture
def copy(digits, dataset_name):
    """A copy of digits with pixel embeddings (no predictions yet)."""
    ds = digits.clone(dataset_name, persistent=True)
    save_pixel_embeddings(ds)
    return ds


def open_page(name: str, annotator: str = "") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset"] = name  # the sidebar's dataset picker
    at.session_state["annotator"] = annotator  # the sidebar's name: saving thresholds needs one
    at.run()
    assert at.selectbox(key="dataset").value == name
    at.switch_page("app_pages/evaluation.py").run()
    assert not at.exception, at.exception
    return at


def test_page_shows_metrics_confusions_failures_and_thresholds(copy):
    compute_predictions(copy)
    ev = evaluation.evaluate(copy.name)
    at = open_page(copy.name, annotator="alice")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Accuracy"] == f"{ev.accuracy:.1%}"
    assert metrics["Samples evaluated"] == f"{len(copy):,}"
    # digits' pixel model is underconfident: the fit sharpens past the cap, and the page says so
    calibration = prediction_record(copy.name, "predictions")["calibration"]
    assert max(calibration["fitted_temperatures"]) < calibration["min_temperature"] == calibration["temperature"]
    assert metrics["Temperature"] == f"{calibration['min_temperature']:.2f}"
    assert any(f"sharpening stops at {calibration['min_temperature']:.2f}" in c.value for c in at.caption)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    heatmap = next(s for s in specs if s["data"][0]["type"] == "heatmap")
    assert heatmap["data"][0]["text"] == ev.confusion.to_numpy().tolist()
    top = ev.top_confusions(1).iloc[0]
    assert top["text"] in " ".join(m.value for m in at.markdown)
    # the image grid of the cell picked by default: the top confusion
    assert at.selectbox(key="cm_true").value == top["true"]
    assert f"{top['samples']:,} samples of {top['true']} predicted as {top['predicted']}" in \
        " ".join(m.value for m in at.markdown)
    cell = ev.samples(top["true"], top["predicted"]).head(24)
    tiles = [b for b in at.button if b.key and b.key.startswith("cm_pick_")]
    assert [b.key.removeprefix("cm_pick_") for b in tiles] == list(cell["id"])  # most confident first
    assert tiles[0].label.replace("\\", "") == f"#1 · confidence {cell['confidence'].iloc[0]:.3g}"
    assert len([i for i in at.get("image") if i.proto.imgs]) >= len(tiles)  # one labeled thumbnail per tile
    tiles[0].click().run()  # a tile opens that sample: large, with its given and predicted label
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Given label"] == top["true"] and metrics["Predicted"] == top["predicted"]
    assert at.get("image")  # the detail image
    # failure analysis by class
    at.selectbox(key="failure_field").set_value("ground_truth").run()
    bars = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                if "Error rate by ground_truth" in json.loads(c.proto.spec)["layout"].get("title", {}).get("text", ""))
    assert sorted(bars["data"][0]["x"]) == sorted(ev.classes)
    # thresholds: pick a class and a target, save
    at.selectbox(key="threshold_class").set_value("8").run()
    at.slider(key="target_precision").set_value(0.99).run()
    choice = ev.lowest_threshold("8", 0.99)
    assert {m.label: m.value for m in at.metric}["Threshold found"] == f"{choice.threshold:.3f}"
    at.button(key="save_threshold").click().run()
    assert not at.exception
    assert evaluation.load_thresholds(copy.name) == {"8": pytest.approx(choice.threshold)}


def test_empty_state_computes_embeddings_and_predictions(digits, dataset_name):
    bare = digits.clone(dataset_name, persistent=True)  # no embeddings, no predictions
    at = open_page(bare.name)
    assert "has no predictions yet" in at.info[0].value
    at.button(key="compute_predictions").click().run()
    assert not at.exception, at.exception
    assert evaluation.has_predictions(bare.name)
    assert "embeddings_pixels" in arrays.list_keys(bare.name)
    at.switch_page("app_pages/evaluation.py").run()
    assert "Accuracy" in {m.label for m in at.metric}


def test_multilabel_branch(digits, dataset_name):
    make_multilabel(digits, dataset_name, n=300)
    compute_predictions(dataset_name, folds=3)
    ev = evaluation.evaluate(dataset_name)
    at = open_page(dataset_name)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Subset accuracy"] == f"{ev.accuracy:.1%}"
    assert metrics["Hamming loss"] == f"{ev.summary['hamming_loss']:.3f}"
    assert "Per tag" in [h.value for h in at.subheader]
    assert "Thresholds are set per class on single-label predictions." in [i.value for i in at.info]


def test_model_choice_runs_the_chosen_pipeline_and_says_which(digits, dataset_name):
    from tests.conftest import private_copy

    small = private_copy(digits, dataset_name, 200)
    at = open_page(small.name)
    assert at.radio(key="predictions_model").options[0].startswith("Recommended for this machine")
    at.radio(key="predictions_model").set_value("frozen").run()
    at.button(key="compute_predictions").click().run()
    assert not at.exception, at.exception
    assert "model 'frozen', chosen explicitly" in at.success[0].value
    made = [c.value for c in at.caption if c.value.startswith("Predictions by the frozen model")]
    assert len(made) == 1 and "chosen by out-of-fold log-loss) on 64 dimensions of embeddings" in made[0]
