"""Figures of the Quality page: pairwise kappa heatmap, per-labeler bars, figures over time, per-class agreement
and time, agreement levels, and the gallery of samples to adjudicate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from sda2.ui import thumbnails
from sda2.ui.safe_text import escape_figure, md, plot

MARGIN = {"l": 60, "r": 20, "t": 40, "b": 60}
LABELER_COLORS = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d",
                  "#bab0ac", "#eeca3b"]
OVER_TIME = {  # column -> (axis title, hover format)
    "labels_per_hour": ("labels per hour", ",.0f"),
    "median_seconds": ("median seconds per label (s)", ".1f"),
    "agreement": ("agreement with consensus", ".0%"),
    "rework_share": ("share changed by review", ".0%"),
}


def _color(i: int) -> str:
    return LABELER_COLORS[i % len(LABELER_COLORS)]


def kappa_heatmap(matrix: pd.DataFrame, pairs: pd.DataFrame) -> go.Figure:
    """Cohen's kappa of every labeler pair; the hover adds the shared samples and raw agreement."""
    names = [str(c) for c in matrix.columns]
    kappa = matrix.to_numpy(dtype=float).copy()
    np.fill_diagonal(kappa, np.nan)  # a labeler with themself says nothing
    shared = np.zeros_like(kappa)
    observed = np.full_like(kappa, np.nan)
    index = {n: i for i, n in enumerate(names)}
    for row in pairs.itertuples():
        i, j = index[str(row.annotator_a)], index[str(row.annotator_b)]
        shared[i, j] = shared[j, i] = row.samples
        observed[i, j] = observed[j, i] = row.observed
    text = np.where(np.isnan(kappa), "", np.vectorize(lambda v: f"{v:.2f}")(np.nan_to_num(kappa)))
    fig = go.Figure(go.Heatmap(
        z=kappa, x=names, y=names, zmin=0, zmax=1, colorscale="RdYlGn", text=text, texttemplate="%{text}",
        customdata=np.dstack([shared, observed]), hoverongaps=False,
        colorbar={"title": "Cohen's κ"},
        hovertemplate="<b>%{y}</b> vs <b>%{x}</b>: κ = %{z:.2f} on %{customdata[0]:.0f} shared samples "
                      "(same label on %{customdata[1]:.0%})<extra></extra>"))
    size = max(320, 60 * len(names) + 140)
    fig.update_layout(height=size, margin=MARGIN, xaxis={"type": "category", "title": "labeler"},
                      yaxis={"type": "category", "autorange": "reversed", "title": "labeler"})
    return escape_figure(fig)


def labeler_bars(efficiency: pd.DataFrame, agreement: pd.DataFrame | None = None) -> go.Figure:
    """Three panels per labeler: agreement with consensus (and estimated accuracy), labels/hour, median s/label."""
    frame = efficiency.set_index("annotator")
    if agreement is not None and len(agreement):
        frame = frame.join(agreement.set_index("annotator")[["estimated_accuracy"]], how="left")
    names = [str(n) for n in frame.index]
    colors = [_color(i) for i in range(len(names))]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.08, subplot_titles=(
        "agreement with consensus", "labels per hour", "median seconds per label"))
    fig.add_trace(go.Bar(x=names, y=frame["agreement"], marker_color=colors, name="agreement", showlegend=False,
                         customdata=frame["compared"], text=[f"{v:.0%}" if pd.notna(v) else "" for v in frame["agreement"]],
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{x}: %{y:.1%} of %{customdata} answers match the others' majority"
                                       "<extra></extra>"), row=1, col=1)
    if "estimated_accuracy" in frame:
        fig.add_trace(go.Scatter(x=names, y=frame["estimated_accuracy"], mode="markers", name="estimated accuracy",
                                 marker={"symbol": "diamond", "size": 12, "color": "black"},
                                 hovertemplate="%{x}: estimated accuracy %{y:.1%} (Dawid–Skene)<extra></extra>"),
                      row=1, col=1)
    fig.add_trace(go.Bar(x=names, y=frame["labels_per_hour"], marker_color=colors, showlegend=False,
                         customdata=np.stack([frame["labels"], frame["hours"] * 60], axis=1),
                         text=[f"{v:,.0f}" if pd.notna(v) else "" for v in frame["labels_per_hour"]],
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{x}: %{y:,.0f} labels/hour (%{customdata[0]} labels in "
                                       "%{customdata[1]:.1f} min on task)<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Bar(x=names, y=frame["median_seconds"], marker_color=colors, showlegend=False,
                         text=[f"{v:.1f} s" if pd.notna(v) else "" for v in frame["median_seconds"]],
                         textposition="outside", cliponaxis=False,
                         hovertemplate="%{x}: median %{y:.1f} s per label<extra></extra>"), row=1, col=3)
    fig.update_yaxes(title_text="share of answers", tickformat=".0%", range=[0, 1.1], row=1, col=1)
    fig.update_yaxes(title_text="labels / hour", row=1, col=2)
    fig.update_yaxes(title_text="seconds", row=1, col=3)
    fig.update_xaxes(type="category")
    fig.update_layout(height=380, margin=MARGIN, legend={"orientation": "h", "y": -0.2})
    return escape_figure(fig)


def over_time_lines(over_time: pd.DataFrame, metric: str = "labels_per_hour", every: str | int = "D") -> go.Figure:
    """One line per labeler of ``metric`` per time bucket (or per block of labels when ``every`` is a count)."""
    if metric not in OVER_TIME:
        raise ValueError(f"Unknown metric {metric!r}. Fix: use one of {', '.join(OVER_TIME)}.")
    title, fmt = OVER_TIME[metric]
    by_count = isinstance(every, (int, np.integer))
    fig = go.Figure()
    for i, (name, part) in enumerate(over_time.groupby("annotator", sort=True)):
        when = "labels %{x}–%{customdata[1]}" if by_count else "%{x}"
        last = part["period"] + part["labels"] - 1 if by_count else part["labels"]
        fig.add_trace(go.Scatter(
            x=part["period"], y=part[metric], mode="lines+markers", name=str(name), line={"color": _color(i)},
            customdata=np.stack([part["labels"], last], axis=1),
            hovertemplate=f"<b>{plot(name)}</b> {when}: %{{y:{fmt}}} ({title}; %{{customdata[0]}} labels)<extra></extra>"))
    x_title = f"label number (blocks of {every})" if by_count else {"D": "day", "h": "hour"}.get(str(every), "period")
    fig.update_layout(height=360, margin=MARGIN, xaxis_title=x_title, legend={"orientation": "h", "y": 1.12},
                      yaxis={"title": title, "tickformat": fmt if "%" in fmt else None, "rangemode": "tozero"})
    return escape_figure(fig)


def class_agreement_bars(per_class: pd.DataFrame) -> go.Figure:
    """Specific agreement and per-class kappa per class (or tag), lowest specific agreement first."""
    table = per_class.sort_values("specific_agreement", kind="stable")
    names = [str(c) for c in table["label"]]
    fig = go.Figure([
        go.Bar(name="specific agreement", x=names, y=table["specific_agreement"], marker_color="#4c78a8",
               customdata=np.stack([table["given"], table["samples"]], axis=1),
               hovertemplate="%{x}: when one labeler chose it, another did too %{y:.0%} of the time "
                             "(chosen %{customdata[0]} times on %{customdata[1]} samples)<extra></extra>"),
        go.Bar(name="κ (class vs rest)", x=names, y=table["kappa"], marker_color="#f58518",
               hovertemplate="%{x}: κ = %{y:.2f} (this class vs any other)<extra></extra>")])
    fig.update_layout(barmode="group", height=340, margin=MARGIN, legend={"orientation": "h", "y": 1.12},
                      xaxis={"title": "class", "type": "category"}, yaxis={"title": "agreement (0–1)", "range": [0, 1.05]})
    return escape_figure(fig)


def class_time_bars(class_times: pd.DataFrame) -> go.Figure:
    """Median seconds per label of each class (slowest first); the 90th percentile in the hover."""
    names = [str(c) for c in class_times["label"]]
    fig = go.Figure(go.Bar(
        x=names, y=class_times["median_seconds"], marker_color="#54a24b",
        customdata=np.stack([class_times["labels"], class_times["p90_seconds"]], axis=1),
        text=[f"{v:.1f}" for v in class_times["median_seconds"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{x}: median %{y:.1f} s, 90 %% under %{customdata[1]:.1f} s "
                      "(%{customdata[0]} labels)<extra></extra>"))
    fig.update_layout(height=320, margin=MARGIN, xaxis={"title": "class given", "type": "category"},
                      yaxis={"title": "median seconds per label (s)"})
    return escape_figure(fig)


def agreement_levels(consensus: pd.DataFrame) -> go.Figure:
    """How many samples had each level of agreement (share of labels equal to the majority), multi-rated only."""
    rated = consensus[consensus["ratings"] >= 2]
    levels = (rated["majority_votes"].astype(str) + " of " + rated["ratings"].astype(str)).rename("level")
    counts = levels.groupby([rated["agreement"], levels]).size().sort_index(ascending=False)
    x = [level for _, level in counts.index]
    fig = go.Figure(go.Bar(x=x, y=counts.to_numpy(), marker_color=[
        "#54a24b" if share == 1 else "#eeca3b" if share > 0.5 else "#e45756" for share, _ in counts.index],
        text=counts.to_numpy(), textposition="outside", cliponaxis=False,
        hovertemplate="%{x} labelers agree: %{y} samples<extra></extra>"))
    fig.update_layout(height=300, margin=MARGIN, xaxis={"title": "labelers giving the majority label",
                                                        "type": "category"}, yaxis={"title": "samples"})
    return escape_figure(fig)


def labeler_table(efficiency: pd.DataFrame, agreement: pd.DataFrame) -> pd.DataFrame:
    """One readable row per labeler (units in the column names), for st.dataframe."""
    frame = efficiency.merge(agreement[["annotator", "kappa", "estimated_accuracy"]], on="annotator", how="left")
    return pd.DataFrame({
        "labeler": frame["annotator"], "labels": frame["labels"], "labels / hour": frame["labels_per_hour"].round(0),
        "median s / label": frame["median_seconds"].round(1), "minutes on task": (frame["hours"] * 60).round(1),
        "agreement with consensus %": (100 * frame["agreement"]).round(1), "κ vs consensus": frame["kappa"].round(2),
        "estimated accuracy %": (100 * frame["estimated_accuracy"]).round(1),
        "changed by review %": (100 * frame["rework_share"]).round(1),
        "first label": frame["first"], "last label": frame["last"]})


def adjudication_table(adjudication: pd.DataFrame) -> pd.DataFrame:
    """The adjudication list with readable column names, for st.dataframe."""
    columns = {"sample_id": "sample", "votes": "who said what", "majority": "majority", "weighted": "weighted vote",
               "weighted_confidence": "confidence", "agreement": "agreement"}
    return adjudication[list(columns)].rename(columns=columns)


def adjudication_gallery(adjudication: pd.DataFrame, columns: int = 5, limit: int = 15) -> None:
    """Thumbnails of the most disputed samples, each captioned with who said what."""
    rows = adjudication.head(limit)
    if "filepath" not in rows:
        return
    for start in range(0, len(rows), columns):
        for col, (_, row) in zip(st.columns(columns), rows.iloc[start:start + columns].iterrows()):
            overlay = thumbnails.Overlay(labels=(str(row["weighted"]),))
            col.image(str(thumbnails.thumbnail(row["filepath"], overlay, size=160)))
            col.caption(f"{md(row['votes'])}  \nweighted vote: **{md(row['weighted'])}** "
                        f"({row['weighted_confidence']:.0%})")
