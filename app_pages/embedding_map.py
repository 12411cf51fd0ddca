"""Embedding map: the dataset's embeddings in 2-D; select a cluster with box or lasso, look at it, keep it."""

import streamlit as st

from sda2.compute import projection
from sda2.curation import saved_views
from sda2.compute.embeddings import compute_embeddings, default_model
from sda2.ui import bulk_widgets, map_figures, run_status
from sda2.ui.progress import ProgressBar
from sda2.ui.safe_text import md

context = st.session_state["context"]
st.title("Embedding map")
keys = projection.embedding_keys(context.dataset_name)

if not keys:
    model = default_model(context.dataset_name)
    what = {"pixels": "raw-pixel embeddings (best for tiny images such as these)",
            "effnet_lite0": "EfficientNet-Lite0 image embeddings (best for gray images; about 1 min per 3,000 images "
                            "on a 2-core CPU)",
            "effnet_lite2": "EfficientNet-Lite2 image embeddings (best for colour photos; about 1.3 min per 3,000 "
                            "images on a 2-core CPU)"}
    st.info(f"This dataset has no embeddings yet. Compute {what[model]} and their UMAP map here, or bring your own "
            "model's embeddings in a notebook with `sda2.import_embeddings`.")
    label = "Compute pixel embeddings and the map" if model == "pixels" else "Compute image embeddings and the map"
    if st.button(label, key="map_compute", type="primary"):
        n = context.dataset().count()
        st.caption("Embedding the images")
        bar = ProgressBar("pixel embeddings" if model == "pixels" else f"{model} embeddings", n)
        compute_embeddings(context.dataset_name, model=model,
                           batch_size=max(16, min(1024, n // 20)) if model == "pixels" else None, progress=bar)
        embed_s, estimated = bar.done(), bar.first_estimate
        st.caption("Laying out the map (the first map a server makes also compiles UMAP)")
        bar = ProgressBar("umap map", n, unit="points")
        projection.compute_map(context.dataset_name, progress=bar)
        st.session_state["map_progress_note"] = (
            f"{'Pixel' if model == 'pixels' else 'EfficientNet-' + model.removeprefix('effnet_').title()} embeddings "
            f"of {n:,} images took {embed_s:,.1f} s"
            + (f" (estimated: {estimated})" if estimated else "")
            + f"; the map took {bar.done():,.1f} s.")
        st.rerun()
    st.stop()

if "map_progress_note" in st.session_state:
    st.caption(md(st.session_state.pop("map_progress_note")))
controls = st.columns([1, 1, 2])
key = controls[0].selectbox("Embeddings", keys, key="map_embeddings")
status = projection.map_status(context.dataset_name, key)
if status != "current":
    message = (f"There is no map of {md(repr(key))} yet." if status == "missing" else
               f"The map of {md(repr(key))} is out of date: the embeddings changed since it was made.")
    (st.info if status == "missing" else st.warning)(message)
    if st.button("Compute the map" if status == "missing" else "Recompute the map", key="map_compute",
                 type="primary"):
        bar = ProgressBar("umap map", context.dataset().count(), unit="points")
        projection.compute_map(context.dataset_name, key, progress=bar)
        bar.done()
        st.rerun()
    if status == "missing":
        st.stop()

run_status.stale_note(context.dataset_name, projection.map_key(key), lambda: projection.compute_map(context.dataset_name, key, force=True, progress=False))  # noqa: E501
frame = map_figures.frame_for(context, key)
color_by = controls[1].selectbox("Colour by", map_figures.color_options(frame), key="map_color_by")
info = projection.map_info(context.dataset_name, key)
unmapped = frame.attrs["unmapped"]
controls[2].caption(f"{len(frame):,} samples, {md(info.get('method', '').upper())} of {md(repr(key))} "
                    f"({info.get('seconds', 0):.1f} s to compute)"
                    + (f"; {unmapped:,} samples have no embedding yet" if unmapped else "")
                    + ". Drag a box, or pick the lasso in the chart's toolbar, to select samples.")

left, right = st.columns([3, 2])
with left:
    event = st.plotly_chart(map_figures.figure_for(context, key, color_by), key="map_chart", on_select="rerun",
                            selection_mode=("box", "lasso"), config={"displaylogo": False})
ids = map_figures.selected_ids(event, frame)
with right:
    if not ids:
        st.info("Select points on the map to see those samples here, keep them as a tag or a saved view, or "
                "relabel, mark, exclude or queue them in one undoable batch.")
    else:
        st.subheader(f"{len(ids):,} selected samples")
        with st.form("map_save_form"):
            kind = st.radio("Keep the selection as", ["tag", "saved view"], horizontal=True, key="map_save_kind")
            name = st.text_input("Name", key="map_save_name", placeholder="e.g. cluster-7-check")
            submitted = st.form_submit_button("Save selection", key="map_save_submit", type="primary")
        if submitted:
            try:
                if kind == "tag":
                    count = saved_views.tag_samples(context.dataset_name, ids, name, context.annotator)
                    st.success(f"Tagged {count:,} samples with {md(repr(name.strip()))}.")
                else:
                    view = saved_views.save_view(context.dataset_name, name, ids,
                                                description="Selected on the sda2 embedding map")
                    st.success(f"Saved view {md(repr(name.strip()))} with {len(view):,} samples; the FiftyOne App "
                               "lists it.")
            except ValueError as error:
                st.error(md(error))
        bulk_widgets.action_bar(context, ids, key="map_bulk", what="map-selected")
        map_figures.selection_grid(frame[frame["id"].isin(ids)])
