"""The Quality page's "Consensus and plan" section, headless through AppTest, on answers in the real database."""

import json

import pytest

from sda2.curation import annotations
from tests.apptest import open_page

PAGE = "app_pages/quality.py"


@pytest.fixture
def answered(digits, dataset_name):
    """A digits copy with 30 samples answered by x (always right), y (right but on 6) and z (wrong on 12)."""
    ds = digits.limit(30).clone(dataset_name, persistent=True)
    ids, truth = ds.values("id"), ds.values("ground_truth.label")
    for name, wrong in (("x", 0), ("y", 6), ("z", 12)):
        for i, (sid, label) in enumerate(zip(ids, truth)):
            given = str((int(label) + 1 + (name == "z")) % 10) if i < wrong else label
            annotations.record_annotation(ds, sid, name, given, 2.0, queue="batch-1")
    return ds


def _accuracy_bars(at) -> dict:
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        if "Estimated accuracy per labeler" in json.dumps(spec["layout"].get("title", "")):
            return dict(zip(spec["data"][0]["x"], spec["data"][0]["y"]))
    raise AssertionError("no estimated-accuracy figure on the page")


def test_method_picker_accuracy_figure_and_cheapest_plan(answered):
    at = open_page(PAGE, answered.name, annotator="reviewer")
    assert not at.exception, at.exception
    bars = _accuracy_bars(at)
    assert set(bars) == {"x", "y", "z"} and bars["x"] > bars["y"] > bars["z"]
    assert bars["z"] == pytest.approx(18 / 30, abs=0.05)
    picker = next(s for s in at.selectbox if s.label == "Consensus method")
    picker.set_value("majority").run()
    assert not at.exception, at.exception
    assert any("majority" in c.value for c in at.caption)
    next(n for n in at.number_input if n.label == "Target accuracy (%)").set_value(98.0).run()
    next(b for b in at.button if b.label == "Find the cheapest plan").click().run()
    assert not at.exception, at.exception
    assert any("Cheapest plan for 98.0%" in s.value for s in at.success)
    plans = at.dataframe[-1].value
    assert {"answers per item", "reviewed (%)", "expected accuracy (%)", "meets target"} <= set(plans.columns)
    assert plans["meets target"].any()
