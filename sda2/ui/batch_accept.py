"""Label errors at speed: jump to any suspect, and accept the suggestions the model is sure of in one batch.

The batch accept panel recommends a confidence (the lowest at which the accepted suggestions are expected
to be right 95 % of the time, from the calibrated probabilities), previews exactly what it would change
(counts per old → new label) and writes it as one audited batch (each suspect relabeled to its own
suggestion and marked reviewed) that Undo reverses.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sda2.curation import bulk, edits
from sda2.ui.safe_text import md
from sda2.ui.table_height import table_height

JUMP = "label_errors_jump"  # session key: the suspect picked to review now


def current_row(queue: pd.DataFrame) -> pd.Series:
    """The suspect to show: the one jumped to (while it is still in the queue), else the worst."""
    picked = st.session_state.get(JUMP)
    hit = queue.index[queue["sample_id"] == picked] if picked else []
    return queue.loc[hit[0]] if len(hit) else queue.iloc[0]


def jump_picker(queue: pd.DataFrame, key: str = "label_errors_jump_to") -> None:
    """A picker over the listed suspects ("label → suggestion, quality"); the chosen one is shown next."""
    options = list(queue["sample_id"])
    text = {r.sample_id: f"#{i + 1} · {r.label} → {r.suggested_label} · quality {r.label_quality:.3f}"
            for i, r in enumerate(queue.itertuples())}
    picked = st.session_state.get(JUMP)
    st.selectbox("Jump to", options, index=options.index(picked) if picked in options else 0, key=key,
                 format_func=lambda sid: text.get(sid, sid),
                 on_change=lambda: st.session_state.__setitem__(JUMP, st.session_state[key]),
                 help="Review any listed suspect now; the others stay in the queue.")


def _error(exc: Exception) -> None:
    st.error(md(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc))


def batch_accept_panel(context, key: str = "batch_accept") -> None:
    """Accept every suggestion at or above a confidence (recommended by the page): preview, apply, undo."""
    try:
        frame = bulk.suggestions(context.view(), context.label_field)
    except (ValueError, KeyError) as exc:
        _error(exc)
        return
    last = st.session_state.get(f"{key}_last")
    if last is not None:
        note, undo_col = st.columns([4, 1], vertical_alignment="center")
        note.success(md(last.summary()))
        if undo_col.button("Undo", key=f"{key}_undo", icon=":material/undo:"):
            try:
                restored = bulk.undo_bulk(context.dataset(), last, context.annotator)
            except (ValueError, edits.EditConflict) as exc:
                _error(exc)
            else:
                st.session_state.pop(f"{key}_last", None)
                st.session_state[f"{key}_undone"] = f"Undone: {restored:,} change(s) restored."
                st.rerun()
    undone = st.session_state.pop(f"{key}_undone", None)
    if undone:
        st.info(md(undone))
    known = frame["confidence"].dropna()
    if known.empty:
        st.caption("No suspect with a suggestion and a stored confidence is left to accept.")
        return
    recommended = bulk.recommended_threshold(known)
    default = round(recommended, 2) if recommended is not None else 0.99
    st.caption(f"{len(known):,} unreviewed suspects have a suggestion. "
               + (f"Recommended: accept at confidence ≥ {recommended:.2f}, where the accepted suggestions are "
                  f"expected to be right {bulk.TARGET_PRECISION:.0%} of the time." if recommended is not None else
                  f"No confidence reaches {bulk.TARGET_PRECISION:.0%} expected precision: review these one by one."))
    threshold_col, preview_col = st.columns([4, 1], vertical_alignment="bottom")
    threshold = threshold_col.slider("Accept suggestions with confidence at least", 0.5, 1.0, float(default), 0.01,
                                     key=f"{key}_threshold")
    stored = st.session_state.get(f"{key}_preview")
    if stored is not None and stored[0] != threshold:
        st.session_state.pop(f"{key}_preview", None)
        stored = None
    if preview_col.button("Preview", key=f"{key}_preview_button", width="stretch"):
        try:
            stored = (threshold, bulk.preview_accept(context.view(), threshold, context.label_field))
            st.session_state[f"{key}_preview"] = stored
        except (ValueError, KeyError) as exc:
            _error(exc)
    if stored is None:
        return
    preview = stored[1]
    st.markdown(md(f"{preview.changes:,} of {preview.selected:,} suspects would take their suggested label "
                   "and be marked reviewed."))
    if len(preview.transitions):
        st.dataframe(preview.transitions, hide_index=True, key=f"{key}_table",
                     height=table_height(len(preview.transitions), 250),
                     column_config={"old": "now", "new": "after", "count": "samples"})
    if st.button(f"Accept {preview.changes:,} suggestion(s)", key=f"{key}_apply", type="primary",
                 disabled=preview.changes == 0):
        try:
            result = bulk.apply_bulk(context.dataset(), preview, context.annotator,
                                     reason=f"batch accept at confidence >= {threshold:.2f}")
        except (ValueError, edits.EditConflict) as exc:
            _error(exc)
            return
        st.session_state[f"{key}_last"] = result
        st.session_state.pop(f"{key}_preview", None)
        st.rerun()
