"""Streamlit pieces for issue checks: the list of checks with counts and run buttons, and one review widget
that shows the flagged samples of any check (thumbnails from ``sda2.ui.sample_grid``) with their score."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from sda2.explore import browse
from sda2.curation import queries
from sda2.issues.base import score_field
from sda2.issues.find import find_issues
from sda2.ui import sample_grid
from sda2.ui.safe_text import md

PAGE_SIZE = 24
RESULT = "issues_last_run"  # session key: the summary of the last run started from the page


def _run(dataset, names: list[str] | None, annotator: str) -> None:
    """Run the checks (a button callback); keep the summary for :func:`show_last_run`."""
    with st.spinner(f"Running {'all checks' if names is None else ', '.join(names)} on {len(dataset):,} samples…"):
        try:
            st.session_state[RESULT] = find_issues(dataset, names, annotator=annotator, progress=False)
        except (ValueError, KeyError) as exc:
            st.session_state[RESULT] = str(exc)


def show_last_run() -> None:
    """What the last run from this page did: issues found per check, and why a check was skipped or failed."""
    result = st.session_state.pop(RESULT, None)
    if result is None:
        return
    if isinstance(result, str):
        st.error(md(f"Could not run the checks: {result}"))
        return
    for name, row in result.iterrows():
        if row["status"] == "found":
            st.toast(md(f"{name}: {int(row['issues']):,} issues in {int(row['samples']):,} samples"))
        else:
            st.warning(md(f"{name}: {row['message']}"))


def check_list(dataset, overview: pd.DataFrame, annotator: str) -> None:
    """One row per registered check: name, what it finds, what it needs, its count, and a "Run" button."""
    st.button("Run all checks", key="run_issue_all", type="primary", icon=":material/play_arrow:",
              on_click=_run, args=(dataset, None, annotator))
    for _, row in overview.iterrows():
        name, count = row["check"], row["issues"]
        with st.container(border=True):
            text, numbers, button = st.columns([5, 2, 1], vertical_alignment="center")
            text.markdown(f"**{md(name)}** · {md(row['description'])}  \n"
                          f"needs {md(row['needs'] or 'nothing')}")
            if row["state"] == "complete":
                numbers.metric(f"{name} issues", f"{int(count):,}", label_visibility="collapsed",
                               help=f"of {int(row['scored']):,} scored samples, computed {row['computed_at']}")
            else:
                numbers.caption(md(row["state"]))
            button.button("Run", key=f"run_issue_{name}", on_click=_run, args=(dataset, [name], annotator),
                          width="stretch")


def flagged_samples(context, name: str) -> None:
    """The samples check ``name`` flags, lowest score first, as thumbnails captioned with their score."""
    try:
        view = queries.issue_view(context.view(), name)
    except ValueError as exc:
        st.info(md(str(exc)))
        return
    total = view.count()
    if not total:
        st.success(md(f"The {name} check flags no sample here."))
        return
    pages = -(-total // PAGE_SIZE)
    page = st.number_input(f"Page (of {pages})", 1, pages, key=f"issue_page_{name}") if pages > 1 else 1
    skip = (page - 1) * PAGE_SIZE
    st.caption(md(f"{total:,} flagged samples, lowest {score_field(name)} (most likely an issue) first."))
    rows = browse.page_rows(view, context.label_field, context.prediction_field, skip=skip, limit=PAGE_SIZE)
    sample_grid.sample_grid(rows, skip=skip, sort_by=score_field(name), key=f"issue_{name}")
