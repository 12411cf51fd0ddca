"""The Samples page, headless through Streamlit's AppTest, on the real test database."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax
from streamlit.testing.v1 import AppTest

from sda2 import store
from sda2.ingest.digits import digits_records
from sda2.ingest.writer import write_dataset

import fiftyone as fo  # noqa: E402  (after sda2, which points FiftyOne at the test database)
from fiftyone import ViewField as F  # noqa: E402

APP = str(Path(__file__).resolve().parents[2] / "app.py")
PICK = "samples_pick_"


def _page(dataset: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    if dataset:  # picked before the first run (AppTest drops the sidebar from its tree on later runs)
        at.session_state["dataset"] = dataset
    at.run()
    at.switch_page("app_pages/samples.py").run()
    assert not at.exception, at.exception
    return at


def _tile_ids(at: AppTest) -> list[str]:
    return [b.key[len(PICK):] for b in at.button if b.key and b.key.startswith(PICK)]


def _fields(at: AppTest) -> dict:
    """The detail view's field table as {field: value}."""
    table = next(d.value for d in at.dataframe if "field" in d.value.columns)
    return dict(zip(table["field"], table["value"]))


def _shown(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    """60 digits with predictions from logits, the first 15 deliberately wrong."""
    name = "t_page_samples_pred"
    if name in store.list_datasets():
        store.delete_dataset(name)
    write_dataset(name, digits_records(tmp_path_factory.mktemp("digits"))[:60], "classification", classes=[str(c) for c in range(10)])
    ds = store.open_dataset(name)
    truth = np.array([int(v) for v in ds.values("ground_truth.label")])
    predicted = np.where(np.arange(60) < 15, (truth + 3) % 10, truth)
    logits = np.random.default_rng(3).normal(0, 1, (60, 10))
    logits[np.arange(60), predicted] += 4
    probs = softmax(logits, axis=1)
    ds.set_values("predictions", [fo.Classification(label=str(p), confidence=float(q[p]), logits=lg.tolist())
                                  for p, q, lg in zip(predicted, probs, logits)])
    yield ds
    store.delete_dataset(name)


def test_grid_shows_first_page_of_digits(digits):
    at = _page()
    ids = digits.values("id")
    assert _tile_ids(at) == ids[:48]
    assert len(at.get("image")) >= 48
    assert at.pagination[0].num_pages == -(-len(ids) // 48)
    assert "1–48 of 1,797" in _shown(at)


def test_label_filter_and_paging(digits):
    at = _page()
    threes = digits.match(F("ground_truth.label") == "3").values("id")
    at.multiselect(key="samples_labels").set_value(["3"]).run()
    assert _tile_ids(at) == threes[:48] and f"of {len(threes):,}" in _shown(at)
    at.pagination[0].set_value(2).run()
    assert _tile_ids(at) == threes[48:96] and f"49–96 of {len(threes):,}" in _shown(at)
    at.multiselect(key="samples_labels").set_value(["3", "8"]).run()  # new filters: back to page 1
    both = digits.match(F("ground_truth.label").is_in(["3", "8"])).values("id")
    assert at.pagination[0].value == 1 and _tile_ids(at) == both[:48]


def test_sort_by_numeric_field_descending(digits):
    at = _page()
    at.selectbox(key="samples_sort_by").set_value("source_index").run()
    at.toggle(key="samples_descending").set_value(True).run()
    order = np.argsort(digits.values("source_index"))[::-1][:48]
    assert _tile_ids(at) == [digits.values("id")[i] for i in order]


def test_detail_view_shows_all_fields(digits):
    at = _page()
    first = _tile_ids(at)[0]
    at.button(key=PICK + first).click().run()
    fields = _fields(at)
    sample = digits[first]
    assert fields["id"] == first and fields["ground_truth.label"] == sample.ground_truth.label
    assert fields["split"] == sample.split and fields["filepath"] == sample.filepath
    at.button(key="samples_next").click().run()  # step to the next sample on the page
    assert _fields(at)["id"] == _tile_ids(at)[1]


def test_predictions_detail_and_wrong_filter(predicted):
    at = _page(predicted.name)
    assert at.session_state["context"].prediction_field == "predictions"
    at.segmented_control(key="samples_correct").set_value("wrong").run()
    wrong = predicted.match(F("predictions.label") != F("ground_truth.label")).values("id")
    assert _tile_ids(at) == wrong and len(wrong) == 15
    at.button(key=PICK + wrong[0]).click().run()
    sample = predicted[wrong[0]]
    assert any("Incorrect" in m.value for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Given label"] == sample.ground_truth.label and metrics["Predicted"] == sample.predictions.label
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    bars = spec["data"][0]
    expected = softmax(np.array(sample.predictions.logits))
    assert bars["y"][-1] == sample.predictions.label  # highest bar is drawn last (top)
    assert np.allclose(sorted(bars["x"], reverse=True), np.sort(expected)[::-1][:5])
