"""The embedding map page, headless through AppTest, and its figure builder at 100k points."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from bson import ObjectId
from fiftyone import ViewField as F
from streamlit.testing.v1 import AppTest

from sda2 import arrays
from sda2.compute import projection
from sda2.ui import map_figures
from sda2.ui.context import Context
from tests.compute.test_projection import (
    clone,
    resave,
    store_pixel_embeddings,
    store_predictions,
)

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "embedding_map.py")


def page(dataset, prediction_field: str | None = "predictions", split: str | None = None) -> AppTest:
    """The page as the app shell runs it: with the sidebar's context in the session state."""
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.session_state["context"] = Context(dataset.name, "ground_truth", "classification", prediction_field, split,
                                          "tester")
    return at.run()


def figure(at: AppTest) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_page_computes_embeddings_and_map_then_colours_it(digits, dataset_name):
    ds = clone(digits, dataset_name)
    at = page(ds, prediction_field=None)
    assert not at.exception
    assert at.button(key="map_compute").label == "Compute pixel embeddings and the map"
    assert not at.get("plotly_chart")
    at.button(key="map_compute").click().run()
    assert not at.exception
    assert at.selectbox(key="map_embeddings").value == "embeddings_pixels"
    spec = figure(at)
    assert [t["type"] for t in spec["data"]] == ["scattergl"] * 10
    assert [t["name"].split()[0] for t in spec["data"]] == [str(d) for d in range(10)]
    assert sum(len(t["customdata"]) for t in spec["data"]) == len(ds)
    assert set(spec["data"][0]["customdata"]) <= set(ds.values("id"))
    options = at.selectbox(key="map_color_by").options
    assert options[0] == "ground truth" and "source_index" in options and "prediction" not in options

    _, X = arrays.load(ds.name, "embeddings_pixels")
    store_predictions(ds, np.asarray(X))  # predictions arrive later: the map gains their colourings
    at.session_state["context"] = Context(ds.name, "ground_truth", "classification", "predictions", None, "tester")
    at.run()
    assert at.selectbox(key="map_color_by").options[:4] == ["ground truth", "prediction", "correct / incorrect",
                                                            "confidence"]
    assert " → " in figure(at)["data"][0]["text"][0]
    at.selectbox(key="map_color_by").set_value("correct / incorrect").run()
    assert [t["name"].split()[0] for t in figure(at)["data"]] == ["correct", "incorrect"]
    at.selectbox(key="map_color_by").set_value("confidence").run()
    (trace,) = figure(at)["data"]
    assert trace["marker"]["showscale"] and trace["marker"]["colorbar"]["title"]["text"] == "confidence"
    assert "Select points on the map" in at.info[0].value  # nothing selected yet


def test_page_shows_the_split_only_and_flags_a_stale_map(digits, dataset_name):
    ds = clone(digits, dataset_name)
    store_pixel_embeddings(ds)
    at = page(ds, prediction_field=None)
    assert "no map of 'embeddings\\_pixels' yet" in at.info[0].value and not at.get("plotly_chart")

    projection.compute_map(ds, method="pca")  # any stored map of the current embeddings is shown
    at = page(ds, prediction_field=None, split="test")
    assert not at.exception
    test_ids = set(ds.match(F("split") == "test").values("id"))
    assert {i for t in figure(at)["data"] for i in t["customdata"]} == test_ids

    ids, X = arrays.load(ds.name, "embeddings_pixels")
    resave(ds, ids, 1 - np.asarray(X))  # the embeddings change
    at = page(ds, prediction_field=None, split="test")
    assert "out of date" in at.warning[0].value and at.button(key="map_compute").label == "Recompute the map"
    assert at.get("plotly_chart")  # the old map stays visible until recomputed


def test_figure_stays_compact_at_100k_points():
    n = 100_000
    rng = np.random.default_rng(0)
    label = rng.integers(0, 10, n).astype(str)
    prediction = np.where(rng.random(n) < 0.9, label, rng.integers(0, 10, n).astype(str))
    frame = pd.DataFrame({"id": [str(ObjectId()) for _ in range(n)], "filepath": "", "x": rng.normal(size=n),
                          "y": rng.normal(size=n), "label": label, "prediction": prediction,
                          "confidence": rng.random(n).astype(np.float32), "correct": label == prediction})
    frame.attrs.update(numeric=[], unmapped=0)
    for color_by in map_figures.color_options(frame):
        spec = map_figures.map_figure(frame, color_by).to_json()
        assert len(spec) / n < 75, f"{len(spec) / n:.0f} bytes a point when coloured by {color_by}"
    data = json.loads(spec)["data"]
    assert data[0]["x"]["dtype"] == "f4"  # coordinates travel as base64 float32, not as decimal text
    selected = {"selection": {"points": [{"customdata": data[0]["customdata"][i]} for i in (5, 9, 5)]}}
    assert map_figures.selected_ids(selected) == [data[0]["customdata"][5], data[0]["customdata"][9]]


def test_a_map_above_the_display_limit_draws_a_sample_but_selects_every_point_in_the_region():
    n = map_figures.MAX_SHOWN + 50_000
    rng = np.random.default_rng(1)
    label = rng.integers(0, 3, n).astype(str)
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "filepath": "", "x": rng.uniform(-1, 1, n),
                          "y": rng.uniform(-1, 1, n), "label": label, "prediction": None, "confidence": np.nan,
                          "correct": False})
    frame.attrs.update(numeric=[], unmapped=0)
    spec = json.loads(map_figures.map_figure(frame).to_json())
    drawn = sum(len(trace["customdata"]) for trace in spec["data"])
    assert drawn == map_figures.MAX_SHOWN  # the browser gets a sample…
    names = sorted(trace["name"] for trace in spec["data"])
    assert names == sorted(f"{c} ({(label == c).sum():,})" for c in "012")  # …but the legend counts every row
    note = spec["layout"]["annotations"][0]["text"]
    assert f"Showing {map_figures.MAX_SHOWN:,} of {n:,} points" in note
    assert max(len(line) for line in note.split("<br>")) <= 70  # fits the map's column (one line was cut off)

    box = {"selection": {"points": [], "box": [{"x": [0.5, 0.0], "y": [0.0, 0.5]}], "lasso": []}}
    expected = frame["id"][frame.x.between(0, 0.5) & frame.y.between(0, 0.5)].tolist()
    assert map_figures.selected_ids(box, frame) == expected  # drawn or not
    triangle = {"selection": {"points": [], "box": [], "lasso": [{"x": [-1, 0, -1], "y": [-1, -1, 0]}]}}
    inside = (frame.x >= -1) & (frame.y >= -1) & (frame.x + frame.y <= -1)
    assert set(map_figures.selected_ids(triangle, frame)) == set(frame["id"][inside])
    assert 0.1 * n < inside.sum() < 0.15 * n  # an eighth of the square
