"""Plotly figures of the hand-off: class distribution per split, and its shift between two releases.

Names in the data (classes, splits) are escaped for plotly's HTML subset here, so a figure shows them
literally wherever it is drawn (the app or the self-contained report).
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

FONT = "'Noto Sans CJK KR', 'Noto Sans KR', NanumGothic, 'Nanum Gothic', 'Malgun Gothic', 'Apple SD Gothic Neo', " \
       "'DejaVu Sans', sans-serif"


def plot_text(value) -> str:
    """``value`` as literal text in a plotly label (``&``, ``<``, ``>``, ``$`` and ``%{`` made inert)."""
    return html.escape(str(value), quote=False).replace("$", "&#36;").replace("%{", "&#37;{")


def _layout(fig: go.Figure, title: str, y_title: str) -> go.Figure:
    fig.update_layout(title=title, barmode="group", font={"family": FONT}, height=380,
                      margin={"l": 50, "r": 20, "t": 50, "b": 60}, yaxis_title=y_title, legend_title_text="split")
    fig.update_xaxes(type="category")
    return fig


def distribution_figure(distribution: pd.DataFrame, title: str = "Samples per class and split") -> go.Figure:
    """Grouped bars: count per class (x), one bar per split; ``distribution`` has split, label, count."""
    fig = go.Figure()
    for split, part in distribution.groupby("split", sort=True):
        fig.add_bar(x=[plot_text(v) for v in part["label"]], y=part["count"].tolist(), name=plot_text(split))
    return _layout(fig, title, "samples")


def shift_figure(distribution: pd.DataFrame, old: str, new: str) -> go.Figure:
    """Grouped bars: change of count per class (x), one bar per split; ``distribution`` has split, label, shift."""
    fig = go.Figure()
    for split, part in distribution.groupby("split", sort=True):
        fig.add_bar(x=[plot_text(v) for v in part["label"]], y=part["shift"].tolist(), name=plot_text(split),
                    customdata=part[["old", "new"]].to_numpy().tolist(),
                    hovertemplate="%{x}: %{customdata[0]} → %{customdata[1]} (%{y:+d})<extra>%{fullData.name}</extra>")
    fig.add_hline(y=0, line_color="#888", line_width=1)
    return _layout(fig, f"Class distribution shift, {plot_text(old)} → {plot_text(new)}", "change in samples")
