"""Duplicates: near and exact copies side by side; keep one, keep all, or exclude the rest (a mark, not a
deletion: training and export views leave excluded samples out). Cross-split groups (leakage) come first."""

import streamlit as st

import sda2
from sda2.curation import edits, queries
from sda2.ui import review_widgets as rw, run_status

GROUPS_PER_PAGE = 5

context = st.session_state["context"]
dataset = context.dataset()
st.title("Duplicates")
rw.show_messages()

if not queries.has_fields(dataset, queries.DUPLICATE_FIELDS):
    rw.check_empty_state(dataset, "duplicates", "near_duplicate", queries.DUPLICATE_FIELDS, context.annotator)
    st.stop()

run_status.stale_note(dataset, "duplicate_group", lambda: sda2.find_issues(dataset, ["near_duplicate"], annotator=context.annotator, progress=False))  # noqa: E501
members = queries.duplicate_groups(context.view())
groups = members.groupby("duplicate_group", sort=False)
summary = groups.agg(resolved=("resolved", "all"), crosses=("crosses_split", "any"))
cols = st.columns(5)
cols[0].metric("Groups", f"{len(summary):,}")
cols[1].metric("To review", f"{(~summary['resolved']).sum():,}")
cols[2].metric("Cross-split groups", f"{summary['crosses'].sum():,}", help="the same image in train and test")
cols[3].metric("Samples in groups", f"{len(members):,}")
cols[4].metric("Excluded", f"{members['excluded'].sum():,}")
top, undo_col = st.columns([5, 1])
with undo_col:
    rw.undo_last_button(dataset, context.annotator)
show_resolved = top.toggle("Show resolved groups", key="show_resolved")
order = [g for g, s in summary.iterrows() if show_resolved or not s["resolved"]]
if not order:
    st.success("No duplicate groups left to review.")
pages = -(-len(order) // GROUPS_PER_PAGE)
page = st.number_input(f"Page (of {pages})", 1, pages, key="dup_page") if pages > 1 else 1


def resolve(action, member_ids, keep_ids):
    """Settle the group as shown: keep ``keep_ids``, mark the other members excluded, all reviewed."""
    rw.apply(edits.resolve_group, dataset, member_ids, keep_ids, context.annotator, reason=action,
             success=f"{action}: {len(member_ids) - len(keep_ids)} of {len(member_ids)} excluded")


for i, group_id in enumerate(order[(page - 1) * GROUPS_PER_PAGE: page * GROUPS_PER_PAGE]):
    with st.container(border=True):
        rw.duplicate_group_card(groups.get_group(group_id), resolve, key=f"group_{group_id}", shortcuts=i == 0)

with st.expander("Audit log"):
    rw.audit_browser(dataset)
