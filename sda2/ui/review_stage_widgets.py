"""Streamlit pieces for the review stage: the reviewer's panel (answer, guideline, accept or reject with a reason),
the labeler's rejected items with the reason to fix, and the review figures of the Quality page."""

from __future__ import annotations

import time

import plotly.graph_objects as go
import streamlit as st

from sda2 import store
from sda2.curation import queue as lq, review_stage as rs
from sda2.ui import guideline_widgets, labeling_widgets as lw, review_widgets as rw, thumbnails
from sda2.ui.safe_text import escape_figure, md

MODES = ("Label", "Review")


def mode(dataset, queue: str, key: str = "stage_mode") -> str:
    """"Label" or "Review" (a segmented control, only for a queue with a review stage)."""
    if not lq.get_queue(dataset, queue).get("review"):
        return "Label"
    waiting = lq.queue_progress(dataset, queue)["review"]
    picked = st.segmented_control("Mode", MODES, default="Label", key=key,
                                  format_func=lambda m: f"Review ({waiting:,} waiting)" if m == "Review" else m)
    return picked or "Label"


def _decide(dataset, queue: str, sample_id: str, reviewer: str, decision: str, key: str) -> None:
    reason = st.session_state.get(f"{key}_reason_{sample_id}") if decision == "reject" else None
    note = st.session_state.get(f"{key}_note_{sample_id}", "") if decision == "reject" else ""
    rw.apply(rs.review_answer, dataset, queue, sample_id, reviewer, decision, reason, note,
             success="Accepted: the label is written." if decision == "accept" else "Rejected: sent back to its labeler.")


def review_panel(dataset, queue: str, reviewer: str, key: str = "review_stage") -> None:
    """The next answer ``reviewer`` may review: the image, the answer, the guideline, Accept or Reject with a reason."""
    sample_id = rs.next_review(dataset, queue, reviewer)
    if sample_id is None:
        st.success("Nothing to review for you: every answer waiting is your own, or none is waiting.")
        return
    view = rs.review_view(dataset, queue, sample_id)
    left, right = st.columns([3, 2])
    left.image(str(thumbnails.thumbnail(view["filepath"], thumbnails.Overlay(), size=thumbnails.DETAIL_SIZE)),
               width=thumbnails.DETAIL_SIZE, caption=f"sample {md(sample_id)}", output_format="PNG")
    with right:
        st.markdown(f"Answer: **{md(view['answer_text'])}**")
        st.caption(f"by {md(', '.join(view['labelers']))}")
        for earlier in view["rejections"]:
            st.caption(f"rejected before by {md(earlier['reviewer'])}: {md(earlier['reason'])} {md(earlier['note'])}")
        st.button(f"Accept {md(view['answer_text'])}", key=f"{key}_accept", type="primary", shortcut="A",
                  width="stretch", on_click=_decide, args=(dataset, queue, sample_id, reviewer, "accept", key))
        st.radio("Reason to reject", rs.REASONS, key=f"{key}_reason_{sample_id}", index=None)
        st.text_input("What is wrong (required for other)", key=f"{key}_note_{sample_id}")
        st.button("Reject", key=f"{key}_reject", width="stretch",
                  on_click=_decide, args=(dataset, queue, sample_id, reviewer, "reject", key))
    guideline_widgets.guideline_beside_labeling(dataset, key=f"{key}_guide")


def _fix(dataset, queue: str, labeler: str, sample_id: str, label, key: str) -> None:
    shown = st.session_state.get(f"{key}_shown_{sample_id}") or time.time()
    rw.apply(lq.submit, dataset, queue, labeler, sample_id, label, round(time.time() - shown, 3),
             success="Fixed: sent to review again.")


def rework_panel(dataset, queue: str, labeler: str, key: str = "rework") -> None:
    """``labeler``'s rejected items, each with the reviewer's reason and note, and class buttons to fix it."""
    frame = rs.rework_items(dataset, queue, labeler)
    if frame.empty:
        return
    st.warning(f"A reviewer sent back {len(frame):,} of your answers: fix them below.")
    definition = lq.get_queue(dataset, queue)
    classes = store.classes(dataset, definition["field"])
    for row in frame.itertuples():
        st.session_state.setdefault(f"{key}_shown_{row.sample_id}", time.time())
        view = rs.review_view(dataset, queue, row.sample_id)
        with st.container(border=True, key=f"{key}_item_{row.sample_id}"):
            left, right = st.columns([1, 3])
            left.image(str(thumbnails.thumbnail(view["filepath"], thumbnails.Overlay(), size=128)), width="stretch")
            right.markdown(f"Your answer **{md(row.answer)}** was rejected by {md(row.reviewer)}: "
                           f"**{md(row.reason)}**" + (f" — {md(row.note)}" if row.note else ""))
            if definition["kind"] != "classification":
                right.caption("Fix multi-label and box answers from the labeling queue (Back) or a notebook.")
                continue
            cols = right.columns(lw.button_columns(classes))
            for i, cls in enumerate(classes):
                cols[i % len(cols)].button(md(cls), key=f"{key}_{row.sample_id}_{i}", width="stretch",
                                           on_click=_fix, args=(dataset, queue, labeler, row.sample_id, cls, key))


def review_bars(summary: dict) -> go.Figure:
    """Rework per labeler: rejections and answers side by side."""
    frame = summary["rework_by_labeler"]
    names = [str(n) for n in frame["labeler"]]
    fig = go.Figure([go.Bar(x=names, y=frame["answers"].tolist(), name="answers", marker_color="#9aa5b1"),
                     go.Bar(x=names, y=frame["rejections"].tolist(), name="rejected", marker_color="#dc2626")])
    fig.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(title="labeler", type="category"), yaxis=dict(title="items"),
                      title=dict(text="Rework per labeler", font_size=13), legend=dict(orientation="h", y=-0.3))
    return escape_figure(fig)


def _pct(value: float) -> str:
    return "—" if value != value else f"{value:.1%}"


def review_section(figures) -> None:
    """The Quality page's review section: per queue with a review stage the shares reviewed and rejected, the
    estimated accuracy of the delivered labels with its interval, rework per labeler, per class and per reason."""
    if figures.reviews.empty:
        st.info("No queue has a review stage. Create one with review of every item or a sample (Labeling page, "
                "or sda2.create_queue(..., review='all')).")
        return
    for row in figures.reviews.itertuples():
        st.subheader(f"Queue {md(row.queue)}")
        cols = st.columns(4)
        cols[0].metric("Delivered", f"{row.delivered:,}", help=f"labels written, of {row.items:,} items")
        cols[1].metric("Share reviewed", _pct(row.share_reviewed), help="delivered labels a reviewer accepted")
        cols[2].metric("Share rejected", _pct(row.share_rejected), help="reviewed items rejected at least once")
        cols[3].metric("Estimated accuracy", _pct(row.accuracy),
                       help="of the delivered labels: reviewed ones count as right, the others at the first-pass "
                            "acceptance rate")
        if row.accuracy == row.accuracy:
            st.caption(f"95 % interval of the delivered accuracy: {row.accuracy_low:.1%} – {row.accuracy_high:.1%}"
                       + (f" · gold (honeypot) accuracy {row.gold_accuracy:.1%} ({row.gold_low:.1%} – "
                          f"{row.gold_high:.1%})" if row.gold_accuracy == row.gold_accuracy else "")
                       + f" · {row.awaiting_review:,} waiting for review, {row.in_rework:,} in rework")
        labelers = figures.rework_by_labeler[figures.rework_by_labeler["queue"] == row.queue]
        if len(labelers):
            st.plotly_chart(review_bars({"rework_by_labeler": labelers}), key=f"rework_{row.Index}")
    if figures.reasons:
        st.markdown("**Rejections per reason:** " + md(", ".join(f"{r}: {n}" for r, n in figures.reasons.items())))
    st.dataframe(figures.rework_by_class, hide_index=True)
