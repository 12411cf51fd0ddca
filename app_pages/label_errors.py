"""Label Errors: review suspected wrong labels one at a time, worst first; every decision is logged."""

import streamlit as st

from sda2 import store
from sda2.curation import edits, views
from sda2.ui import review_widgets as rw
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Label errors")
rw.show_messages()

if not views.has_fields(dataset, views.LABEL_ISSUE_FIELDS):
    rw.detection_empty_state(dataset, "label issues", "sda2.compute.label_issues", "detect_label_issues",
                             views.LABEL_ISSUE_FIELDS, gt_field=context.label_field,
                             pred_field=context.prediction_field or "predictions")
    st.stop()

rw.progress_metrics(views.review_progress(dataset, context.label_field))
queue = views.suspects_frame(views.review_queue(context.view()), context.label_field, limit=50)
top, undo_col = st.columns([5, 1])
with undo_col:
    rw.undo_last_button(dataset, context.annotator)

if queue.empty:
    top.success("No suspects left to review here: every flagged sample has a decision.")
else:
    row = queue.iloc[0]
    editable = context.label_kind == "classification"
    top.caption(f"Suspects ranked by label quality (lowest first); {md(context.annotator)} deciding. Shortcuts: "
                "A accept · L set chosen label · K keep · U ambiguous · X exclude · Z undo last.")
    stored = views.probabilities(dataset, [row["sample_id"]])
    rw.suspect_card(row, stored[0] if stored else None, stored[1][0] if stored else None)
    if not editable:
        st.caption("Multi-label and detection labels are edited from a notebook (sda2.set_label); "
                   "here you can keep, mark ambiguous or exclude.")

    def decide(decision, new_label, sample_id=row["sample_id"], shown=row["label"]):
        """Record the decision on the sample shown, against the label shown (a change meanwhile conflicts)."""
        rw.apply(edits.review, dataset, sample_id, decision, context.annotator, new_label=new_label,
                 expected_old=shown if editable else edits.UNSET, field=context.label_field,
                 success=f"{decision}: sample {sample_id}")

    rw.decision_bar(store.classes(dataset, context.label_field), row, decide, editable)
    with st.expander(f"Up next ({len(queue) - 1} more shown of the queue)"):
        st.dataframe(queue.iloc[1:][["sample_id", "label", "suggested_label", "label_quality", "split"]],
                     hide_index=True)

with st.expander("Audit log"):
    rw.audit_browser(dataset)
