"""Evaluation: how good the predictions are, where they fail, and from what confidence to trust them."""

import plotly.graph_objects as go
import streamlit as st

from sda2.explore import browse, evaluation
from sda2.compute.embeddings import default_model
from sda2.compute.predictions import (compute_predictions, import_predictions_file, prediction_record,
                                      recommended_pipeline)
from sda2.ui import bulk_widgets, evaluation_figures as figs, run_status, sample_grid
from sda2.ui.safe_text import escape_figure, md, plot, unplot
from sda2.ui.table_height import table_height

GRID = 24  # images shown for a confusion cell
NAME_FIRST = "Type your name in the sidebar to save thresholds: every save is audited with who made it."

context = st.session_state["context"]
name, gt_field = context.dataset_name, context.label_field
pred_field = context.prediction_field or "predictions"
st.title(f"Evaluation of {md(name)}")

if context.label_kind == "detection":
    st.info(f"{md(repr(gt_field))} holds detections. This page evaluates classification and multi-label fields; for boxes "
            "use FiftyOne's `dataset.evaluate_detections` in a notebook.")
    st.stop()


def import_box() -> None:
    """Upload a file of the user's own model's probabilities and import it through import_predictions."""
    with st.expander("Import your own model's predictions"):
        st.caption("A .csv with an 'id' (sample id) or 'filepath' column and one column per class, or a .npy of "
                   "shape samples × classes, one row per sample in the dataset's order (dataset.values('id')) "
                   "and columns in class order. Values are probabilities, or raw scores with the box ticked.")
        upload = st.file_uploader("Predictions file", type=["csv", "npy"], key="predictions_upload")
        logits = st.checkbox("The values are logits (raw scores)", key="predictions_logits")
        if upload is not None and st.button("Import predictions", key="import_predictions"):
            try:
                report = import_predictions_file(name, upload.name, upload.getvalue(), logits=logits,
                                                 gt_field=gt_field, pred_field=pred_field)
            except (ValueError, KeyError) as exc:
                st.error(md(f"Could not import {upload.name}: {exc}"))
                return
            st.session_state["predictions_message"] = report.summary()
            st.rerun()


def run_report() -> None:
    """The outcome of the last compute/import (kept over the rerun) and the stored record's exclusions and notes."""
    message = st.session_state.pop("predictions_message", None)
    if message:
        st.success(md(message))
    record = prediction_record(name, pred_field)
    excluded = record.get("excluded") or []
    if excluded:
        st.warning(md(f"{len(excluded):,} samples could not be embedded and were left out of training and "
                      "prediction. Fix: replace or remove those files, then compute embeddings and predictions again."))
        st.dataframe({"sample_id": [e["sample_id"] for e in excluded], "filepath": [e["filepath"] for e in excluded],
                      "reason": [e["reason"] for e in excluded]}, hide_index=True, key="excluded_samples")
    for note in record.get("notes") or []:
        st.caption(md(note))
    if record.get("pipeline"):
        frozen = record.get("frozen_classifier") or {}
        classifier = (f"a logistic regression (C {frozen['C']}, chosen by out-of-fold log-loss) on "
                      f"{frozen['dims']} dimensions of {record.get('embeddings')}" if "C" in frozen
                      else f"a classifier on {record.get('embeddings')}")
        made = (f"fine-tuned EfficientNet-Lite0 at {record.get('input_size')} px, {record.get('epochs')} epochs"
                if record["pipeline"] == "finetune" else classifier
                + (" with nearest-neighbour label agreement" if record["pipeline"].startswith("frozen_knn") else "")
                + (f", fused with one on {record.get('second_embeddings')} and nearest-neighbour label agreement"
                   if record["pipeline"] == "two_backbones" else "")
                + (f" and a small CNN on the {record.get('small_cnn_input_size')} px images"
                   if record["pipeline"] == "frozen_knn_cnn" else ""))
        accuracy = f", out-of-fold accuracy {record['accuracy']:.1%}" if record.get("accuracy") is not None else ""
        st.caption(md(f"Predictions by the {record['pipeline']} model ({made}, {record.get('folds')} folds, "
                      f"{record.get('seconds', 0):,.0f} s{accuracy}); {record.get('chosen_because', '')}."))


if not evaluation.has_predictions(name, pred_field):
    st.info(f"{md(repr(name))} has no predictions yet. Compute out-of-fold predictions: every sample is predicted by a "
            "model (logistic regression on image embeddings, 5 folds) that never saw its label, calibrated by "
            "temperature scaling. If the dataset has no embeddings, they are computed first: raw pixels for tiny images, "
            "EfficientNet-Lite2 features for colour photos (Lite0 beyond 30,000 of them on a CPU), EfficientNet-Lite0 "
            "for gray images (here: "
            f"{default_model(name)}; about 1-1.3 min per 3,000 images on a 2-core CPU). Or import your own model's "
            "predictions below.")
    best = recommended_pipeline(name, gt_field)[0]
    choices = {None: f"Recommended for this machine ({best})",
               "frozen": "Frozen features: a classifier on image embeddings (fast preview, minutes on CPU)",
               "frozen_knn": "Frozen features + kNN label agreement on the same embeddings (more accurate; the "
                             "neighbour search takes about 2 min on 50,000 images)",
               "frozen_knn_cnn": "Frozen features + kNN + a small CNN trained here (small images: the most accurate "
                                 "on CPU, about 1.5 min more per 10,000 images)",
               "two_backbones": "Two backbones: classifiers on EfficientNet-Lite0 and -Lite2 embeddings + kNN (the "
                                "most accurate on CPU for photos: 83.2 % against 80.7 % on CIFAR-10N; about twice "
                                "the time, 34 min for 50,000 photos on 2 cores)",
               "finetune": "Fine-tune EfficientNet-Lite0 per fold (with a GPU; about 5 minutes on CPU)",
               "fused": "Fused: fine-tuned + frozen features + kNN label agreement (the most accurate, slowest)"}
    chosen = st.radio("Model", list(choices), format_func=lambda c: md(choices[c]), key="predictions_model")
    if st.button("Compute predictions", key="compute_predictions", type="primary"):
        with st.status(f"Computing out-of-fold predictions ({chosen or best})…", expanded=True) as box:
            bar = st.progress(0.0, text="Starting…")
            try:
                report = compute_predictions(name, gt_field=gt_field, model=chosen,
                                             progress=lambda p: bar.progress(p.fraction, text=md(p.text)))
            except (ValueError, KeyError) as exc:
                box.update(label="Could not compute predictions", state="error")
                st.error(md(str(exc)))
                st.stop()
            box.update(label=md(report.summary()), state="complete")
        st.session_state["predictions_message"] = report.summary()
        st.rerun()
    run_report()
    import_box()
    st.stop()

run_report()
run_status.stale_note(name, pred_field, lambda: compute_predictions(name, gt_field=gt_field, pred_field=pred_field))
import_box()

ev = evaluation.evaluate(name, pred_field, gt_field, context.split)
evaluated = ev.evaluated
st.caption(f"{md(repr(pred_field))} against {md(repr(gt_field))}"
           f"{' on split ' + md(repr(context.split)) if context.split else ''}: "
           f"{len(evaluated):,} of {len(ev.frame):,} samples have both.")

cols = st.columns(4)
if ev.kind == "classification":
    cols[0].metric("Accuracy", f"{ev.accuracy:.1%}")
    cols[1].metric("Macro F1", f"{ev.summary['macro_f1']:.3f}")
else:
    cols[0].metric("Subset accuracy", f"{ev.accuracy:.1%}", help="Share of samples whose predicted tag set is exact.")
    cols[1].metric("Hamming loss", f"{ev.summary['hamming_loss']:.3f}", help="Share of wrong tag decisions.")
cols[2].metric("Samples evaluated", f"{len(evaluated):,}")
cols[3].metric("Errors", f"{int((~evaluated['correct']).sum()):,}")

st.subheader("Per class" if ev.kind == "classification" else "Per tag")
left, right = st.columns([2, 3])
left.dataframe(ev.per_class.style.format({"precision": "{:.3f}", "recall": "{:.3f}", "f1": "{:.3f}"}),
               height=table_height(len(ev.per_class), 380))
right.plotly_chart(figs.per_class_bars(ev.per_class), key="per_class")

if ev.kind == "classification":
    st.subheader("Confusion matrix")
    left, right = st.columns([3, 2])
    with left:
        event = st.plotly_chart(figs.confusion_heatmap(ev.confusion), key="confusion", on_select="rerun",
                                selection_mode="points")
    points = event.selection.points if event else []
    clicked = tuple(str(unplot(points[0][axis], ev.classes)) for axis in ("y", "x")) if points else None
    if clicked and st.session_state.get("cm_applied") != clicked:  # a new click wins over the selectboxes
        st.session_state["cm_applied"] = clicked
        st.session_state["cm_true"], st.session_state["cm_pred"] = clicked
    top = ev.top_confusions(10)
    with right:
        st.markdown("**Top confusions**")
        st.markdown("\n".join(f"- {md(t)}" for t in top["text"]) or "No mistakes.")
        default = (str(top["true"].iloc[0]), str(top["predicted"].iloc[0])) if len(top) else (ev.classes[0],) * 2
        st.session_state.setdefault("cm_true", default[0])
        st.session_state.setdefault("cm_pred", default[1])
        st.caption("Click a cell of the matrix, or pick one here:")
        a, b = st.columns(2)
        true_cls = a.selectbox("True class", ev.classes, key="cm_true")
        pred_cls = b.selectbox("Predicted class", ev.classes, key="cm_pred")
    cell = ev.samples(true_cls, pred_cls)
    st.markdown(f"**{len(cell):,} samples of {md(true_cls)} predicted as {md(pred_cls)}**"
                + (f" (the {GRID} most confident shown)" if len(cell) > GRID else ""))
    if len(cell):  # sharp, labeled thumbnails (given label top, prediction bottom); a tile's button opens it
        shown = browse.page_rows(context.dataset().select(list(cell["id"].head(GRID)), ordered=True), gt_field,
                                 pred_field, limit=GRID)
        sample_grid.sample_grid(shown, sort_by="confidence", key="cm", selectable=False)
        opened = st.session_state.get(sample_grid.SELECTED)
        if opened in set(shown["id"]):
            with st.container(border=True, key="cm_detail"):
                sample_grid.sample_detail(context, shown, opened)
    bulk_widgets.action_bar(context, list(cell["id"]), key="cm_bulk", what=f"{true_cls} → {pred_cls}")

calibration = prediction_record(name, pred_field).get("calibration")
if ev.kind == "classification" and calibration and calibration.get("bins_after"):
    st.subheader("Calibration")
    c1, c2, c3 = st.columns(3)
    c1.metric("Calibration error before", f"{calibration['ece_before']:.3f}",
              help="Expected calibration error of the raw out-of-fold probabilities.")
    c2.metric("Calibration error after", f"{calibration['ece_after']:.3f}",
              help="After temperature scaling, fitted on the other half of the labeled samples (nested split).")
    c3.metric("Temperature", f"{calibration['temperature']:.2f}",
              help="> 1 softens an overconfident model; < 1 sharpens an underconfident one, at most to "
                   f"{calibration.get('min_temperature', 0):.2f}.")
    fits = calibration.get("fitted_temperatures") or [calibration["temperature"]]
    fitted = sum(fits) / len(fits)
    if fitted < calibration["temperature"] - 1e-6:
        st.caption(f"The fit asked to sharpen to temperature {fitted:.2f}; sharpening stops at "
                   f"{calibration['min_temperature']:.2f}, so that the few wrong predictions the model is surest "
                   "of stay below 99 % confidence. That costs a little calibration error on the right ones.")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line=dict(dash="dot", color="#888")))
    for which, label in (("bins_before", "before"), ("bins_after", "after")):
        bins = calibration[which]
        keep = [i for i, n in enumerate(bins["counts"]) if n]
        fig.add_trace(go.Scatter(x=[bins["confidence"][i] for i in keep], y=[bins["accuracy"][i] for i in keep],
                                 mode="lines+markers", name=f"{label} calibration",
                                 customdata=[bins["counts"][i] for i in keep],
                                 hovertemplate="confidence %{x:.2f}: accuracy %{y:.2f} (%{customdata} samples)"))
    fig.update_layout(title="Reliability diagram (out-of-fold)", xaxis_title="confidence", yaxis_title="accuracy",
                      height=360, xaxis=dict(range=[0, 1]), yaxis=dict(range=[0, 1]))
    st.plotly_chart(escape_figure(fig), key="reliability")

st.subheader("Failure analysis")
choices = evaluation.failure_fields(name)
by = st.selectbox("Error rate by", choices, index=choices.index("split") if "split" in choices else 0,
                  key="failure_field", help="A field, a label field (per class), 'tags' or one tag name.")
rates = evaluation.failure_by(name, by, pred_field, gt_field, context.split)
left, right = st.columns([3, 2])
left.plotly_chart(figs.failure_bars(rates.head(40), f"Error rate by {plot(by)} (95% Wilson interval), worst first"),
                  key="failure")
right.dataframe(rates.style.format({"error_rate": "{:.1%}", "ci_low": "{:.1%}", "ci_high": "{:.1%}"}),
                hide_index=True)

st.subheader("Confidence thresholds")
if ev.kind != "classification":
    st.info("Thresholds are set per class on single-label predictions.")
    st.stop()
saved = evaluation.load_thresholds(name)
a, b = st.columns(2)
cls = a.selectbox("Class", ev.classes, key="threshold_class")
target = b.slider("Target precision", 0.50, 1.00, 0.95, 0.01, key="target_precision")
choice = ev.lowest_threshold(cls, target)
left, right = st.columns([3, 2])
left.plotly_chart(figs.threshold_curves(ev.threshold_curve(cls), cls, choice.threshold, target), key="thresholds")
with right:
    if choice.threshold is None:
        st.warning(md(choice.summary()))
    else:
        st.metric("Threshold found", f"{choice.threshold:.3f}")
        m1, m2 = st.columns(2)
        m1.metric("Accepted", f"{choice.accepted:,}", help=f"Predicted {md(cls)} with confidence ≥ threshold.")
        m2.metric("Rejected", f"{choice.rejected:,}", help=f"Predicted {md(cls)} below the threshold.")
        st.caption(md(choice.summary()))
        if st.button(f"Save threshold for {md(cls)}", key="save_threshold", type="primary",
                     disabled=not context.annotator, help=None if context.annotator else NAME_FIRST):
            saved = evaluation.save_thresholds(name, {cls: choice.threshold}, gt_field, annotator=context.annotator)
            st.success(f"Saved: {md(cls)} ≥ {choice.threshold:.3f}.")
    if not context.annotator:
        st.caption(NAME_FIRST)
    if st.button(f"Save thresholds for all classes at {target:.0%} precision", key="save_all_thresholds",
                 disabled=not context.annotator):
        found = ev.thresholds_for_precision(target)["threshold"].dropna()
        saved = evaluation.save_thresholds(name, found.to_dict(), gt_field, annotator=context.annotator)
        st.success(f"Saved thresholds for {len(found)} classes.")
    st.markdown("**Saved thresholds** (used by auto-labeling)")
    if saved:
        st.dataframe({"class": list(saved), "threshold": list(saved.values())}, hide_index=True)
    else:
        st.caption("None saved yet.")
