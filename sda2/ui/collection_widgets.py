"""The learning curves, the collection plan and the per-class release comparison on the Releases page."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sda2.ui.safe_text import escape_figure, md, plot


# measured by benchmarks/bench_collection_plan.py (CIFAR-10N, 300 photos per class, one class grown at a time)
TRUST = ("use the plan to rank classes, not to size a batch. Checked on CIFAR-10N, adding 150–300 photos of one "
         "class raised its accuracy by 6–15 points where its curve predicted 0–3 (the curves grow every class "
         "together; adding one class also shifts the model toward it).")


def curve_figure(curves, cls: str, target: float | None = None) -> go.Figure:
    """One class's measured points (mean ± std over seeds), the fitted power law and its 90 % band."""
    fit = curves.fits[cls]
    points = curves.summary()
    points = points[points["class"] == cls]
    top = max(float(points["n"].max()), float(curves.labeled.get(cls, 1))) * 4
    grid = np.geomspace(max(float(points["n"].min()) / 2, 1.0), top, 80)
    low, high = fit.band(grid)
    fig = go.Figure([
        go.Scatter(x=np.r_[grid, grid[::-1]], y=np.r_[high, low[::-1]], fill="toself", name="90 % band",
                   line={"width": 0}, fillcolor="rgba(31,119,180,0.2)", hoverinfo="skip"),
        go.Scatter(x=grid, y=fit.predict(grid), name=f"fit: {fit.a:.3f} − {fit.b:.2f}·n^−{fit.c:.2f}",
                   mode="lines", line={"color": "#1f77b4"}),
        go.Scatter(x=points["n"], y=points["accuracy"], name="measured (out-of-fold, mean of seeds)",
                   mode="markers", error_y={"array": points["accuracy_std"]}, marker={"color": "#d62728"})])
    if target is not None:
        fig.add_hline(y=target, line_dash="dot", annotation_text=f"target {target:.0%}")
    fig.update_layout(title=f"Accuracy of {plot(cls)} vs labeled samples of it", xaxis_title="labeled samples (images)",
                      yaxis_title="accuracy (recall)", xaxis_type="log", height=380, yaxis_range=[0, 1.02])
    return escape_figure(fig)


def plan_table(plan: pd.DataFrame) -> pd.DataFrame:
    """The plan as shown: counts with units, percentages, the sentence per class."""
    def more(row):
        if row["more"] == 0:
            return "0 images"
        if math.isinf(row["more"]):
            return "∞ (not reachable by collection alone)"
        high = "∞" if math.isinf(row["more_high"]) else f"{math.ceil(row['more_high']):,}"
        return f"+{math.ceil(row['more']):,} images (90 %: {math.floor(row['more_low']):,}–{high})"

    return pd.DataFrame({"class": plan["class"].map(md), "labeled now": plan["labeled"].map("{:,} images".format),
                         "accuracy now": plan["accuracy"].map("{:.1%}".format),
                         "levels off at": plan["asymptote"].map("{:.1%}".format),
                         "gain per 100 labels": (plan["gain_per_label"] * 100).map("{:+.2%}".format),
                         "to collect": plan.apply(more, axis=1), "plan": plan["plan"].map(md)})


def comparison_figure(frame: pd.DataFrame, v1: str, v2: str) -> go.Figure:
    """Per-class out-of-fold recall of two releases side by side."""
    fig = go.Figure([go.Bar(x=frame["class"], y=frame[f"recall_{v}"], name=v) for v in (v1, v2)])
    fig.update_layout(barmode="group", title=f"Out-of-fold recall per class: {plot(v1)} → {plot(v2)}",
                      yaxis_title="recall", xaxis_title="class", height=360)
    return escape_figure(fig)


def collection_section(name: str, versions: list[str]) -> None:
    """The 'What to collect next' section: learning curves, the plan, and releases compared per class."""
    from sda2.explore import collection_plan as cp

    st.subheader("What to collect next")
    st.caption("Per-class learning curves from out-of-fold runs on 10–100 % of the labeled samples (3 seeds), "
               "fitted with acc(n) = a − b·n^−c; the plan says how many more images each class needs.")
    left, right = st.columns(2)
    target = left.slider("Target accuracy per class", 0.5, 0.99, 0.9, 0.01, key="plan_target")
    if right.button("Measure learning curves", key="plan_measure"):
        bar = st.progress(0.0, text="out-of-fold runs")
        try:
            st.session_state["plan_curves"] = (name, cp.learning_curves(
                name, progress=lambda done, total: bar.progress(done / total, text=f"run {done}/{total}")))
        except (ValueError, KeyError) as exc:
            st.error(md(str(exc)))
    stored = st.session_state.get("plan_curves")
    if stored and stored[0] == name:
        curves = stored[1]
        plan = cp.collection_plan(name, target=target, curves=curves)
        st.dataframe(plan_table(plan), hide_index=True, key="plan_table")
        st.warning(f"How far to trust it: {TRUST}")
        classes = list(plan["class"])
        cls = st.selectbox("Learning curve of", classes, format_func=md, key="plan_class")
        st.plotly_chart(curve_figure(curves, cls, target), key="plan_curve")
    if len(versions) >= 2:
        left, right = st.columns(2)
        v1 = left.selectbox("Compare release", versions, index=len(versions) - 2, key="cmp_v1")
        v2 = right.selectbox("with", versions, index=len(versions) - 1, key="cmp_v2")
        try:
            frame = cp.compare_releases(name, v1, v2)
            st.plotly_chart(comparison_figure(frame, v1, v2), key="cmp_figure")
            st.dataframe(frame.assign(**{"class": frame["class"].map(md)}), hide_index=True, key="cmp_table")
        except ValueError as exc:
            st.info(md(str(exc)))
