"""Auto-labeling: the model labels what it is sure of (per-class thresholds), people label the rest,
and a spot check measures how right the auto-labels are."""

import streamlit as st

from sda2.curation import autolabel as al
from sda2.curation import queue as lq
from sda2.ui import labeling_widgets as lw
from sda2.ui import review_widgets as rw
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Auto-labeling")
rw.show_messages()

if context.label_kind != "classification":
    st.info(f"Auto-labeling works on single-class labels; {md(repr(context.label_field))} holds {context.label_kind} "
            "labels. Pick a classification label field in the sidebar.")
    st.stop()
if not context.prediction_field:
    st.info("Pick a prediction field in the sidebar: auto-labels are the model's predictions.")
    st.stop()
thresholds = al.load_thresholds(dataset)
if not thresholds:
    st.info("No per-class confidence thresholds are saved for this dataset yet. Choose them on the Evaluation "
            "page (they are stored with the dataset), then come back.")
    st.stop()

scope = st.radio("Auto-label", al.SCOPES, horizontal=True, key="autolabel_scope",
                 format_func={"unlabeled": "unlabeled samples only", "all": "all samples (may change labels)"}.get)
preview = al.preview(context.view(), context.prediction_field, context.label_field, scope)
a, b, c = st.columns(3)
a.metric("Would be auto-labeled", f"{int(preview['would_label'].sum()):,}")
b.metric("Left for people", f"{int(preview['below_threshold'].sum()):,}")
overall = al.overall_precision(preview)
c.metric("Expected precision", "n/a" if overall is None else f"{overall:.1%}",
         help="measured on samples people labeled, all classes pooled")
st.plotly_chart(lw.autolabel_figure(preview), key="autolabel_preview")
st.dataframe(preview, hide_index=True, key="autolabel_table", column_config={
    c: st.column_config.NumberColumn(format="percent") for c in ("expected_precision", "precision_low",
                                                                  "precision_high")})

if lw.require_annotator(context):
    with st.form("autolabel_apply"):
        queue_name = st.text_input("Queue for the rest", key="autolabel_queue", placeholder="e.g. after-auto-1")
        apply = st.form_submit_button("Apply auto-labels", type="primary")
    if apply:
        with st.spinner("Writing auto-labels…"):
            ok = rw.apply(al.apply, context.view(), context.prediction_field, context.label_field, scope,
                          annotator=al.ANNOTATOR, queue_name=queue_name.strip() or None, success="Auto-labels written.")
        if ok:
            st.rerun()

    done = al.batches(dataset, context.label_field)
    if not done.empty:
        st.subheader("Applied batches")
        st.dataframe(done, hide_index=True, key="autolabel_batches")
        live = done[~done["undone"]]
        if not live.empty:
            batch = st.selectbox("Batch", live["batch_id"], key="autolabel_batch")
            left, right = st.columns(2)
            right.button("Undo this batch", key="autolabel_undo", on_click=rw.apply,
                         args=(al.undo, dataset, batch, context.annotator), kwargs={"success": "Batch undone."})
            with left.form("spot_check"):
                name = st.text_input("Spot-check queue name", key="spot_name", placeholder="e.g. check-1")
                per_class = st.number_input("Samples per class", 1, 500, 10, key="spot_per_class")
                if st.form_submit_button("Create spot check"):
                    rw.apply(al.create_spot_check, dataset, name, int(per_class), batch, gt_field=context.label_field,
                             created_by=context.annotator, success=f"Spot-check queue {name!r} created.")
                    st.rerun()

    checks = lq.queue_names(dataset, mode="review")
    if checks:
        st.subheader("Spot check")
        check = st.selectbox("Spot-check queue", checks, key="spot_queue")
        lw.labeling_panel(dataset, check, context.annotator, key="spot")
        report = al.spot_check_report(dataset, check)
        st.plotly_chart(lw.spot_check_figure(report), key="spot_figure")
        st.dataframe(report, hide_index=True, key="spot_table", column_config={
            c: st.column_config.NumberColumn(format="percent") for c in ("observed_precision", "precision_low",
                                                                          "precision_high", "expected_precision")})
