"""Labeling quality: do the labelers agree, how fast and how well does each work, and what needs adjudication?

Blind labeling holds here too: the person named in the sidebar never sees other labelers' answers on samples
still open in a labeling queue, and the adjudication list holds only samples they did not answer (curators,
named in SDA2_CURATORS, see everything)."""

import streamlit as st

from sda2.explore import labeler_quality, team_figures
from sda2.analysis.agreement import landis_koch
from sda2.ui import consensus_widgets as cw, gold_widgets as gw, quality_figures as qf, review_stage_widgets as rsw
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Labeling quality")

viewer = context.annotator
curator = labeler_quality.is_curator(viewer)
everything = labeler_quality.annotation_records(dataset)
records = labeler_quality.visible_records(dataset, everything, viewer, curator)
if records.empty and not everything.empty:
    st.info(f"{len(everything):,} answer(s) are recorded, all on samples still open in a labeling queue: blind "
            f"labeling keeps them from {md(viewer) if viewer else 'you'} until those samples are done. Curators (named in SDA2_CURATORS) "
            "see them.")
    st.stop()
if records.empty:
    st.info(f"No labels have been recorded for **{md(context.dataset_name)}** yet, so there is nothing to measure. "
            "Open the **Labeling** page, build a queue with two or more labelers per sample (the overlap is what "
            "agreement is measured on), and label under your name from the sidebar; each labeler does the same. "
            "This page then shows how well the labelers agree, how fast each one works, and which samples they "
            "disagree on. From a notebook: `sda2.curation.queue.create_queue(…, labels_per_sample=2)` and "
            "`submit(…)`.")
    st.stop()

queues = sorted(str(q) for q in records["queue"].dropna().unique())
queue = None
if len(queues) > 1:
    picked = st.selectbox("Queue", ["all queues"] + queues, key="quality_queue")
    queue = None if picked == "all queues" else picked
report = labeler_quality.agreement_report(dataset, queue=queue, field=context.label_field, annotations=records,
                                  viewer=viewer, curator=curator)
efficiency = labeler_quality.efficiency_report(dataset, queue=queue, field=context.label_field, annotations=records)
hidden = len(everything) - len(records)
if hidden:
    st.caption(f"Blind labeling: {hidden:,} answer(s) of other labelers on samples still open in a labeling queue "
               f"are not shown to {md(viewer)}. They count here once those samples are done.")

columns = st.columns(5)
columns[0].metric("Fleiss' κ", "—" if report.fleiss.samples == 0 else f"{report.fleiss.kappa:.2f}",
                  help="Agreement beyond chance on the samples with the most common number of labelers "
                       "(1 = perfect, 0 = chance).")
columns[1].metric("Krippendorff's α", "—" if report.multi_rated == 0 else f"{report.alpha:.2f}",
                  help="Agreement beyond chance on every sample with 2+ labels (nominal; missing labels allowed).")
columns[2].metric("Labelers", len(report.annotators))
columns[3].metric("Samples labeled by 2+", f"{report.multi_rated:,}", help=f"of {report.samples:,} labeled samples")
columns[4].metric("Answers", f"{report.annotations:,}")

band = landis_koch(report.alpha)
show = st.success if band in ("substantial", "almost perfect") else st.warning if band == "moderate" else st.error
(st.info if report.multi_rated == 0 else show)(report.summary())  # numbers only (the empty case stopped above)
if report.model_weighted:
    st.caption("The weighted consensus uses each labeler's estimated accuracy and the model's probabilities as prior.")

agreement_tab, labelers_tab, time_tab, classes_tab, adjudication_tab = st.tabs(
    ["Agreement", "Labelers", "Over time", "Classes", f"Adjudication ({len(report.adjudication)})"])

with agreement_tab:
    if report.pairwise.empty:
        st.info("No two labelers have labeled the same sample yet: pairwise agreement needs overlap.")
    else:
        st.subheader("Cohen's κ for every pair of labelers")
        st.plotly_chart(qf.kappa_heatmap(report.kappa_matrix, report.pairwise), key="kappa_heatmap")
        st.subheader("How many labelers agreed on each sample")
        st.plotly_chart(qf.agreement_levels(report.consensus), key="agreement_levels")

with labelers_tab:
    st.plotly_chart(qf.labeler_bars(efficiency.labelers, report.labelers), key="labeler_bars")
    st.caption("Agreement: share of a labeler's answers equal to the majority of the other labelers on that sample. "
               "Estimated accuracy: Dawid–Skene estimate of how often the labeler is right. Labels per hour count "
               "time on task (each label at most 5 minutes).")
    st.dataframe(qf.labeler_table(efficiency.labelers, report.labelers), hide_index=True)

with time_tab:
    metric = st.segmented_control("Show", list(qf.OVER_TIME), default="labels_per_hour", key="quality_metric",
                                  format_func=lambda m: qf.OVER_TIME[m][0])
    st.plotly_chart(qf.over_time_lines(efficiency.over_time, metric or "labels_per_hour", efficiency.every),
                    key="over_time")

with classes_tab:
    st.subheader("Agreement per class")
    st.plotly_chart(qf.class_agreement_bars(report.per_class), key="class_agreement")
    st.subheader("Time per class")
    st.plotly_chart(qf.class_time_bars(efficiency.per_class), key="class_time")

with adjudication_tab:
    if not curator and not viewer:
        st.info("Adjudication shows every labeler's answers side by side. Type your name in the sidebar: you see "
                "the disputed samples you did not label yourself (adjudication is a separate role).")
    elif report.adjudication.empty and not curator:
        st.success("Nothing for you to adjudicate: the labelers agree, or the disputed samples are ones you answered "
                   "yourself or that are still open in a queue (someone else settles those).")
    elif report.adjudication.empty:
        st.success("The labelers agree on every sample they share: nothing to adjudicate.")
    else:
        st.caption("Samples the labelers disagree on, most disagreement first. The badge is the weighted vote.")
        qf.adjudication_gallery(report.adjudication)
        table = qf.adjudication_table(report.adjudication)
        st.dataframe(table, hide_index=True)
        st.download_button("Download the list (CSV)", table.to_csv(index=False), file_name="adjudication.csv",
                           key="adjudication_csv")

st.header("Gold items and the review stage")  # the figures a client asks for: gold accuracy, reviewed, rejected
team = team_figures.team_figures(dataset)
gold_tab, review_tab = st.tabs(["Gold accuracy", "Review stage"])
with gold_tab:
    gw.gold_section(team)
with review_tab:
    rsw.review_section(team)

st.header("Consensus and plan")  # aggregation method, labelers' estimated accuracy, the cheapest plan for a target
cw.consensus_section(records, dataset=dataset, pred_field=context.prediction_field)
