"""The Quality page, headless through Streamlit's AppTest, on answers recorded in the real database."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sda2.curation import annotations
from sda2.explore import labeler_quality

from tests.app.test_page_overview import _array

ROOT = Path(__file__).resolve().parents[2]
PAGE = "app_pages/quality.py"


@pytest.fixture(scope="module")
def app_path() -> str:
    """The real app.py (every page is in its PAGES)."""
    return str(ROOT / "app.py")


def _open(app_path: str, name: str, viewer: str = "reviewer") -> AppTest:
    """The page as ``viewer`` sees it (adjudication needs a name; "reviewer" answered nothing here)."""
    at = AppTest.from_file(app_path, default_timeout=60)
    at.session_state["dataset"] = name
    at.session_state["annotator"] = viewer
    at.run().switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


@pytest.fixture
def two_queues(digits, dataset_name):
    """A digits copy with answers from three labelers (z wrong on 8 of 24 samples) in 'batch-1', one in 'batch-2'."""
    ds = digits.limit(40).clone(dataset_name, persistent=True)
    ids, truth = ds.values("id")[:24], ds.values("ground_truth.label")[:24]
    for name, seconds in (("x", 2.0), ("y", 3.0), ("z", 5.0)):
        for i, (sid, label) in enumerate(zip(ids, truth)):
            given = str((int(label) + 1) % 10) if name == "z" and i < 8 else label
            annotations.record_annotation(ds, sid, name, given, seconds, queue="batch-1")
    annotations.record_annotation(ds, ids[0], "w", truth[0], 1.0, queue="batch-2")
    return ds


def test_page_shows_agreement_figures_and_adjudication(app_path, two_queues):
    at = _open(app_path, two_queues.name)
    report = labeler_quality.agreement_report(two_queues)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Krippendorff's α"] == f"{report.alpha:.2f}"
    assert metrics["Fleiss' κ"] == f"{report.fleiss.kappa:.2f}"
    assert metrics["Labelers"] == "4" and metrics["Answers"] == "73"
    assert any("Landis & Koch" in m.value for m in [*at.warning, *at.success, *at.error])
    figures = _figures(at)
    heatmap = figures[0]["data"][0]
    assert heatmap["type"] == "heatmap" and heatmap["x"] == ["w", "x", "y", "z"]
    assert [t["type"] for t in figures[2]["data"]][:4] == ["bar", "scatter", "bar", "bar"]  # labeler panels
    assert len(figures) == 7  # heatmap, levels, labelers, over time, class agreement, class time, consensus accuracy
    labelers = at.dataframe[0].value
    assert labelers["labels / hour"].tolist() == [3600, 1800, 1200, 720]  # 1, 2, 3 and 5 s per label
    table = at.dataframe[-1].value
    assert len(table) == len(report.adjudication) == 8
    assert table["who said what"].str.contains("z").all()


def test_over_time_metric_switch_and_queue_picker(app_path, two_queues):
    at = _open(app_path, two_queues.name)
    at.get("button_group")[0].set_value("median_seconds").run()
    lines = {t["name"]: t for t in _figures(at)[3]["data"]}
    assert set(lines) == {"w", "x", "y", "z"}
    assert _array(lines["z"]["y"]) == [5.0]  # z took 5 s on each of 24 labels: one block
    assert "median seconds" in _figures(at)[3]["layout"]["yaxis"]["title"]["text"]
    at.selectbox(key="quality_queue").set_value("batch-2").run()
    assert not at.exception, at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Labelers"], metrics["Answers"], metrics["Fleiss' κ"]) == ("1", "1", "—")
    assert any("no sample was labeled by two labelers" in i.value for i in at.info)


def test_empty_state_points_to_the_labeling_page(app_path, digits, dataset_name):
    digits.limit(5).clone(dataset_name, persistent=True)
    at = _open(app_path, dataset_name)
    assert any("Labeling" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.metric
