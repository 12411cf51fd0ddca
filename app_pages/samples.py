"""Samples: a paged grid of thumbnails with labels and predictions drawn on them, filters, sort and detail."""

import json

import streamlit as st

from sda2.explore import browse
from sda2.ui import bulk_widgets, sample_grid
from sda2.ui.safe_text import md

context = st.session_state["context"]
title, app_button = st.columns([4, 1], vertical_alignment="bottom")
title.title(f"Samples of {md(context.dataset_name)}")
split_note = f"split **{md(context.split)}**" if context.split else "all splits"
st.caption(f"Label field **{md(context.label_field)}** ({context.label_kind}), "
           f"prediction field **{md(context.prediction_field or 'none')}**, {split_note} (change them in the sidebar). "
           "Blue badge/box: given label; green: prediction agrees; red: it does not.")

controls = sample_grid.filter_controls(context)
sort_by, descending = controls.pop("sort_by"), controls.pop("descending")
filtered = browse.filter_samples(context.dataset(), context.label_field, context.prediction_field,
                                  split=context.split, **controls)
view = browse.sort_samples(filtered, sort_by, descending)
with app_button:
    app_port = sample_grid.fiftyone_app_controls(view, context.dataset_name)

signature = json.dumps([context.dataset_name, context.label_field, context.prediction_field, context.split,
                        controls, sort_by, descending], default=str)
skip, limit = sample_grid.page_controls(filtered, signature)
rows = browse.page_rows(view, context.label_field, context.prediction_field, skip=skip, limit=limit)

similar = sample_grid.similar_section(context)
if similar:
    bulk_widgets.action_bar(context, similar, key="similar_bulk", what="similar")
    st.divider()
ticked = sample_grid.selection_controls(filtered, rows)
if ticked:
    bulk_widgets.action_bar(context, ticked, key="samples_bulk")

selected = st.session_state.get(sample_grid.SELECTED)
if selected in set(rows["id"]):
    grid_col, detail_col = st.columns([3, 2])
    with grid_col, st.container(height=1100, border=False):
        sample_grid.sample_grid(rows, skip, sort_by)
    with detail_col:
        sample_grid.sample_detail(context, rows, selected, app_port)
else:
    sample_grid.sample_grid(rows, skip, sort_by)
