"""The Samples page's widgets: filters, paging, the thumbnail grid, one sample's detail and the FiftyOne App link."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from sda2 import store
from sda2.explore import browse, fiftyone_app
from sda2.ui import thumbnails
from sda2.ui.safe_text import escape_figure, md
from sda2.ui.table_height import table_height

PAGE_SIZES = (24, 48, 96)
SELECTED = "samples_selected"  # session key: id of the sample shown in the detail view
CHECKED = "samples_checked"  # session key: ids ticked for a bulk action (a set)
SIMILAR = "samples_similar_to"  # session key: id of the sample whose similar samples are shown
NONE = "(none)"
CORRECTNESS = {"all": None, "correct": True, "wrong": False}


@st.cache_data(ttl=30, show_spinner=False)
def _choices(dataset_name: str, label_field: str, prediction_field: str | None, n_samples: int,
             fields: tuple = ()) -> dict:
    """Options for the filters (cached briefly: classes, tags and numeric fields cost a pass over 100k)."""
    ds = store.open_dataset(dataset_name)
    given = store.classes(ds, label_field)
    predicted = store.classes(ds, prediction_field) if prediction_field else []
    extra = sorted(set(predicted) - set(given))
    return {"classes": given, "predicted": given + extra,
            "tags": browse.sample_tags(ds), "numeric": browse.numeric_fields(ds)}


@st.cache_data(ttl=30, show_spinner=False)
def _bounds(dataset_name: str, path: str, n_samples: int) -> tuple[float, float] | None:
    return browse.field_range(dataset_name, path)


def filter_controls(context) -> dict:
    """Draw the filter and sort widgets; return keyword arguments for filter_samples plus sort_by/descending."""
    ds = context.dataset()
    choices = _choices(context.dataset_name, context.label_field, context.prediction_field, len(ds),
                       tuple(sorted(ds.get_field_schema())))  # a field computed meanwhile shows at once
    has_pred = context.prediction_field is not None
    can_judge = has_pred and context.label_kind != "detection"
    cols = st.columns(3 if has_pred else 2)
    labels = cols[0].multiselect(f"Ground truth ({md(context.label_field)})", choices["classes"], key="samples_labels",
                                 placeholder="any class")
    tags = cols[-1].multiselect("Sample tags", choices["tags"], key="samples_tags",
                                placeholder="any tags" if choices["tags"] else "no tags yet")
    predictions, correct = [], None
    if has_pred:
        predictions = cols[1].multiselect(f"Prediction ({md(context.prediction_field)})", choices["predicted"],
                                          key="samples_predictions", placeholder="any class")
    judge, range_col, slider_col, sort_col, order_col = st.columns([2, 1.5, 1.8, 1.6, 1.5],
                                                                   vertical_alignment="bottom")
    if can_judge:
        pick = judge.segmented_control("Predictions", list(CORRECTNESS), default="all", key="samples_correct")
        correct = CORRECTNESS.get(pick or "all")
    numeric = choices["numeric"]
    ranges = {}
    range_field = range_col.selectbox("Score range on", [NONE] + numeric, key="samples_range_field",
                                      help="Keep samples whose value of this numeric field lies in the range.")
    if range_field != NONE:
        bounds = _bounds(context.dataset_name, range_field, len(ds))
        if bounds and bounds[0] < bounds[1]:
            low, high = slider_col.slider(f"{md(range_field)} between", bounds[0], bounds[1], bounds,
                                          key=f"samples_range_{range_field}")
            if (low, high) != bounds:
                ranges[range_field] = (low, high)
        else:
            slider_col.caption(f"{md(range_field)}: one value only ({md(bounds[0]) if bounds else 'none'}).")
    sort_by = sort_col.selectbox("Sort by", [NONE] + numeric, key="samples_sort_by",
                                 format_func=lambda f: "dataset order" if f == NONE else f)
    descending = order_col.toggle("High first", key="samples_descending", disabled=sort_by == NONE,
                                  help="On: the highest values of the sort field first. Off: the lowest first.")
    return {"labels": labels, "predictions": predictions, "tags": tags, "ranges": ranges, "correct": correct,
            "sort_by": None if sort_by == NONE else sort_by, "descending": descending}


def page_controls(view, signature: str, key: str = "samples_page") -> tuple[int, int]:
    """Count ``view``, draw the page numbers and the page size; return (skip, limit) of the page to show.

    ``signature`` identifies the filters: when they change, paging starts again at page 1.
    """
    if st.session_state.get(f"{key}_signature") != signature:
        st.session_state[f"{key}_signature"] = signature
        st.session_state.pop(SELECTED, None)
    total = view.count()
    size_col, pages_col, info_col = st.columns([1.4, 5, 2], vertical_alignment="center")
    limit = size_col.selectbox("Per page", PAGE_SIZES, index=PAGE_SIZES.index(48), key=f"{key}_size",
                               label_visibility="collapsed", format_func=lambda n: f"{n} per page")
    pages = max(1, -(-total // limit))
    with pages_col:
        # one widget per filter set: new filters start at page 1
        page = st.pagination(pages, key=f"{key}_{hashlib.sha1(signature.encode()).hexdigest()[:12]}",
                             max_visible_pages=9)
    skip = (min(page, pages) - 1) * limit
    shown = f"{skip + 1:,}–{min(skip + limit, total):,} of {total:,}" if total else "no samples"
    info_col.markdown(f"**{shown}** samples", help="Samples that pass the filters (and the sidebar's split).")
    return skip, limit


def _caption(position: int, row: pd.Series, sort_by: str | None) -> str:
    """The tile's button label (Markdown: user strings escaped)."""
    parts = [f"#{position:,}"]
    if sort_by and sort_by in row and pd.notna(row[sort_by]):
        parts.append(f"{md(sort_by.split('.')[-1])} {md(format(row[sort_by], '.3g'))}")
    if row.get("tags"):
        parts.append("tags: " + ", ".join(md(t) for t in row["tags"]))
    return " · ".join(parts)


def _select(sample_id: str | None) -> None:
    if sample_id is None:
        st.session_state.pop(SELECTED, None)
    else:
        st.session_state[SELECTED] = sample_id


def checked() -> set[str]:
    """Ids of the samples ticked for a bulk action (kept across pages and reruns)."""
    return st.session_state.setdefault(CHECKED, set())


def _toggle(sample_id: str, widget_key: str) -> None:
    ids = checked()
    (ids.add if st.session_state.get(widget_key) else ids.discard)(sample_id)


def _set_checked(ids) -> None:
    st.session_state[CHECKED] = set(ids)


def selection_controls(view, rows: pd.DataFrame, key: str = "samples") -> list[str]:
    """Select this page / all samples matching the filters / clear; returns the ticked ids (in no set order).

    "All matching" reads the ids of the filtered view (the sidebar's split included), so a bulk action
    applies to exactly the samples the count above the grid says.
    """
    ids = checked()
    page_ids = list(rows["id"]) if not rows.empty else []
    total = view.count()
    count_col, page_col, all_col, clear_col = st.columns([2.2, 1.3, 1.8, 1.1], vertical_alignment="center")
    count_col.markdown(f"**{len(ids):,} selected** for a bulk action" if ids else
                       "Tick tiles to act on many samples at once.")
    page_col.button("Select page", key=f"{key}_select_page", width="stretch", disabled=not page_ids,
                    on_click=_set_checked, args=(ids | set(page_ids),), help="Tick every tile of this page.")
    if all_col.button(f"Select all {total:,} matching", key=f"{key}_select_all", width="stretch",
                      disabled=total == 0, help="Tick every sample that passes the filters, on every page."):
        _set_checked(view.values("id"))
        st.rerun()
    clear_col.button("Clear", key=f"{key}_select_clear", width="stretch", disabled=not ids,
                     on_click=_set_checked, args=((),), help="Untick every sample.")
    return list(checked())


def sample_grid(rows: pd.DataFrame, skip: int = 0, sort_by: str | None = None, key: str = "samples",
                selectable: bool = True) -> None:
    """The page's thumbnails (labels drawn on them) in a responsive grid; a tile's button opens its detail,
    its tick box (``selectable``) adds it to the selection for a bulk action."""
    if rows.empty:
        st.info("No sample passes these filters. Clear a filter above, or pick another split in the sidebar.")
        return
    paths = thumbnails.thumbnails(rows)
    selected = st.session_state.get(SELECTED)
    ticked = checked()
    grid = st.grid("auto", min_column_width=130, gap="small", key=f"{key}_grid")
    for i, ((_, row), path) in enumerate(zip(rows.iterrows(), paths)):
        with grid.cell():
            st.image(str(path), width="stretch")
            if selectable:
                box = f"{key}_check_{row['id']}"
                st.session_state[box] = row["id"] in ticked
                st.checkbox(f"Select #{skip + i + 1:,}", key=box, on_change=_toggle, args=(row["id"], box))
            st.button(_caption(skip + i + 1, row, sort_by), key=f"{key}_pick_{row['id']}", on_click=_select,
                      args=(row["id"],), type="primary" if row["id"] == selected else "tertiary",
                      width="stretch", help=f"Show the details of {md(Path(row['filepath']).name)}")


def probability_figure(probabilities: pd.Series, given, k: int = 5) -> go.Figure:
    """Horizontal bars of the top-``k`` predicted classes; green where the class is given, red where not.

    ``given`` is the given class (single-label: only the top class is the prediction, other given classes
    are blue) or a list of given classes (multi-label and detections: every bar is a prediction).
    """
    top = probabilities.head(k)[::-1]
    single = not isinstance(given, (list, tuple, set))
    given_set = {given} if single else set(given)
    predicted = set(probabilities.index[:1]) if single else set(top.index)
    colors = [("#16a34a" if name in given_set else "#dc2626") if name in predicted else
              ("#2563eb" if name in given_set else "#9ca3af") for name in top.index]
    fig = go.Figure(go.Bar(x=top.values.tolist(), y=[str(c) for c in top.index], orientation="h", marker_color=colors,
                           text=[f"{v:.1%}" for v in top.values], textposition="auto",
                           hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    title = f"Top-{len(top)} predicted probabilities" if single else "Confidence of each predicted class"
    fig.update_layout(title=title, height=60 + 34 * len(top), margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(range=[0, 1], tickformat=".0%"), yaxis=dict(type="category"), showlegend=False)
    return escape_figure(fig)


def _prediction_summary(context, row: pd.Series) -> None:
    given, predicted = row.get("label"), row.get("prediction")
    text = lambda v: ", ".join(map(str, v)) if isinstance(v, list) else ("—" if v is None else str(v))  # noqa: E731
    left, right = st.columns(2)
    left.metric("Given label", md(text(given)))
    conf = row.get("confidence")
    right.metric("Predicted", md(text(predicted)),
                 delta=f"{conf:.1%} confident" if isinstance(conf, float) and pd.notna(conf) else None,
                 delta_color="off", delta_arrow="off")
    correct = row.get("correct")  # a numpy bool, or None/NaN without a prediction
    if correct is not None and not pd.isna(correct):
        st.badge("Correct" if correct else "Incorrect", color="green" if correct else "red",
                 icon=":material/check_circle:" if correct else ":material/cancel:")
    probabilities = browse.class_probabilities(context.dataset(), row["id"], context.prediction_field,
                                                context.label_field)
    if len(probabilities):
        st.plotly_chart(probability_figure(probabilities, given),
                        key="samples_topk", config={"displayModeBar": False})


def sample_detail(context, rows: pd.DataFrame, sample_id: str, app_port: int | None = None) -> None:
    """One sample large, with given vs predicted label, top-k probabilities and all its fields."""
    ids = list(rows["id"])
    position = ids.index(sample_id)
    row = rows.iloc[position]
    nav = st.columns([1, 1, 1, 3], vertical_alignment="center")
    nav[0].button("◀", key="samples_prev", on_click=_select, args=(ids[position - 1],), disabled=position == 0,
                  help="Previous sample on this page")
    nav[1].button("▶", key="samples_next", on_click=_select, args=(ids[min(position + 1, len(ids) - 1)],),
                  disabled=position == len(ids) - 1, help="Next sample on this page")
    nav[2].button("✕", key="samples_close", on_click=_select, args=(None,), help="Close the detail view")
    nav[3].markdown(f"**{md(Path(row['filepath']).name)}**")
    st.image(str(thumbnails.thumbnail(row["filepath"], thumbnails.overlay_from_row(row), thumbnails.DETAIL_SIZE)),
             width="stretch")
    if context.prediction_field:
        _prediction_summary(context, row)
    fields = browse.sample_fields(context.dataset(), sample_id)
    table = pd.DataFrame({"field": list(fields), "value": [_short(v) for v in fields.values()]})
    st.dataframe(table, hide_index=True, width="stretch", key="samples_fields",
                 height=table_height(len(table), 420))
    st.button("Find similar", key="samples_find_similar", icon=":material/image_search:",
              on_click=st.session_state.__setitem__, args=(SIMILAR, sample_id),
              help="The nearest samples on the stored embeddings, as a grid you can act on.")
    if app_port:
        st.link_button("Open this sample in the FiftyOne App",
                       fiftyone_app.app_url(context.dataset_name, app_port, sample_id=sample_id))


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 300 else text[:297] + "…"


def fiftyone_app_controls(view, dataset_name: str, port: int | None = None) -> int | None:
    """"Open in FiftyOne App" when its server answers here (the view saved for it), else how to start one.

    Returns the App's port when it answers.
    """
    port = port or fiftyone_app.default_port()
    version = fiftyone_app.server_version(port)
    if version:
        signature = json.dumps([dataset_name, port, view._serialize()], default=str)
        if st.session_state.get("samples_app_signature") != signature:  # save the view only when it changed
            st.session_state["samples_app_url"] = fiftyone_app.view_url(view, port)
            st.session_state["samples_app_signature"] = signature
        st.link_button("Open in FiftyOne App", st.session_state["samples_app_url"], icon=":material/open_in_new:",
                       help=f"FiftyOne {version} at 127.0.0.1:{port}; a filtered view opens as the saved view "
                            f"{fiftyone_app.SAVED_VIEW!r}.")
        return port
    with st.popover("FiftyOne App", icon=":material/open_in_new:"):
        st.markdown(f"No FiftyOne App answers at 127.0.0.1:{port}. Start one here, or in a terminal:")
        st.code(f"python -m sda2.explore.fiftyone_app --port {port}", language="bash")
        if st.button("Start the FiftyOne App", key="samples_start_app"):
            with st.spinner("Starting the FiftyOne App (about 10–30 s)…"):
                try:
                    fiftyone_app.launch(port)
                except RuntimeError as exc:
                    st.error(str(exc))
                    return None
            st.rerun()
    return None


def similar_section(context, k_default: int = 24) -> list[str]:
    """The samples most similar to the one picked with "Find similar", as a grid; their ids (empty if none shown)."""
    from sda2.compute.embeddings import embedding_keys
    from sda2.compute.similar import find_similar

    sample_id = st.session_state.get(SIMILAR)
    if not sample_id:
        return []
    head, close = st.columns([5, 1], vertical_alignment="center")
    head.subheader("Similar samples")
    close.button("Close", key="similar_close", icon=":material/close:", width="stretch",
                 on_click=st.session_state.pop, args=(SIMILAR, None))
    keys = embedding_keys(context.dataset_name)
    if not keys:
        st.info("Find similar needs embeddings and this dataset has none yet. Compute them on the Embedding map "
                "page, or with `sda2.compute_embeddings(name)` in a notebook.")
        return []
    key_col, k_col = st.columns([2, 1])
    key = key_col.selectbox("Embeddings", keys, key="similar_embeddings")
    k = k_col.number_input("How many", 1, 500, k_default, key="similar_k")
    try:
        found = find_similar(context.view(), sample_id, int(k), key)
    except (KeyError, ValueError) as exc:
        st.error(md(exc.args[0] if exc.args else exc))
        return []
    ds = context.dataset()
    rows = browse.page_rows(ds.select(list(found["id"]), ordered=True), context.label_field,
                             context.prediction_field, limit=max(1, len(found)))
    rows = rows.merge(found[["id", "similarity"]], on="id", how="left")
    st.caption(f"The {len(found):,} samples nearest to {md(sample_id)} on {md(repr(key))} (cosine similarity), "
               "nearest first" + (f", within split {md(repr(context.split))}" if context.split else "") + ".")
    sample_grid(rows, 0, "similarity", key="similar", selectable=False)
    return list(found["id"])
