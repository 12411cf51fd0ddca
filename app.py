"""sda2 — the Software 2.0 IDE. Run with `make app` (or `sda2 app`)."""

import streamlit as st

st.set_page_config(page_title="sda2", page_icon=":material/explore:", layout="wide")

from sda2.ui.context import sidebar  # noqa: E402

PAGES = [
    st.Page("pages/overview.py", title="Overview", icon=":material/bar_chart:", default=True),
    st.Page("pages/samples.py", title="Samples", icon=":material/grid_view:"),
]

navigation = st.navigation(PAGES)
context = sidebar()
if context is not None:
    st.session_state["context"] = context
    navigation.run()
