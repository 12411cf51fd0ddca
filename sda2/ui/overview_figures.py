"""Plotly figures of the Overview page: class distribution per split, ground truth vs predictions,
tag frequency and co-occurrence, boxes per image and box size / aspect distributions."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sda2.analysis.distribution import SMALL_BOX_PX
from sda2.ui.safe_text import escape_figure, plot

SPLIT_COLORS = {"train": "#1f77b4", "val": "#ff7f0e", "validation": "#ff7f0e", "test": "#2ca02c",
                "all": "#4c78a8"}
OTHER_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
TRUTH_COLOR, PRED_COLOR = "#4c78a8", "#f58518"
MAX_TEXT_BARS = 24  # above this many bars, counts go to the hover only
MARGIN = {"l": 60, "r": 20, "t": 40, "b": 60}


def _natural(label) -> list:
    """Sort key that puts "2" before "10" and "img2" before "img10"."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", str(label))]


def class_order(table: pd.DataFrame, sort: str = "count") -> list[str]:
    """Class names ordered by total count (largest first) or by name (natural order)."""
    totals = table.groupby("label", sort=False)["count"].sum()
    if sort == "name":
        return sorted(map(str, totals.index), key=_natural)
    return [str(c) for c in totals.sort_values(ascending=False, kind="stable").index]


def _split_color(split: str, i: int) -> str:
    return SPLIT_COLORS.get(split, OTHER_COLORS[i % len(OTHER_COLORS)])


def distribution_bars(table: pd.DataFrame, sort: str = "count", measure: str = "count",
                      unit: str = "samples", splits: list[str] | None = None, what: str = "class") -> go.Figure:
    """Grouped bars of class counts per split (in the order of ``splits``); height is count or percent of split.

    ``table`` has columns split, label, count, percent; hover and text show both count and percent.
    """
    order = class_order(table, sort)
    splits = list(dict.fromkeys(splits or table["split"]))
    show_text = len(order) * len(splits) <= MAX_TEXT_BARS
    fig = go.Figure()
    for i, split in enumerate(splits):
        part = table[table["split"] == split].assign(label=lambda d: d["label"].astype(str)).set_index("label")
        part = part.reindex(order).fillna({"count": 0, "percent": 0.0})
        y = part["percent"] if measure == "percent" else part["count"]
        fig.add_trace(go.Bar(
            name=split, x=order, y=y, marker_color=_split_color(split, i),
            customdata=np.stack([part["count"], part["percent"]], axis=1),
            text=[f"{c:,.0f}" for c in part["count"]] if show_text else None, textposition="outside",
            cliponaxis=False,
            hovertemplate=f"<b>%{{x}}</b> in {plot(split)}: %{{customdata[0]:,.0f}} {unit} "
                          "(%{customdata[1]:.1f}% of the split)<extra></extra>"))
    fig.update_layout(
        barmode="group", height=420, margin=MARGIN, legend={"orientation": "h", "y": 1.1, "title": "split"},
        xaxis={"title": what, "type": "category", "categoryorder": "array", "categoryarray": order},
        yaxis={"title": f"% of the split's {unit}" if measure == "percent" else f"{unit} (count)"})
    return escape_figure(fig)


def truth_vs_predictions(comparison: pd.DataFrame, sort: str = "count", prediction_field: str = "predictions",
                         unit: str = "samples", what: str = "class") -> go.Figure:
    """Ground truth and predicted class shares side by side (``comparison`` from compare_distributions)."""
    table = comparison.rename(columns={"count_truth": "count"})
    order = class_order(table, sort)
    part = comparison.assign(label=comparison["label"].astype(str)).set_index("label").reindex(order)
    fig = go.Figure()
    for name, suffix, color in (("ground truth", "truth", TRUTH_COLOR), (prediction_field, "predicted", PRED_COLOR)):
        fig.add_trace(go.Bar(
            name=name, x=order, y=part[f"percent_{suffix}"], marker_color=color,
            customdata=np.stack([part[f"count_{suffix}"], part["shift"]], axis=1),
            hovertemplate=f"<b>%{{x}}</b> {plot(name)}: %{{customdata[0]:,.0f}} {unit} (%{{y:.1f}}%); "
                          "predicted − true share: %{customdata[1]:+.1f} points<extra></extra>"))
    fig.update_layout(barmode="group", height=380, margin=MARGIN, legend={"orientation": "h", "y": 1.12},
                      xaxis={"title": what, "type": "category", "categoryorder": "array",
                             "categoryarray": order},
                      yaxis={"title": f"% of {unit}"})
    return escape_figure(fig)


def cooccurrence_heatmap(matrix: pd.DataFrame) -> go.Figure:
    """Tag co-occurrence: colour is P(column tag | row tag), the number how many samples carry both.

    The diagonal (each tag with itself, always 100 %) is left uncoloured so the pairs set the colour scale.
    """
    counts = matrix.to_numpy()
    conditional = counts / np.maximum(np.diag(counts)[:, None], 1).astype(float)
    np.fill_diagonal(conditional, np.nan)
    names = [str(c) for c in matrix.columns]
    fig = go.Figure(go.Heatmap(
        z=conditional, x=names, y=names, zmin=0, colorscale="Blues", text=counts,
        texttemplate="%{text}" if len(names) <= 20 else None, hoverongaps=False,
        colorbar={"title": "share of<br>row tag", "tickformat": ".0%"},
        hovertemplate="%{text} samples carry both <b>%{y}</b> and <b>%{x}</b>: "
                      "%{z:.1%} of the samples with %{y}<extra></extra>"))
    size = max(360, 32 * len(names) + 160)
    fig.update_layout(height=size, margin=MARGIN, plot_bgcolor="white",
                      xaxis={"type": "category", "title": "…also carry this tag"},
                      yaxis={"type": "category", "title": "of the samples with this tag…", "autorange": "reversed"})
    return escape_figure(fig)


def count_bars(counts: pd.Series, x_title: str, y_title: str, color: str = TRUTH_COLOR) -> go.Figure:
    """Bars of a small count table (e.g. boxes per image -> images, tags per sample -> samples)."""
    total = max(int(counts.sum()), 1)
    fig = go.Figure(go.Bar(
        x=counts.index, y=counts.to_numpy(), marker_color=color, customdata=100.0 * counts.to_numpy() / total,
        hovertemplate=f"%{{x}} {x_title}: %{{y:,}} {y_title} (%{{customdata:.1f}}%)<extra></extra>"))
    fig.update_layout(height=320, margin=MARGIN, bargap=0.1,
                      xaxis={"title": x_title, "dtick": 1 if len(counts) <= 30 else None},
                      yaxis={"title": y_title})
    return escape_figure(fig)


def _histogram_bars(values: np.ndarray, bins: np.ndarray, hover_x: str, unit: str) -> go.Bar:
    counts, edges = np.histogram(values, bins=bins)
    share = 100.0 * counts / max(counts.sum(), 1)
    return go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color=TRUTH_COLOR,
                  customdata=np.stack([edges[:-1], edges[1:], share], axis=1),
                  hovertemplate=f"{hover_x}: %{{customdata[0]:.3g}}–%{{customdata[1]:.3g}}{unit}: "
                                "%{y:,} boxes (%{customdata[2]:.1f}%)<extra></extra>")


def box_size_histogram(geometry: pd.DataFrame, bins: int = 40) -> go.Figure:
    """Box size (√area) in pixels, with COCO's small / medium limits, or relative when sizes are unknown."""
    pixels = geometry["size_px"].notna().any()
    values = (geometry["size_px"] if pixels else np.sqrt(geometry["rel_area"])).dropna().to_numpy()
    top = max(float(values.max()) if len(values) else 1.0, 1e-6)
    fig = go.Figure(_histogram_bars(values, np.linspace(0, top, bins + 1), "size", " px" if pixels else ""))
    if pixels:
        for limit, name in ((SMALL_BOX_PX, "small < 32 px"), (96, "large > 96 px")):
            if limit < top:
                fig.add_vline(x=limit, line_dash="dot", line_color="gray", annotation_text=name)
    fig.update_layout(height=320, margin=MARGIN, bargap=0,
                      xaxis={"title": "box size √(w·h) in pixels" if pixels
                             else "box size √(w·h) as a share of the image side"},
                      yaxis={"title": "boxes"})
    return fig


def box_aspect_histogram(geometry: pd.DataFrame, bins: int = 40) -> go.Figure:
    """Box aspect ratio width / height on a log scale (1:1 in the middle)."""
    aspect = geometry["aspect"].to_numpy()
    log_aspect = np.log2(aspect[np.isfinite(aspect) & (aspect > 0)])
    reach = max(2.0, float(np.ceil(np.abs(log_aspect).max()))) if len(log_aspect) else 2.0
    fig = go.Figure(_histogram_bars(log_aspect, np.linspace(-reach, reach, bins + 1), "log₂(w/h)", ""))
    ticks = np.arange(-reach, reach + 1)
    labels = [f"1:{2 ** -t:g}" if t < 0 else f"{2 ** t:g}:1" for t in ticks]
    fig.update_layout(height=320, margin=MARGIN, bargap=0, yaxis={"title": "boxes"},
                      xaxis={"title": "aspect ratio width : height (tall ← → wide)", "tickvals": ticks,
                             "ticktext": labels})
    return fig
