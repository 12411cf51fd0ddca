"""Streamlit pieces for gold items: the qualification test a new labeler takes, the gate in front of a queue
(test first, or paused), the curator's controls (mark gold, test, pass mark, honeypot rate, pause threshold,
lift a pause) and the gold accuracy figure. Nothing a labeler sees tells a honeypot from any other item."""

from __future__ import annotations

import time

import plotly.graph_objects as go
from bson import ObjectId
import streamlit as st

from sda2 import store
from sda2.curation import gold, queue as lq
from sda2.ui import labeling_widgets as lw, review_widgets as rw, thumbnails
from sda2.ui.safe_text import escape_figure, md, plot


def _answer_test(dataset, annotator: str, state: dict, label) -> None:
    """Button callback: record the test answer for the item on screen."""
    seconds = round(time.time() - state["shown_at"], 3)
    if rw.apply(gold.answer_qualification, dataset, annotator, state["sample_id"], label, seconds, success="Saved."):
        state.update(sample_id=None, shown_at=None)


def qualification_test(dataset, annotator: str, key: str = "qual") -> None:
    """The qualification test, one item at a time with class buttons; the result when it is finished."""
    status = gold.qualification_status(dataset, annotator)
    test = gold.qualification(dataset)
    if status["status"] in ("passed", "failed"):
        return
    state = st.session_state.setdefault(f"{key}:{dataset.name}:{annotator}", {"sample_id": None, "shown_at": None})
    if state["sample_id"] is None:
        state.update(sample_id=gold.qualification_next(dataset, annotator), shown_at=time.time())
    st.subheader("Qualification test")
    st.caption(f"Before you get work in this queue, label {test['n_items']} test images. You pass with "
               f"{test['pass_mark']:.0%} right; you see your score at the end.")
    st.progress(status["answered"] / status["n_items"], text=f"{status['answered']} of {status['n_items']} answered")
    sample_id = state["sample_id"]
    if sample_id is None:
        return
    classes = store.classes(dataset, test["field"])
    filepath = dataset._sample_collection.find_one({"_id": ObjectId(sample_id)},
                                                   {"filepath": 1})["filepath"]
    left, right = st.columns([3, 2])
    left.image(str(thumbnails.thumbnail(filepath, thumbnails.Overlay(), size=thumbnails.DETAIL_SIZE)),
               width=thumbnails.DETAIL_SIZE, caption=f"test item {status['answered'] + 1}", output_format="PNG")
    with right:
        keys = lw.class_keys(dataset, classes)
        cols = st.columns(lw.button_columns(classes))
        for i, cls in enumerate(classes):
            cols[i % len(cols)].button(md(cls), key=f"{key}_{i}", shortcut=keys.get(cls), width="stretch",
                                       on_click=_answer_test, args=(dataset, annotator, state, cls))


def gate(dataset, queue: str, annotator: str, key: str = "qual") -> bool:
    """Whether ``annotator`` may label ``queue`` now; otherwise shows why (the test to take, the failed score,
    the pause and who can lift it) and returns False."""
    try:
        gold.check_access(dataset, lq.get_queue(dataset, queue), annotator)
        return True
    except gold.LabelerBlocked as blocked:
        status = gold.qualification_status(dataset, annotator)
        if gold.pause(dataset, annotator) is None and status["status"] in ("not taken", "in progress"):
            qualification_test(dataset, annotator, key)
            return False
        if status["status"] == "failed" and gold.pause(dataset, annotator) is None:
            st.error(md(f"Qualification test: {status['correct']} of {status['n_items']} right "
                        f"({status['score']:.0%}).") + " " + md(str(blocked)))
        else:
            st.error(md(str(blocked)))
        return False


def _mark_gold(dataset, sample_id: str, label, annotator: str, field: str) -> None:
    rw.apply(gold.set_gold, dataset, {sample_id: label}, annotator, field=field,
             success=f"Sample {sample_id} is now a gold item ({label}).")


def curator_controls(dataset, queue: str, annotator: str, current_sample: str | None, key: str = "gold") -> None:
    """Mark the current sample as gold, make the qualification test and set its pass mark, the queue's honeypot
    rate and qualification requirement, the pause threshold, and lift pauses."""
    definition = lq.get_queue(dataset, queue)
    field = definition["field"]
    classes = store.classes(dataset, field)
    items = gold.gold_items(dataset, field)
    st.caption(f"{len(items):,} gold item(s) in this dataset.")
    if current_sample and classes and definition["kind"] == "classification":
        a, b = st.columns([2, 1])
        label = a.selectbox("Gold answer for the sample on screen", classes, key=f"{key}_label_{current_sample}")
        b.button("Mark as gold", key=f"{key}_mark", on_click=_mark_gold,
                 args=(dataset, current_sample, label, annotator, field))
    test = gold.qualification(dataset)
    with st.form(f"{key}_test"):
        st.markdown("**Qualification test**" + (f" (now {test['n_items']} items, pass mark {test['pass_mark']:.0%})"
                                                 if test else " (none yet)"))
        a, b = st.columns(2)
        n_items = a.number_input("Test items", 1, max(1, len(items)), min(10, max(1, len(items))), key=f"{key}_n")
        pass_mark = b.slider("Pass mark", 0.0, 1.0, float(test["pass_mark"]) if test else 0.8, 0.05,
                             key=f"{key}_pass")
        if st.form_submit_button("Make the test" if not test else "Make a new test"):
            if rw.apply(gold.create_qualification, dataset, int(n_items), float(pass_mark), annotator, field=field,
                        success="Qualification test made."):
                st.rerun()
    if test and st.button("Apply the pass mark to the current test", key=f"{key}_apply_pass"):
        rw.apply(gold.set_pass_mark, dataset, float(pass_mark), annotator, success="Pass mark changed.")
    with st.form(f"{key}_queue"):
        st.markdown(f"**Queue {md(queue)}**")
        a, b, c = st.columns(3)
        rate = a.slider("Honeypot rate", 0.0, 0.5, float(definition.get("honeypot_rate") or 0.0), 0.01,
                        key=f"{key}_rate", help="share of items that are gold, mixed in unseen")
        required = b.checkbox("Requires the qualification", value=bool(definition.get("require_qualification")),
                              key=f"{key}_required")
        threshold = gold.pause_threshold(dataset)
        pause_below = c.slider("Pause below accuracy", 0.0, 1.0, float(threshold or 0.0), 0.05, key=f"{key}_pause",
                               help="0: never pause. A labeler is paused when the upper bound of the 95 % interval "
                                    "of their gold accuracy falls below this.")
        if st.form_submit_button("Save"):
            ok = rw.apply(lq.update_queue, dataset, queue, annotator, honeypot_rate=float(rate),
                          require_qualification=bool(required))
            if ok and rw.apply(gold.set_pause_threshold, dataset, float(pause_below) or None, annotator,
                               success="Saved."):
                st.rerun()
    paused = gold.gold_accuracy(dataset)
    paused = paused[paused["status"] == "paused"]
    for row in paused.itertuples():
        a, b = st.columns([3, 1])
        a.warning(md(f"{row.labeler} is paused: gold accuracy {row.accuracy:.0%} "
                     f"({row.low:.0%}–{row.high:.0%}, {row.answers} answers)."))
        b.button("Lift the pause", key=f"{key}_lift_{row.labeler}", on_click=rw.apply,
                 args=(gold.lift_pause, dataset, row.labeler, annotator),
                 kwargs={"success": f"{row.labeler} may label again."})


STATUS_COLOURS = {"ok": "#16a34a", "warning": "#f59e0b", "paused": "#dc2626"}


def gold_figure(frame, threshold: float | None) -> go.Figure:
    """Per labeler: gold (honeypot) accuracy with its 95 % Wilson interval, coloured by status; the pause line."""
    names = [str(n) for n in frame["labeler"]]
    acc = frame["accuracy"].to_numpy(dtype=float)
    fig = go.Figure([go.Bar(
        x=names, y=acc.tolist(), marker_color=[STATUS_COLOURS[s] for s in frame["status"]],
        error_y=dict(type="data", symmetric=False, array=(frame["high"].to_numpy(dtype=float) - acc).tolist(),
                     arrayminus=(acc - frame["low"].to_numpy(dtype=float)).tolist()),
        customdata=frame[["answers", "status"]].to_numpy().tolist(),
        hovertemplate="%{x}: %{y:.0%} of %{customdata[0]} gold answers (%{customdata[1]})<extra></extra>")])
    if threshold:
        fig.add_hline(y=threshold, line_dash="dash", line_color="#dc2626",
                      annotation_text=plot(f"pause below {threshold:.0%}"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10), xaxis=dict(title="labeler", type="category"),
                      yaxis=dict(title="gold accuracy", range=[0, 1.05], tickformat=".0%"),
                      title=dict(text="Gold accuracy per labeler (honeypots, 95 % interval)", font_size=13))
    return escape_figure(fig)


def gold_section(figures) -> None:
    """The Quality page's gold section: accuracy per labeler with its interval, warnings and pauses."""
    if figures.gold.empty:
        st.info("No honeypot answers yet. Mark samples as gold and give a queue a honeypot rate (Labeling page, "
                "curator controls): each labeler's accuracy on them shows here.")
        return
    st.plotly_chart(gold_figure(figures.gold, figures.pause_below), key="gold_accuracy")
    for row in figures.gold[figures.gold["status"] != "ok"].itertuples():
        (st.error if row.status == "paused" else st.warning)(md(
            f"{row.labeler}: gold accuracy {row.accuracy:.0%} ({row.low:.0%}–{row.high:.0%}, {row.answers} answers)"
            + (" — paused until a curator lifts it." if row.status == "paused" else " — below the pause threshold.")))
    st.dataframe(figures.gold, hide_index=True, column_config={
        "accuracy": st.column_config.NumberColumn(format="percent"),
        "low": st.column_config.NumberColumn("95 % low", format="percent"),
        "high": st.column_config.NumberColumn("95 % high", format="percent")})
