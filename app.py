"""sda2 — the Software 2.0 IDE. Run with `make app` (or `sda2 app`)."""

import streamlit as st

st.set_page_config(page_title="sda2", page_icon=":material/explore:", layout="wide")

import pymongo.errors  # noqa: E402

from sda2 import database  # noqa: E402

try:  # every run: restart the project's own database if it died, or say plainly what is wrong
    database.ensure_database()
except database.DatabaseError as exc:
    st.error(str(exc))
    st.stop()

from sda2.ui import roles  # noqa: E402
from sda2.ui.context import sidebar  # noqa: E402

# One section per step of the loop: see the data, put a model in the loop, fix what is wrong.
PAGES = {
    "See": [
        st.Page("app_pages/overview.py", title="Overview", icon=":material/bar_chart:", default=True),
        st.Page("app_pages/samples.py", title="Samples", icon=":material/grid_view:"),
    ],
    "Model": [
        st.Page("app_pages/embedding_map.py", title="Embedding map", icon=":material/scatter_plot:"),
        st.Page("app_pages/evaluation.py", title="Evaluation", icon=":material/fact_check:"),
    ],
    "Fix": [
        st.Page("app_pages/issues.py", title="Issues", icon=":material/report:"),
        st.Page("app_pages/label_errors.py", title="Label errors", icon=":material/rule:"),
        st.Page("app_pages/duplicates.py", title="Duplicates", icon=":material/content_copy:"),
    ],
    "Label": [
        st.Page("app_pages/selection.py", title="Selection", icon=":material/checklist:"),
        st.Page("app_pages/labeling.py", title="Labeling", icon=":material/label:"),
        st.Page("app_pages/guidelines.py", title="Guidelines", icon=":material/menu_book:"),
        st.Page("app_pages/autolabel.py", title="Auto-labeling", icon=":material/auto_fix_high:"),
        st.Page("app_pages/quality.py", title="Quality", icon=":material/groups:"),
        st.Page("app_pages/releases.py", title="Releases", icon=":material/inventory_2:"),
    ],
}

if roles.team_mode():  # SDA2_TEAM=1: sign-in, pages by role, admins manage accounts
    PAGES["Team"] = [st.Page("app_pages/accounts.py", title="Accounts", icon=":material/manage_accounts:")]
navigation = st.navigation(PAGES, position=roles.menu_position(), expanded=True)  # every page listed, no "View more"
account = roles.sign_in()  # team mode: the signed-in account (the sign-in form stops the run until then); else None
roles.menu(PAGES, account)  # team mode: the pages the role may open, who is signed in, "Sign out"
try:
    context = sidebar()
    if context is not None:
        st.session_state["context"] = context
        roles.require_page(navigation, account, PAGES)  # refuses a page the role may not open, also by its URL
        navigation.run()
except pymongo.errors.ConnectionFailure as exc:  # the database went away during this run
    st.error(str(database.unreachable(exc)))
