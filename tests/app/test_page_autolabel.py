"""The Auto-labeling page headless through AppTest: preview figure, apply, spot check with Accept, report, undo."""

from __future__ import annotations

import json

import pytest

import fiftyone as fo
from sda2.curation import audit, autolabel, queue as lq
from tests.apptest import open_page
from tests.app.test_page_labeling import _button, _text, app_path  # noqa: F401  (app_path is a fixture)

PAGE = "app_pages/autolabel.py"


@pytest.fixture
def ds(digits, dataset_name):
    """40 digits, predictions right except on every 5th sample, the last 10 unlabeled, thresholds saved."""
    ds = digits.limit(40).clone(dataset_name, persistent=True)
    truth = ds.values("ground_truth.label")
    predicted = [str((int(t) + 1) % 10) if i % 5 == 0 else t for i, t in enumerate(truth)]
    ds.set_values("predictions", [fo.Classification(label=p, confidence=0.9 if i % 4 else 0.5)
                                  for i, p in enumerate(predicted)])
    ds.select(ds.values("id")[-10:]).set_values("ground_truth", [None] * 10)
    ds.info["sda2_thresholds"] = {str(c): 0.8 for c in range(10)}
    ds.save()
    return ds


def test_without_thresholds_the_page_points_to_evaluation(app_path, digits, dataset_name):
    ds = digits.limit(5).clone(dataset_name, persistent=True)
    ds.set_values("predictions", [fo.Classification(label="1", confidence=0.9)] * 5)
    at = open_page(PAGE, ds.name, "lead", app=app_path)
    assert "No per-class confidence thresholds" in _text(at)


def test_preview_apply_spot_check_and_undo(app_path, ds):
    at = open_page(PAGE, ds.name, "lead", app=app_path)
    expected = autolabel.preview(ds)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Would be auto-labeled"] == f"{expected['would_label'].sum():,}"
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["data"][0]["y"] == expected["would_label"].tolist()

    at.text_input(key="autolabel_queue").input("people")
    _button(at, "Apply auto-labels").click().run()
    assert not at.exception, at.exception
    labeled = ds.match_tags(autolabel.TAG)
    assert len(labeled) == expected["would_label"].sum() > 0
    assert set(audit.audit_log(ds)["annotator"]) == {"auto-label"}
    assert lq.get_queue(ds, "people")["n_items"] == 10 - len(labeled)

    at.text_input(key="spot_name").input("check")
    at.number_input(key="spot_per_class").set_value(1)
    _button(at, "Create spot check").click().run()
    assert not at.exception, at.exception
    items = lq.items_frame(ds, "check")
    assert len(items) == labeled.distinct("ground_truth.label").__len__()
    for _ in range(len(items)):  # the reviewer accepts every proposal with the A key's button
        assert "Proposed label" in _text(at)
        at.button(key="spot_accept").click().run()
        assert not at.exception, at.exception
    report = autolabel.spot_check_report(ds, "check").set_index("class")
    assert report.loc["all", "checked"] == len(items) and report.loc["all", "observed_precision"] == 1.0
    figure = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
                  if "Spot check" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert figure["data"][0]["y"] == [1.0] * len(items)

    at.button(key="autolabel_undo").click().run()
    assert not at.exception, at.exception
    assert len(ds.match_tags(autolabel.TAG)) == 0
    assert ds.select(labeled.values("id")).values("ground_truth") == [None] * len(labeled)
