"""Label Errors: review suspected wrong labels one at a time, worst first; every decision is logged."""

import streamlit as st

import sda2
from sda2 import store
from sda2.compute.predictions import flag_trust
from sda2.curation import edits, queries
from sda2.ui import batch_accept, review_widgets as rw, run_status
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Label errors")
rw.show_messages()

if not queries.has_fields(dataset, queries.LABEL_ISSUE_FIELDS):
    rw.detection_empty_state(dataset, "label issues", "sda2.compute.label_issues", "detect_label_issues",
                             queries.LABEL_ISSUE_FIELDS, gt_field=context.label_field,
                             pred_field=context.prediction_field or "predictions")
    st.stop()

trust = flag_trust(dataset, context.label_field, context.prediction_field or "predictions")
rw.trust_header(trust)
run_status.stale_note(dataset, "is_label_issue", lambda: sda2.detect_label_issues(dataset, context.label_field, context.prediction_field or "predictions"))  # noqa: E501
rw.progress_metrics(queries.review_progress(dataset, context.label_field))
queue = queries.suspects_frame(queries.review_queue(context.view()), context.label_field, limit=50)
top, undo_col = st.columns([5, 1])
with undo_col:
    rw.undo_last_button(dataset, context.annotator)

if queue.empty:
    top.success("No suspects left to review here: every flagged sample has a decision.")
else:
    row = batch_accept.current_row(queue)  # the worst, or the suspect jumped to
    editable = context.label_kind == "classification"
    top.caption(f"Suspects ordered by expected benefit (most likely wrong first: label quality = the calibrated "
                f"chance the given label is right); {md(context.annotator)} deciding. Shortcuts: "
                "A accept · L set chosen label · K keep · U ambiguous · X exclude · Z undo last.")
    stored = queries.probabilities(dataset, [row["sample_id"]])
    rw.suspect_card(row, stored[0] if stored else None, stored[1][0] if stored else None)
    if not editable:
        st.caption("Multi-label and detection labels are edited from a notebook (sda2.set_label); "
                   "here you can keep, mark ambiguous or exclude.")

    def decide(decision, new_label, sample_id=row["sample_id"], shown=row["label"]):
        """Record the decision on the sample shown, against the label shown (a change meanwhile conflicts)."""
        rw.apply(edits.review, dataset, sample_id, decision, context.annotator, new_label=new_label,
                 expected_old=shown if editable else edits.UNSET, field=context.label_field,
                 success=f"{decision}: sample {sample_id}")

    suggestion_confidence = None
    if stored and row["suggested_label"] in stored[0]:
        suggestion_confidence = float(stored[1][0][stored[0].index(row["suggested_label"])])
    rw.decision_bar(store.classes(dataset, context.label_field), row, decide, editable,
                    suggestion_confidence=suggestion_confidence)
    with st.expander(f"Up next ({len(queue) - 1} more shown of the queue)"):
        batch_accept.jump_picker(queue)
        st.dataframe(queue.iloc[1:][["sample_id", "label", "suggested_label", "label_quality", "split"]],
                     hide_index=True)

if not queue.empty and context.label_kind == "classification":  # issue 12: accept the sure suggestions at once
    with st.expander("Accept the suggestions the model is sure of, in one batch"):
        batch_accept.batch_accept_panel(context)

with st.expander("Audit log"):
    rw.audit_browser(dataset)
