"""The embedding map: a WebGL scatter (fast at 100k points) and the helpers around it on the page.

The figure stays compact (about 60 bytes a point): coordinates go as float32 (plotly sends them as base64
typed arrays), and each point carries only its sample id (``customdata``, so a selection maps back to
samples whatever changed since) and one short hover text, "label → prediction (confidence)".
Categories (ground truth, prediction, correct / incorrect) are one trace each, so the legend toggles
them; numbers (confidence or any numeric field) colour one trace on a continuous scale.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import qualitative

from sda2.compute import projection
from sda2.explore.map_frame import map_frame
from sda2.ui import thumbnails
from sda2.ui.safe_text import escape_figure, plot

GROUND_TRUTH = "ground truth"
PREDICTION = "prediction"
CORRECT = "correct / incorrect"
CONFIDENCE = "confidence"
MAX_CATEGORIES = 24  # the most frequent categories get their own colour; the rest are "other"
OUTCOME_COLORS = {"correct": "#16a34a", "incorrect": "#dc2626", "no prediction": "#9ca3af"}
MISSING_COLOR = "#d1d5db"
GRID_LIMIT = 60
MAX_SHOWN = 200_000  # points drawn at most: above, a fixed random sample (a browser cannot take millions)


def color_options(frame: pd.DataFrame) -> list[str]:
    """What the map can be coloured by, given the columns of a :func:`sda2.explore.map_frame.map_frame`."""
    has_prediction = frame["prediction"].notna().any()
    options = [GROUND_TRUTH]
    if has_prediction:
        options.append(PREDICTION)
    if frame["correct"].notna().any():
        options.append(CORRECT)
    if frame["confidence"].notna().any():
        options.append(CONFIDENCE)
    return options + list(frame.attrs.get("numeric", []))


def _marker_size(n: int) -> float:
    return 7 if n < 2_000 else 5 if n < 20_000 else 3


def _hover_text(part: pd.DataFrame, has_prediction: bool) -> np.ndarray:
    """Per point "label → prediction (confidence)", or just the label when there are no predictions."""
    label = part["label"].fillna("(none)").astype(str)
    if not has_prediction:
        return label.to_numpy(object)
    confidence = (" (" + part["confidence"].round(2).astype(str) + ")").where(part["confidence"].notna(), "")
    return (label + " → " + part["prediction"].fillna("(none)").astype(str) + confidence).to_numpy(object)


def _hover(has_prediction: bool, extra: str = "") -> str:
    header = "label → prediction (confidence)" if has_prediction else "label"
    return f"<b>%{{text}}</b>{extra}<br><span style='font-size:10px'>{header}</span><extra></extra>"


def _categories(frame: pd.DataFrame, color_by: str) -> tuple[pd.Series, dict[str, str]]:
    """The category of every point and a colour for each category, most frequent first."""
    if color_by == CORRECT:
        values = frame["correct"].map({True: "correct", False: "incorrect"}).fillna("no prediction")
        return values, {k: v for k, v in OUTCOME_COLORS.items() if (values == k).any()}
    column = "label" if color_by == GROUND_TRUTH else "prediction"
    values = frame[column].fillna("(none)").astype(str)
    counts = values.value_counts()
    keep = list(counts.index[:MAX_CATEGORIES if len(counts) <= MAX_CATEGORIES else MAX_CATEGORIES - 1])
    values = values.where(values.isin(keep), "other")
    palette = qualitative.Plotly if len(keep) <= 10 else qualitative.Dark24
    colors = {name: palette[i % len(palette)] for i, name in enumerate(sorted(keep, key=_natural))}
    if (values == "other").any():
        colors["other"] = MISSING_COLOR
    return values, colors


def _natural(name: str):
    """Sort key that puts "2" before "10"."""
    return (0, int(name), "") if name.isdigit() else (1, 0, name)


def shown_rows(frame: pd.DataFrame, limit: int = MAX_SHOWN) -> pd.DataFrame:
    """The rows the map draws: all of them up to ``limit``, else a fixed random sample of ``limit`` (same each run)."""
    if len(frame) <= limit:
        return frame
    keep = np.sort(np.random.default_rng(0).choice(len(frame), limit, replace=False))
    shown = frame.iloc[keep].reset_index(drop=True)
    shown.attrs = dict(frame.attrs)
    return shown


def map_figure(frame: pd.DataFrame, color_by: str = GROUND_TRUTH, height: int = 640) -> go.Figure:
    """The map as a plotly WebGL scatter coloured by ``color_by`` (one of :func:`color_options`).

    Above :data:`MAX_SHOWN` rows a fixed random sample is drawn (a browser cannot take millions of points);
    the legend still counts every row, and :func:`selected_ids` selects by region over every row.
    """
    full = frame
    frame = shown_rows(full)
    has_prediction = bool(frame["prediction"].notna().any())
    size = _marker_size(len(frame))
    fig = go.Figure()

    text = _hover_text(frame, has_prediction)

    def add(part: pd.DataFrame, name: str, marker: dict, extra: str = "", showlegend: bool = True) -> None:
        fig.add_trace(go.Scattergl(
            x=part["x"].to_numpy(np.float32), y=part["y"].to_numpy(np.float32), mode="markers", name=name,
            customdata=part["id"].to_numpy(object), text=text[part.index],
            hovertemplate=_hover(has_prediction, extra), showlegend=showlegend,
            marker={"size": size, "opacity": 0.8, **marker}))

    if color_by in (GROUND_TRUTH, PREDICTION, CORRECT):
        values, colors = _categories(frame, color_by)
        totals = _categories(full, color_by)[0].value_counts() if len(full) > len(frame) else values.value_counts()
        for name, color in colors.items():
            part = frame[values == name]
            add(part, f"{name} ({int(totals.get(name, 0)):,})", {"color": color})
    elif color_by == CONFIDENCE or color_by in frame.attrs.get("numeric", []):
        column = "confidence" if color_by == CONFIDENCE else color_by
        present = frame[column].notna()
        if (~present).any():
            add(frame[~present], f"no {color_by} ({int((~present).sum()):,})", {"color": MISSING_COLOR})
        add(frame[present], color_by, {"color": frame.loc[present, column].to_numpy(np.float32),
                                       "colorscale": "Viridis", "showscale": True,
                                       "colorbar": {"title": {"text": plot(color_by)}, "thickness": 14}},
            extra=f"<br>{plot(color_by)}: %{{marker.color:.3g}}", showlegend=False)
    else:
        raise ValueError(f"Cannot colour the map by {color_by!r}. Fix: use one of {', '.join(color_options(frame))}.")
    if len(full) > len(frame):
        fig.add_annotation(text=f"Showing {len(frame):,} of {len(full):,} points (a fixed random sample);<br>a box "
                                "or lasso selects every sample inside it, shown or not.",  # two lines: one was cut off
                           xref="paper", yref="paper", x=0, y=1.0, xanchor="left", yanchor="bottom", align="left",
                           showarrow=False, font={"size": 12})
    fig.update_layout(height=height, template="plotly_white", dragmode="select", uirevision="map",
                      # the legend sits below: the toolbar (and the two-line note of a sampled map) keep the top
                      margin={"l": 0, "r": 0, "t": 48 if len(full) > len(frame) else 30, "b": 70},
                      legend={"itemsizing": "constant", "orientation": "h", "x": 0, "y": -0.02, "yanchor": "top"},
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"})
    return escape_figure(fig)


def _inside_polygon(x: np.ndarray, y: np.ndarray, px, py) -> np.ndarray:
    """Which points (x, y) lie inside the polygon with vertices (px, py) (even-odd rule, vectorised)."""
    px, py = np.asarray(px, dtype=np.float64), np.asarray(py, dtype=np.float64)
    inside = np.zeros(len(x), dtype=bool)
    for x0, y0, x1, y1 in zip(px, py, np.roll(px, -1), np.roll(py, -1)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < at)
    return inside


def selected_ids(event, frame: pd.DataFrame | None = None) -> list[str]:
    """Sample ids selected on the map (box or lasso), without repeats.

    With the map's ``frame`` and a drawn region in the event, every row inside the region counts, also those
    the figure left out (:func:`shown_rows`); otherwise the selected points, in selection order.
    """
    selection = (event or {}).get("selection", {}) if event else {}
    boxes, lassos = selection.get("box") or [], selection.get("lasso") or []
    if frame is not None and len(frame) > MAX_SHOWN and (boxes or lassos):
        x, y = frame["x"].to_numpy(np.float64), frame["y"].to_numpy(np.float64)
        inside = np.zeros(len(frame), dtype=bool)
        for box in boxes:
            (x0, x1), (y0, y1) = sorted(box["x"][:2]), sorted(box["y"][:2])
            inside |= (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
        for lasso in lassos:
            inside |= _inside_polygon(x, y, lasso["x"], lasso["y"])
        return frame["id"].to_numpy(object)[inside].tolist()
    points = selection.get("points", [])
    ids = [point["customdata"] for point in points if point.get("customdata")]
    return list(dict.fromkeys(ids))


@st.cache_resource(max_entries=4, show_spinner="Reading the map…")
def _cached_frame(context, embeddings_key: str, version: tuple) -> pd.DataFrame:
    return map_frame(context.view(), embeddings_key, context.label_field, context.prediction_field)


@st.cache_resource(max_entries=8, show_spinner=False)
def _cached_figure(context, embeddings_key: str, version: tuple, color_by: str) -> go.Figure:
    return map_figure(_cached_frame(context, embeddings_key, version), color_by)


def _version(context, embeddings_key: str) -> tuple:
    """Changes whenever the map is recomputed or a sample of the chosen view is added, removed or edited."""
    view = context.view()
    return (projection.map_info(context.dataset_name, embeddings_key).get("run_id"),
            str(view.max("last_modified_at")), len(view))


def frame_for(context, embeddings_key: str) -> pd.DataFrame:
    """The map rows of the sidebar's dataset and split, read once and reused until the map or samples change."""
    return _cached_frame(context, embeddings_key, _version(context, embeddings_key))


def figure_for(context, embeddings_key: str, color_by: str) -> go.Figure:
    """:func:`map_figure` of :func:`frame_for`, built once per colouring and reused while the data stay the same."""
    return _cached_figure(context, embeddings_key, _version(context, embeddings_key), color_by)


def selection_grid(rows: pd.DataFrame, columns: int = 4) -> None:
    """The selected samples as a grid of labelled thumbnails (the first :data:`GRID_LIMIT`)."""
    shown = rows.head(GRID_LIMIT)
    if len(rows) > len(shown):
        st.caption(f"Showing the first {len(shown)} of {len(rows):,} selected samples.")
    if shown["prediction"].isna().all():  # no prediction field: no "no prediction" badge on every tile
        shown = shown.drop(columns=["prediction", "confidence", "correct"])
    paths = thumbnails.thumbnails(shown, size=96)
    cells = st.columns(columns)
    for i, path in enumerate(paths):
        cells[i % columns].image(str(path), width="stretch")
