"""Labeling: one sample at a time from a queue, classes on number keys; answers are blind and timed."""

import streamlit as st

from sda2.curation import queue as lq
from sda2.ui import labeling_widgets as lw
from sda2.ui import review_widgets as rw

context = st.session_state["context"]
dataset = context.dataset()
st.title("Labeling")
rw.show_messages()
if not lw.require_annotator(context):
    st.stop()

names = lq.queue_names(dataset)
with st.expander("Create a queue", expanded=not names):
    lw.create_queue_form(dataset, context, select_key="labeling_queue")
if not names:
    st.info("No labeling queue yet: create one above (from the current view, a tag or a saved view).")
    st.stop()

if st.session_state.get("labeling_queue") not in names:  # e.g. deleted meanwhile
    st.session_state.pop("labeling_queue", None)
name = st.selectbox("Queue", names, key="labeling_queue")
lw.labeling_panel(dataset, name, context.annotator, context.prediction_field)

with st.expander("Queue progress and labelers"):
    lw.queue_overview(dataset, name)
with st.expander("Disagreements for adjudication"):
    lw.adjudication(dataset, name, context.annotator)
with st.expander("Delete this queue"):
    st.caption("Deletes the queue and its items; labels already written and the answers given stay.")
    st.button("Delete queue", key="delete_queue", on_click=rw.apply, args=(lq.delete_queue, dataset, name),
              kwargs={"success": f"Queue {name!r} deleted."})
