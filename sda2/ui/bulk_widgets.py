"""The bulk action bar: act on a selection (grid, map, confusion cell, find-similar) with a preview first.

The bar shows how many samples are selected, lets the user pick an action (relabel, tag, remove a tag,
mark, exclude, make a labeling queue) and its value, and *Preview* reads the stored values and shows
exactly what would change (counts per old → new label, samples already so). *Apply* writes that preview as
one audited batch (:func:`sda2.curation.bulk.apply_bulk`, conflict-checked against what the preview saw)
and *Undo* reverses the whole batch. A preview is dropped as soon as the selection, the action or its value
changes, so what is applied is always what was shown.
"""

from __future__ import annotations

import hashlib
import json

import streamlit as st

from sda2 import store
from sda2.curation import bulk, edits
from sda2.ui.safe_text import md
from sda2.ui.table_height import table_height

ACTIONS = {"Relabel": "relabel", "Add tag": "tag", "Remove tag": "untag", "Mark": "mark", "Exclude": "exclude",
           "Add to a new queue": "queue"}


def _signature(dataset_name: str, ids: list[str], action: str, value) -> str:
    text = json.dumps([dataset_name, action, value, ids], default=str)
    return hashlib.sha1(text.encode()).hexdigest()


def _value_input(context, action: str, key: str):
    """The widget for the action's value (class, tag, mark or queue name); its value."""
    if action == "relabel":
        classes = store.classes(context.dataset(), context.label_field)
        return st.selectbox(f"New {md(context.label_field)} label", classes, key=f"{key}_label",
                            format_func=str)
    if action in ("tag", "untag"):
        return st.text_input("Tag", key=f"{key}_tag", placeholder="e.g. check-later")
    if action == "mark":
        return st.selectbox("Mark", list(edits.MARKS), key=f"{key}_mark")
    if action == "queue":
        return st.text_input("Queue name", key=f"{key}_queue", placeholder="e.g. recheck-batch")
    return None


def _run(call, *args, **kwargs):
    """``call``'s result, or None after showing its clear error (bad input, a conflict, a missing sample)."""
    try:
        return call(*args, **kwargs)
    except (ValueError, KeyError, edits.EditConflict) as exc:
        st.error(md(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc))
        return None


def action_bar(context, ids, key: str, what: str = "selected") -> None:
    """The bulk action bar for the samples ``ids``: count, action, Preview, Apply (one batch) and Undo.

    ``key`` keeps several bars apart (one per page section); ``what`` names the selection in the count.
    """
    ids = list(dict.fromkeys(str(i) for i in ids))
    last = st.session_state.get(f"{key}_last")
    with st.container(border=True, key=f"{key}_bar"):
        st.markdown(f"**{len(ids):,} {md(what)} sample(s)**")
        if last is not None:
            note, undo_col = st.columns([4, 1], vertical_alignment="center")
            note.success(md(last.summary()))
            if undo_col.button("Undo", key=f"{key}_undo", icon=":material/undo:",
                               disabled=last.batch_id is None and last.queue is None,
                               help="Restore every sample this batch changed (or delete the queue it made)."):
                restored = _run(bulk.undo_bulk, context.dataset(), last, context.annotator)
                if restored is not None:
                    st.session_state.pop(f"{key}_last", None)
                    st.session_state[f"{key}_undone"] = (f"Undone: {restored:,} " + (
                        "queue item(s) removed." if last.queue else "sample(s) restored."))
                    st.rerun()
        undone = st.session_state.pop(f"{key}_undone", None)
        if undone:
            st.info(md(undone))
        if not ids:
            st.caption("Select samples to act on them.")
            return
        action_col, value_col = st.columns([2, 3], vertical_alignment="bottom")
        label = action_col.selectbox("Action", list(ACTIONS), key=f"{key}_action")
        action = ACTIONS[label]
        with value_col:
            value = _value_input(context, action, key)
        signature = _signature(context.dataset_name, ids, action, value)
        stored = st.session_state.get(f"{key}_preview")
        if stored is not None and stored[0] != signature:  # the selection or the action changed
            st.session_state.pop(f"{key}_preview", None)
            stored = None
        if st.button("Preview", key=f"{key}_preview_button", width="stretch",  # own row: a narrow column cut it
                      help="Read the stored values and show exactly what would change; nothing is written."):
            preview = _run(bulk.preview_bulk, context.dataset(), ids, action, value, context.label_field)
            stored = (signature, preview) if preview is not None else None
            if stored:
                st.session_state[f"{key}_preview"] = stored
        if stored is None:
            return
        preview = stored[1]
        st.markdown(md(preview.summary()))
        table = bulk.preview_frame(preview)
        if action != "queue" and len(table):
            st.dataframe(table, hide_index=True, key=f"{key}_preview_table", height=table_height(len(table), 250),
                         column_config={"old": "now", "new": "after", "count": st.column_config.NumberColumn(
                             "samples", format="%d")})
        count = preview.selected if action == "queue" else preview.changes
        if st.button(f"Apply to {count:,} sample(s)", key=f"{key}_apply", type="primary", disabled=count == 0,
                     help="Write the preview as one audited batch; Undo restores all of it."):
            result = _run(bulk.apply_bulk, context.dataset(), preview, context.annotator)
            if result is not None:
                st.session_state[f"{key}_last"] = result
                st.session_state.pop(f"{key}_preview", None)
                st.rerun()
