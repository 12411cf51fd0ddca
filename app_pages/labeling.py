"""Labeling: one sample at a time from a queue, classes on number keys; answers are blind and timed."""

import streamlit as st

from sda2.curation import queue as lq
from sda2.ui import labeling_widgets as lw
from sda2.ui import review_widgets as rw
from sda2.ui import roles
from sda2.ui import gold_widgets as gw, review_stage_widgets as rsw

context = st.session_state["context"]
dataset = context.dataset()
st.title("Labeling")
rw.show_messages()
if not lw.require_annotator(context):
    st.stop()

staff = roles.is_staff()  # team mode: a labeler labels and sees her own figures only (no others' answers)
names = lq.queue_names(dataset)
if staff:
    with st.expander("Create a queue", expanded=not names):
        lw.create_queue_form(dataset, context, select_key="labeling_queue")
if not names:
    st.info("No labeling queue yet: create one above (from the current view, a tag or a saved view)." if staff else
            "No labeling queue yet: a curator creates one for you.")
    st.stop()

if st.session_state.get("labeling_queue") not in names:  # e.g. deleted meanwhile
    st.session_state.pop("labeling_queue", None)
name = st.selectbox("Queue", names, key="labeling_queue")
if staff and rsw.mode(dataset, name) == "Review":  # reviewers accept or reject others' answers
    rsw.review_panel(dataset, name, context.annotator)
elif gw.gate(dataset, name, context.annotator):  # the qualification test first; nothing while paused
    rsw.rework_panel(dataset, name, context.annotator)
    lw.labeling_panel(dataset, name, context.annotator, context.prediction_field)
if staff:
    with st.expander("Gold items, qualification and honeypots (curator)"):
        on_screen = st.session_state.get(f"label:{dataset.name}:{name}:{context.annotator}", {}).get("sample_id")
        gw.curator_controls(dataset, name, context.annotator, on_screen)

with st.expander("Queue progress and labelers" if staff else "Queue progress and your answers"):
    lw.queue_overview(dataset, name, only=None if staff else context.annotator)
if staff:  # others' answers and the queue itself: not for a labeler in team mode
    with st.expander("Disagreements for adjudication"):
        lw.adjudication(dataset, name, context.annotator)
    with st.expander("Delete this queue"):
        st.caption("Deletes the queue and its items; labels already written and the answers given stay.")
        st.button("Delete queue", key="delete_queue", on_click=rw.apply, args=(lq.delete_queue, dataset, name),
                  kwargs={"success": f"Queue {name!r} deleted."})
