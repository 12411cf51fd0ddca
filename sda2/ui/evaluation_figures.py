"""Plotly figures of the Evaluation page: confusion heatmap, per-class metrics, threshold curves, failure rates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from sda2.ui.safe_text import escape_figure, plot

METRIC_COLORS = {"precision": "#1f77b4", "recall": "#ff7f0e", "f1": "#2ca02c", "coverage": "#7f7f7f"}


def confusion_heatmap(cm: pd.DataFrame) -> go.Figure:
    """Confusion counts as a heatmap (colour: share of the true class), with a clickable point per cell."""
    counts = cm.to_numpy()
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    x, y = [str(c) for c in cm.columns], [str(c) for c in cm.index]
    fig = go.Figure(go.Heatmap(
        z=share, x=x, y=y, text=counts.tolist(), texttemplate="%{text}", colorscale="Blues", zmin=0, zmax=1,
        colorbar={"title": "share of<br>true class", "tickformat": ".0%"},
        hovertemplate="true %{y}, predicted %{x}: %{text} samples (%{z:.1%} of true %{y})<extra></extra>"))
    xx, yy = np.meshgrid(x, y)
    fig.add_trace(go.Scatter(  # invisible points so a click or box selects a cell
        x=xx.ravel(), y=yy.ravel(), mode="markers", customdata=counts.ravel(), showlegend=False,
        marker={"symbol": "square", "size": max(8, min(40, 400 // max(len(x), 1))), "opacity": 0},
        hovertemplate="true %{y}, predicted %{x}: %{customdata} samples — click to see them<extra></extra>"))
    size = max(360, 40 * len(x) + 160)
    fig.update_layout(xaxis_title="predicted class", yaxis_title="true class", height=size,
                      yaxis={"autorange": "reversed", "type": "category"}, xaxis={"type": "category"},
                      margin={"l": 60, "r": 20, "t": 30, "b": 60}, clickmode="event+select", dragmode="select")
    return escape_figure(fig)


def per_class_bars(table: pd.DataFrame) -> go.Figure:
    """Precision, recall and F1 per class (or tag) as grouped bars, support in the hover."""
    names = [str(c) for c in table.index]
    fig = go.Figure([go.Bar(name=m, x=names, y=table[m], marker_color=METRIC_COLORS[m],
                            customdata=table["support"],
                            hovertemplate=f"%{{x}}: {m} %{{y:.3f}} (support %{{customdata}} samples)<extra></extra>")
                     for m in ("precision", "recall", "f1")])
    fig.update_layout(barmode="group", yaxis={"title": "score (0–1)", "range": [0, 1.02]},
                      xaxis={"title": plot(table.index.name or "class"), "type": "category"}, height=340,
                      margin={"l": 60, "r": 20, "t": 30, "b": 50}, legend={"orientation": "h", "y": 1.12})
    return escape_figure(fig)


def threshold_curves(curve: pd.DataFrame, cls: str, threshold: float | None = None,
                     target_precision: float | None = None) -> go.Figure:
    """Precision, recall and coverage of class ``cls`` as the confidence threshold moves."""
    if len(curve):  # below the lowest confidence every prediction is kept: draw that from 0
        curve = pd.concat([curve.iloc[:1].assign(threshold=0.0), curve], ignore_index=True)
    fig = go.Figure([go.Scatter(x=curve["threshold"], y=curve[m], name=m, mode="lines", line_shape="hv",
                                line={"color": METRIC_COLORS[m]}, customdata=curve[["accepted", "rejected"]],
                                hovertemplate=f"threshold %{{x:.3f}}: {m} %{{y:.3f}} "
                                              "(%{customdata[0]} accepted, %{customdata[1]} rejected)<extra></extra>")
                     for m in ("precision", "recall", "coverage")])
    if target_precision is not None:
        fig.add_hline(y=target_precision, line_dash="dot", line_color=METRIC_COLORS["precision"],
                      annotation_text=f"target precision {target_precision:.0%}", annotation_position="bottom left")
    if threshold is not None:
        fig.add_vline(x=threshold, line_dash="dash", line_color="black", annotation_text=f"threshold {threshold:.3f}",
                      annotation_position="bottom right")
    fig.update_layout(title=f"Class {plot(cls)}: keep predictions with confidence ≥ threshold", height=360,
                      xaxis={"title": "confidence threshold", "range": [0, 1]},
                      yaxis={"title": "share (0–1)", "range": [0, 1.02]},
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, legend={"orientation": "h", "y": -0.25})
    return escape_figure(fig)


def failure_bars(rates: pd.DataFrame, title: str) -> go.Figure:
    """Error rate per category with its confidence interval as error bars, worst first (``title`` is plotly
    markup: escape user strings in it with :func:`sda2.ui.safe_text.plot`)."""
    rate = rates["error_rate"]
    fig = go.Figure(go.Bar(
        x=rates["category"].astype(str), y=rate, marker_color="#d62728",
        error_y={"type": "data", "symmetric": False, "array": rates["ci_high"] - rate, "arrayminus": rate - rates["ci_low"]},
        text=[f"{e:,}/{n:,}" for e, n in zip(rates["errors"], rates["samples"])], textposition="inside",
        customdata=rates[["samples", "errors", "ci_low", "ci_high"]],
        hovertemplate="%{x}: error rate %{y:.1%} (%{customdata[1]} of %{customdata[0]} samples; "
                      "interval %{customdata[2]:.1%}–%{customdata[3]:.1%})<extra></extra>"))
    top = float(min(1.0, max(0.05, rates["ci_high"].max() * 1.15))) if len(rates) else 1.0
    fig.update_layout(title=title, height=360, xaxis={"title": "category", "type": "category"},
                      yaxis={"title": "error rate", "tickformat": ".0%", "range": [0, top]},
                      margin={"l": 60, "r": 20, "t": 50, "b": 60})
    return escape_figure(fig)
