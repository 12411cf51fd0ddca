"""Issues: every registered check (label errors, duplicates, outliers, class imbalance, image quality) with
its count and a "Run" button, and the flagged samples of any check with their score."""

import streamlit as st

from sda2.issues.find import issue_overview
from sda2.ui import issue_widgets
from sda2.ui.safe_text import md

context = st.session_state["context"]
dataset = context.dataset()
st.title("Issues")
issue_widgets.show_last_run()

overview = issue_overview(dataset)
done = overview[overview["state"] == "complete"]
cols = st.columns(3)
cols[0].metric("Checks", f"{len(overview):,}")
cols[1].metric("Checks run", f"{len(done):,}")
cols[2].metric("Issues found", f"{int(done['issues'].sum()):,}", help="summed over checks: a sample can count twice")

issue_widgets.check_list(dataset, overview, context.annotator)

st.subheader("Review flagged samples")
if done.empty:
    st.info("No check has run yet: press “Run” beside a check, or “Run all checks”.")
    st.stop()
names = done["check"].tolist()
choice = st.selectbox("Check", names, key="issue_check", format_func=lambda n: md(n))
issue_widgets.flagged_samples(context, choice)
