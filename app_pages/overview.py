"""Overview: what is in the dataset — samples, classes, splits, label distribution, balance, tags, boxes."""

import math

import streamlit as st

from sda2.explore import overview
from sda2.analysis.distribution import compare_distributions, describe_shift
from sda2.ui import overview_figures as figs
from sda2.ui.safe_text import md


@st.cache_data(show_spinner="Counting labels…", max_entries=32)
def cached_overview(name, field, prediction_field, split, version):
    """The page's data; ``version`` (name, count, last modification) makes any edit recompute it at once."""
    return overview.dataset_overview(name, field, prediction_field, split)


context = st.session_state["context"]
name, field, pred_field = context.dataset_name, context.label_field, context.prediction_field
ov = cached_overview(name, field, pred_field, context.split, overview.cache_key(name))
unit = "boxes" if ov.kind == "detection" else "samples"
what = {"classification": "classes", "multilabel": "tags", "detection": "box classes"}[ov.kind]
axis = "tag" if ov.kind == "multilabel" else "class"

st.title(f"Overview of {md(name)}")
scope = f"split {md(repr(context.split))}" if context.split else "all splits"
st.caption(f"Label field {md(repr(field))} ({ov.kind}) · {scope}"
           + (f" · predictions from {md(repr(pred_field))}" if pred_field else ""))

if ov.num_samples == 0:
    st.info("This view holds no samples. Pick another split in the sidebar, or import data with `sda2 ingest`.")
    st.stop()

splits = ov.split_counts
cols = st.columns(5)
cols[0].metric("Samples", f"{ov.num_samples:,}")
cols[1].metric(what.capitalize(), f"{ov.num_classes:,}")
cols[2].metric("Splits", f"{len(splits):,}", help=" · ".join(f"{md(s)}: {c:,}" for s, c in splits.items()))
ratio = ov.imbalance.ratio
cols[3].metric("Imbalance", "∞" if ratio == float("inf") else f"{ratio:,.1f} : 1",
               help=f"Largest : smallest class — {md(repr(ov.imbalance.largest))} {ov.imbalance.largest_count:,} vs "
                    f"{md(repr(ov.imbalance.smallest))} {ov.imbalance.smallest_count:,} {unit}")
no_label = {"classification": "Unlabeled samples", "multilabel": "Samples without tags",
            "detection": "Images without boxes"}[ov.kind]
cols[4].metric(no_label, f"{ov.unlabeled:,}",
               help=f"{100 * ov.unlabeled / max(ov.num_samples, 1):.1f}% of the samples")
if len(splits) > 1:
    st.caption("Split sizes: " + " · ".join(f"**{md(s)}** {c:,} ({100 * c / max(ov.num_samples, 1):.1f}%)"
                                          for s, c in splits.items()))

if ov.imbalance.is_severe:
    st.warning(md(ov.imbalance.message), icon="⚠️")
elif ov.imbalance.severity == "moderate":
    st.info(md(ov.imbalance.message))
else:
    st.caption(md(ov.imbalance.message))

heading = {"classification": "Class distribution", "multilabel": "Tag frequency",
           "detection": "Boxes per class"}[ov.kind]
st.subheader(heading)
left, right = st.columns(2)
sort = left.segmented_control(f"Sort {what}", ["by count", "by name"], default="by count", key="overview_sort")
measure = right.segmented_control("Bar height", ["count", "% of split"], default="count",
                                  key="overview_measure", help="Percent makes splits of different sizes comparable.")
sort = "name" if sort == "by name" else "count"
measure = "percent" if measure == "% of split" else "count"
percent_of = "samples carrying the tag" if ov.kind == "multilabel" else unit
st.plotly_chart(figs.distribution_bars(ov.distribution, sort, measure, unit, list(splits), axis),
                key="class_distribution")
with st.expander("As a table"):
    table = ov.distribution.pivot_table(index="label", columns="split", values=["count", "percent"], fill_value=0)
    st.dataframe(table.style.format("{:,.1f}", subset="percent").format("{:,.0f}", subset="count"))
    st.download_button("Download CSV", ov.distribution.to_csv(index=False),
                       file_name=f"{name}_{field}_distribution.csv", key="download_distribution")
st.caption(f"Percent is the share of each split's {percent_of}.")

if pred_field and ov.prediction_overall is not None:
    st.subheader(f"Ground truth vs {md(pred_field)}")
    comparison = compare_distributions(ov.overall, ov.prediction_overall)
    st.plotly_chart(figs.truth_vs_predictions(comparison, sort, pred_field, unit, axis),
                    key="truth_vs_predictions")
    st.caption(md(describe_shift(comparison)))

if ov.kind == "multilabel":
    st.subheader("Tags that occur together")
    left, right = st.columns([3, 2])
    left.plotly_chart(figs.cooccurrence_heatmap(ov.cooccurrence), key="cooccurrence")
    left.caption("Read a row: of the samples with that tag, the share that also carry each column's tag. "
                 "The diagonal is each tag's own count.")
    right.plotly_chart(figs.count_bars(ov.tags_per_sample, "tags per sample", "samples"), key="tags_per_sample")

if ov.kind == "detection":
    s = ov.box_summary
    st.subheader("Boxes")
    cols = st.columns(4)
    cols[0].metric("Boxes", f"{s.boxes:,}")
    cols[1].metric("Boxes per image", f"{s.boxes_per_image_mean:.2f}", help=f"at most {s.boxes_per_image_max:,}")
    sized = not math.isnan(s.median_size_px)  # False when the images' sizes are unknown
    cols[2].metric("Median box size",
                   f"{s.median_size_px:.0f} px" if sized else f"{s.median_rel_area ** 0.5:.0%} of side")
    cols[3].metric("Small boxes (< 32 px)", f"{s.small_share:.1%}" if sized else "n/a",
                   help=None if sized else "The images' sizes are unknown, so pixel sizes are too.")
    left, middle, right = st.columns(3)
    left.plotly_chart(figs.count_bars(ov.boxes_per_image, "boxes per image", "images"), key="boxes_per_image")
    middle.plotly_chart(figs.box_size_histogram(ov.box_geometry), key="box_size")
    right.plotly_chart(figs.box_aspect_histogram(ov.box_geometry), key="box_aspect")
