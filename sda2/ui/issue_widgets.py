"""Streamlit pieces for issue checks: the list of checks with counts and run buttons, and one review widget
that shows the flagged samples of any check (thumbnails from ``sda2.ui.sample_grid``) with their score."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from sda2.explore import browse
from sda2.curation import queries
from sda2.issues.base import score_field
from sda2.compute.embeddings import compute_embeddings, default_model, embedding_keys
from sda2.issues.find import find_issues
from sda2.issues.registry import get, issue_types
from sda2.ui import sample_grid
from sda2.ui.progress import ProgressBar, stage
from sda2.ui.safe_text import md

PAGE_SIZE = 24
RESULT = "issues_last_run"  # session key: the summary of the last run started from the page


def run_checks(dataset, names: list[str] | None, annotator: str) -> pd.DataFrame:
    """Run issue checks ``names`` (None: all) one by one under a progress bar; missing embeddings first."""
    names = issue_types() if names is None else list(names)
    n = len(dataset)
    bar = ProgressBar("issue checks " + ",".join(names), n, unit="samples",
                      start_text=f"Running {', '.join(names)} on {n:,} samples…")
    embed_share = 0.0
    if any("embeddings" in get(name).needs for name in names) and not embedding_keys(dataset.name):
        embed_share = 0.5
        compute_embeddings(dataset, model=default_model(dataset), progress=stage(bar, 0.0, embed_share))
    rows, started = [], time.perf_counter()
    for k, name in enumerate(names):
        per_check = (time.perf_counter() - started) / k if k else None
        low, high = (embed_share + (1 - embed_share) * j / len(names) for j in (k, k + 1))
        bar(low, per_check and per_check * (len(names) - k), f"check {k + 1} of {len(names)}: {name}")
        inside = stage(bar, low, high)  # checks that report (label issues) move the bar within their share
        rows.append(find_issues(dataset, [name], annotator=annotator,
                                progress=lambda f, eta, text, k=k, name=name: inside(
                                    f, eta, f"check {k + 1} of {len(names)}: {name} · {text}")))
    bar.done(f"{len(names)} of {len(names)} checks done")
    return pd.concat(rows)


def _run(dataset, names: list[str] | None, annotator: str) -> None:
    """Run the checks (a button callback); keep the summary for :func:`show_last_run`."""
    try:
        st.session_state[RESULT] = run_checks(dataset, names, annotator)
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
