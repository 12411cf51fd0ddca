"""Plotly figures of the Selection page: subset vs pool class shares, the map of what was picked, and the
data-efficiency curves (held-out accuracy vs number of labels per strategy, with a band over seeds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from sda2.ui.safe_text import escape_figure, plot

POOL_COLOR = "#9ca3af"
SELECTED_COLOR = "#dc2626"
POOL_POINT_COLOR = "#d1d5db"


def class_distribution(classes: pd.DataFrame) -> go.Figure:
    """Share of each class in the pool and in the selection as grouped bars (counts in the hover)."""
    names = classes["class"].astype(str).tolist()
    fig = go.Figure([
        go.Bar(name=f"pool ({int(classes['pool'].sum()):,})", x=names, y=classes["pool_pct"], marker_color=POOL_COLOR,
               customdata=classes["pool"], hovertemplate="%{x}: %{y:.1f}% of the pool (%{customdata} samples)"
                                                         "<extra></extra>"),
        go.Bar(name=f"selected ({int(classes['selected'].sum()):,})", x=names, y=classes["selected_pct"],
               marker_color=SELECTED_COLOR, customdata=classes["selected"],
               hovertemplate="%{x}: %{y:.1f}% of the selection (%{customdata} samples)<extra></extra>")])
    fig.update_layout(barmode="group", template="plotly_white", height=340,
                      xaxis={"title": "class", "type": "category"}, yaxis={"title": "share of samples (%)"},
                      margin={"l": 60, "r": 20, "t": 30, "b": 50}, legend={"orientation": "h", "y": 1.12})
    return escape_figure(fig)


def selection_map(points: pd.DataFrame, height: int = 560) -> go.Figure:
    """The 2-D map: pool samples in grey, selected ones highlighted on top (hover: label and pick rank)."""
    pool = points[~points["selected"]]
    chosen = points[points["selected"]]
    size = 6 if len(points) < 2_000 else 4 if len(points) < 20_000 else 2.5
    fig = go.Figure([
        go.Scattergl(x=pool["x"].to_numpy(np.float32), y=pool["y"].to_numpy(np.float32), mode="markers",
                     name=f"rest of the pool ({len(pool):,})", customdata=pool["id"].to_numpy(object),
                     text=pool["label"].to_numpy(object), hovertemplate="%{text}<extra>pool</extra>",
                     marker={"size": size, "color": POOL_POINT_COLOR, "opacity": 0.7}),
        go.Scattergl(x=chosen["x"].to_numpy(np.float32), y=chosen["y"].to_numpy(np.float32), mode="markers",
                     name=f"selected ({len(chosen):,})", customdata=chosen["id"].to_numpy(object),
                     text=chosen["label"].to_numpy(object), hovertemplate="%{text}<extra>selected</extra>",
                     marker={"size": size + 3, "color": SELECTED_COLOR, "line": {"width": 0.5, "color": "white"}})])
    fig.update_layout(height=height, template="plotly_white", margin={"l": 0, "r": 0, "t": 10, "b": 0},
                      legend={"itemsizing": "constant", "orientation": "h", "y": 1.04},
                      xaxis={"visible": False}, yaxis={"visible": False, "scaleanchor": "x"})
    return escape_figure(fig)


def accuracy_vs_budget(results: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Mean held-out accuracy (%) vs labels per strategy, with a ±1 standard deviation band over seeds."""
    table = (results.groupby(["strategy", "budget"])["accuracy"].agg(["mean", "std", "count"]).reset_index()
             .fillna({"std": 0.0}))
    fig = go.Figure()
    order = table.groupby("strategy")["mean"].mean().sort_values(ascending=False).index
    for k, strategy in enumerate(order):
        part = table[table["strategy"] == strategy].sort_values("budget")
        color = "#111827" if strategy == "random" else qualitative.Plotly[k % len(qualitative.Plotly)]
        x, mean, std = part["budget"].to_numpy(), 100 * part["mean"].to_numpy(), 100 * part["std"].to_numpy()
        fig.add_trace(go.Scatter(x=np.r_[x, x[::-1]], y=np.r_[mean + std, (mean - std)[::-1]], fill="toself",
                                 fillcolor=color, opacity=0.15, line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=strategy))
        fig.add_trace(go.Scatter(x=x, y=mean, mode="lines+markers", name=strategy, legendgroup=strategy,
                                 line={"color": color, "width": 3 if strategy == "random" else 2,
                                       "dash": "dash" if strategy == "random" else "solid"},
                                 customdata=np.c_[std, part["count"].to_numpy()],
                                 hovertemplate=f"{plot(strategy)}: %{{y:.1f}}% ± %{{customdata[0]:.1f}} at %{{x}} labels "
                                               "(%{customdata[1]} seeds)<extra></extra>"))
    fig.update_layout(template="plotly_white", height=440, title=None if title is None else plot(title),
                      xaxis={"title": "labels (budget, log scale)", "type": "log",
                             "tickvals": sorted(table["budget"].unique())},
                      yaxis={"title": "held-out accuracy (%)"}, margin={"l": 60, "r": 20, "t": 50 if title else 20,
                                                                        "b": 50})
    return escape_figure(fig)
