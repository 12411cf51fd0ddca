"""Streamlit pieces shared by the review pages (Label Errors, Duplicates): cards, buttons, counters, the log.

Keyboard shortcuts use Streamlit's own ``st.button(shortcut=...)``: it ignores keys typed into text
fields and select boxes, so typing a name in the sidebar never triggers an action.
"""

from __future__ import annotations

import importlib
import importlib.util

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sda2.analysis.copy_groups import SURE
from sda2.curation import audit, edits
from sda2.ui import thumbnails
from sda2.ui.progress import ProgressBar
from sda2.ui.safe_text import escape_figure, md

# decision -> (button text, shortcut); "relabel" writes the label picked in the select box
DECISION_BUTTONS = {
    "accept": ("Accept suggestion", "A"),
    "relabel": ("Set chosen label", "L"),
    "keep": ("Keep as is", "K"),
    "ambiguous": ("Ambiguous", "U"),
    "exclude": ("Exclude from training", "X"),
}
BUTTON_WIDTHS = {"accept": 1.5, "keep": 0.85, "ambiguous": 0.85, "exclude": 1.3}  # relative; the rest 1
UNDO_SHORTCUT = "Z"
ACCEPT_PRIMARY_MIN = 0.8  # below this calibrated confidence in the suggestion, "Keep as is" is the default


def probability_figure(classes: list[str], probs, given: str | None, suggested: str | None) -> go.Figure:
    """Bars of the model's class probabilities, the given label in orange and the suggestion in green."""
    colors = ["#2ca02c" if c == suggested else "#ff7f0e" if c == given else "#9aa5b1" for c in classes]
    fig = go.Figure(go.Bar(x=[str(c) for c in classes], y=np.asarray(probs, dtype=float).tolist(), marker_color=colors,
                           hovertemplate="class %{x}: %{y:.1%}<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(title="probability",
                      range=[0, 1], tickformat=".0%"), xaxis=dict(title="class", type="category"),
                      title=dict(text="Model probabilities (orange: given, green: suggested)", font_size=13))
    return escape_figure(fig)


def suspect_card(row, classes: list[str] | None, probs) -> None:
    """A suspect: the image, its given and suggested label, its score, and the probability bars."""
    left, right = st.columns([1, 2])
    boxes = tuple(thumbnails.Box(str(label), tuple(xywh)) for label, xywh in row.get("boxes") or [])
    left.image(thumbnails.render(row["filepath"], thumbnails.Overlay(boxes=boxes), size=224),
               caption=md(row["sample_id"]) + (f" · {md(row['split'])}" if row.get("split") else ""))
    with right:
        a, b, c = st.columns(3)
        a.metric("Given label", md(_text(row["label"])))
        b.metric("Suggested label", md(_text(row["suggested_label"])))
        c.metric("Label quality", f"{row['label_quality']:.3f}", help="0 to 1; lower = more likely wrong")
        if probs is not None and classes and not np.isnan(probs).all():
            st.plotly_chart(probability_figure(classes, probs, row["label"], row["suggested_label"]),
                            key=f"probs_{row['sample_id']}")
        else:
            st.caption("No stored class probabilities for this sample (array 'probabilities').")


def _text(value) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def decision_bar(classes: list[str], row, decide, editable: bool = True,
                 suggestion_confidence: float | None = None) -> None:
    """The action buttons (with shortcuts) for the suspect ``row``; a click calls ``decide(decision, new_label)``.

    The callback is bound to the sample and label shown when the buttons were drawn, so a change made
    meanwhile by someone else is caught as a conflict instead of being overwritten. "Accept suggestion" is
    the primary button only when the model's (calibrated) confidence in the suggestion reaches
    :data:`ACCEPT_PRIMARY_MIN`; below it "Keep as is" is, and the accept button shows the confidence.
    """
    suggested = row["suggested_label"]
    choice_key = f"other_label_{row['sample_id']}"
    st.selectbox("Another label", classes, key=choice_key, disabled=not editable,
                 index=classes.index(suggested) if suggested in classes else 0)
    sure = suggestion_confidence is None or suggestion_confidence >= ACCEPT_PRIMARY_MIN
    primary = "accept" if sure and editable else "keep"
    cols = st.columns([BUTTON_WIDTHS.get(d, 1) for d in DECISION_BUTTONS])  # every label whole, confidence included
    for col, (decision, (text, key)) in zip(cols, DECISION_BUTTONS.items()):
        if decision == "accept" and suggestion_confidence is not None:
            text = f"{text} ({suggestion_confidence:.0%} sure)"
        col.button(text, key=f"decide_{decision}", shortcut=key,
                   disabled=decision in ("accept", "relabel") and not editable,
                   type="primary" if decision == primary else "secondary", width="stretch",
                   on_click=_decide, args=(decide, decision, suggested, choice_key))


def trust_header(trust) -> None:
    """How far to trust the flag list: accuracy (95 % interval), calibration, expected real errors, a verdict."""
    if trust is None:
        st.caption("No stored class probabilities: how far to trust these flags cannot be estimated.")
        return
    cols = st.columns(4)
    low, high = trust.accuracy_interval
    cols[0].metric("Model accuracy (out of fold)", f"{trust.accuracy:.1%}",
                   help=f"Agreement of out-of-fold predictions with the given labels on {trust.labeled:,} samples; "
                        f"95% interval {low:.1%} to {high:.1%}.")
    cols[0].caption(f"95% interval {low:.1%} – {high:.1%}")
    cols[1].metric("Calibration error (ECE)", f"{trust.ece:.3f}",
                   help="Mean gap between the model's confidence and its accuracy; 0 = confidences are chances.")
    precision = trust.estimated_precision
    cols[2].metric("Expected real errors among flags", f"{trust.expected_real_errors:,.0f} of {trust.flagged:,}",
                   help="Sum over the flags of the calibrated chance that the given label is wrong.")
    if precision is None:
        cols[2].caption("no flags")
    elif trust.weak:  # the confident joint reads a weak model's own mistakes as label noise
        cols[2].caption(f"estimated precision at most {precision:.0%}",
                        help="An upper bound with a model this weak: its own mistakes look like label errors. "
                             "Measured on real photos with real crowd noise (CIFAR-10N, benchmarks/"
                             "bench_real_noise.py): 70% estimated where 53% were real errors with a model 71% "
                             "right; 67% estimated and 67% real with one 81% right.")
    else:
        cols[2].caption(f"estimated precision {precision:.0%}")
    cols[3].metric("Worth reviewing", f"{trust.worth_reviewing:,}",
                   help="Flags whose label is more likely wrong than right (chance ≥ 50%); they come first.")
    (st.warning if trust.weak else st.info)(md(trust.verdict))


def _decide(decide, decision: str, suggested, choice_key: str) -> None:
    decide(decision, {"accept": suggested, "relabel": st.session_state.get(choice_key)}.get(decision))


def apply(action, *args, success: str = "", **kwargs) -> bool:
    """Run an edit-path call (typically inside a button callback); keep its outcome for :func:`show_messages`."""
    try:
        action(*args, **kwargs)
    except (edits.EditConflict, ValueError) as exc:
        st.session_state["review_error"] = str(exc)
        return False
    if success:
        st.session_state["review_toast"] = success
    return True


def show_messages() -> None:
    """Show the outcome of the last action: a conflict or bad input as an error, a success as a toast."""
    error = st.session_state.pop("review_error", None)
    if error:
        st.error(md(error))
    message = st.session_state.pop("review_toast", None)
    if message:
        st.toast(md(message))


def _undo_last(dataset, annotator: str) -> None:
    try:
        result = edits.undo_last(dataset, annotator)
    except (edits.EditConflict, ValueError) as exc:
        st.session_state["review_error"] = str(exc)
        return
    st.session_state["review_toast"] = (f"Nothing of {annotator!r} left to undo." if result is None
                                        else f"Undone: {len(result)} change(s) restored.")


def undo_last_button(dataset, annotator: str) -> None:
    """An "Undo last" button (shortcut Z): undoes this annotator's newest batch."""
    st.button("Undo last", key="undo_last", shortcut=UNDO_SHORTCUT, icon=":material/undo:",
              on_click=_undo_last, args=(dataset, annotator))


def progress_metrics(progress: dict) -> None:
    """The review counters: suspects, reviewed, remaining, fixed."""
    cols = st.columns(4)
    cols[0].metric("Suspects", f"{progress['suspects']:,}")
    cols[1].metric("Reviewed", f"{progress['reviewed']:,}")
    cols[2].metric("Remaining", f"{progress['remaining']:,}")
    cols[3].metric("Fixed labels", f"{progress['fixed']:,}")


def audit_browser(dataset, key: str = "audit") -> None:
    """The audit log as a table (newest first) with CSV and JSON downloads."""
    frame = audit.audit_log(dataset, limit=500)
    if frame.empty:
        st.caption("No edits yet.")
        return
    for column in ("old", "new"):  # one type per column (text): a column mixing True and "cat" fails Arrow's check
        frame[column] = frame[column].map(lambda value: "" if value is None else str(audit.as_text(value)))
    st.dataframe(frame.drop(columns=["batch_id", "undone_by"]), hide_index=True, key=f"{key}_table")
    a, b = st.columns(2)
    a.download_button("Export CSV", audit.export_log(dataset, fmt="csv"), file_name=f"{dataset.name}_audit.csv",
                      mime="text/csv", key=f"{key}_csv")
    b.download_button("Export JSON", audit.export_log(dataset, fmt="json"),
                      file_name=f"{dataset.name}_audit.json", mime="application/json", key=f"{key}_json")


def detection_empty_state(dataset, what: str, module: str, function: str, fields, **options) -> None:
    """Explain that ``what`` is not computed yet; offer a button running ``module.function(dataset, **options)``."""
    st.info(md(f"No {what} for {dataset.name!r} yet: this page reads the fields {', '.join(fields)}, written by "
               f"the {what} detector."))
    if importlib.util.find_spec(module) is None:
        st.caption(f"The detector ({module}) is not part of this version of sda2.")
        return
    if st.button(f"Find {what} now", key=f"run_{function}", type="primary"):
        run = getattr(importlib.import_module(module), function, None)
        if run is None:
            st.error(f"{module} has no function {function}(); run detection from a notebook instead.")
            return
        bar = ProgressBar(f"find {what}", len(dataset), unit="samples",
                          start_text=f"Finding {what} in {len(dataset):,} samples…")
        try:  # the detector moves the bar itself (reading, scoring, writing)
            run(dataset, **options, progress=bar)
        except (ValueError, KeyError) as exc:
            st.error(md(f"Could not find {what}: {exc}"))
            return
        seconds = bar.done()
        last = bar.texts[-1] if bar.texts else ""
        st.session_state["review_toast"] = f"Found {what} in {seconds:,.1f} s" + (f": {last}" if last else "")
        st.rerun()


def check_empty_state(dataset, what: str, check: str, fields, annotator: str) -> None:
    """Explain that ``what`` is not computed yet; offer a button running issue check ``check`` (sda2.find_issues)."""
    from sda2.ui.issue_widgets import run_checks

    st.info(md(f"No {what} for {dataset.name!r} yet: this page reads the fields {', '.join(fields)}, written by "
               f"the {check!r} issue check (also on the Issues page)."))
    if st.button(f"Find {what} now", key=f"run_check_{check}", type="primary"):
        summary = run_checks(dataset, [check], annotator)
        if summary.loc[check, "status"] != "found":
            st.error(md(f"Could not find {what}: {summary.loc[check, 'message']}"))
            return
        st.rerun()


def duplicate_trust(group) -> str:
    """How far to trust a duplicate group, in words, from its best verified similarity (or identical files)."""
    best = float(group["duplicate_similarity"].max())
    if group["is_exact_duplicate"].any() and best >= SURE:
        return "Identical files or a sure copy."
    if best >= SURE:
        return (f"Sure copy: similarity {best:.3f} after alignment; no two different originals scored "
                f"{SURE:.2f} or more in the benchmarks (MNIST, CIFAR-10N).")
    return (f"Likely copy, check by eye: similarity {best:.3f} after alignment, kept because it stands out from "
            "everything else these images resemble. Look-alikes can pass that test too (6 pairs of different "
            "digits per 10,000 on MNIST), more easily in small datasets of tiny images.")


def duplicate_group_card(group, resolve, key: str, shortcuts: bool = False) -> None:
    """One duplicate group side by side with similarities; a click calls ``resolve(action, member ids, keep ids)``."""
    first = group.iloc[0]
    flags = " · ⚠️ crosses splits (train/test leakage)" if group["crosses_split"].any() else ""
    exact = " · exact copies" if group["is_exact_duplicate"].any() else ""
    state = " · resolved" if group["resolved"].all() else ""
    st.markdown(f"**Group {first['duplicate_group']}** · {len(group)} samples · max similarity "
                f"{group['duplicate_similarity'].max():.3f}{exact}{flags}{state}")
    st.caption(duplicate_trust(group))
    cols = st.columns(max(len(group), 4))
    ids = list(group["sample_id"])
    for col, (_, member) in zip(cols, group.iterrows()):
        tags = [t for t, on in (("kept", not member["is_duplicate"]), ("excluded", member["excluded"])) if on]
        similarity = (f"sim to kept {member['duplicate_similarity']:.3f}" if member["is_duplicate"]
                      else "representative")
        parts = (md(str(member.get("label") or "")), md(member["split"] or ""), similarity, *tags)
        col.image(thumbnails.render(member["filepath"], size=128), caption=" · ".join(p for p in parts if p))
        col.button("Keep only this", key=f"{key}_keep_{member['sample_id']}", width="stretch", on_click=resolve,
                   args=("keep one", ids, [member["sample_id"]]))
    a, b = st.columns(2)
    representative = list(group.loc[~group["is_duplicate"], "sample_id"][:1]) or ids[:1]
    a.button("Exclude the rest", key=f"{key}_exclude_rest", shortcut="E" if shortcuts else None,
             help="keep the representative, mark the others excluded (not deleted)", on_click=resolve,
             args=("exclude the rest", ids, representative))
    b.button("Keep all", key=f"{key}_keep_all", shortcut="K" if shortcuts else None,
             help="not duplicates worth removing: mark all reviewed", on_click=resolve, args=("keep all", ids, ids))
