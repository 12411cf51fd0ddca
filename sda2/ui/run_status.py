"""One note for every page that shows a computed result: "computed before N label edits: recompute?"."""

from __future__ import annotations

from typing import Callable

import streamlit as st

from sda2.compute import results
from sda2.ui.safe_text import md


def stale_note(dataset_or_name, owns: str, recompute: Callable[[], object] | None = None) -> int | None:
    """Under the result that owns field or array ``owns``: when labels were edited since it was computed, say
    how many and offer a button that runs ``recompute`` (then reruns the page). Returns the edits since."""
    key = results.result_owner(dataset_or_name, owns)
    edits = results.run_staleness(dataset_or_name, key) if key else None
    if not edits:
        return edits
    noun = "label edit" if edits == 1 else "label edits"
    text, button = st.columns([5, 1])
    text.warning(md(f"Computed before {edits:,} {noun} ({key}): recompute?"))
    if recompute is not None and button.button("Recompute", key=f"run_status_recompute_{key}"):
        with st.spinner(md(f"Recomputing {key}…")):
            try:
                recompute()
            except (ValueError, KeyError) as exc:
                st.error(md(f"Could not recompute {key}: {exc}"))
                return edits
        st.rerun()
    return edits
