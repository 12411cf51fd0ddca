"""Accounts (team mode, admins only): who may sign in, with which role; add, change a role, disable, enable."""

import streamlit as st

from sda2 import accounts
from sda2.ui import roles
from sda2.ui.safe_text import md

admin = roles.require("admin")
st.title("Accounts")
st.caption("Roles: a labeler opens the Labeling page only and sees her own figures; reviewers and curators open "
           "every page (curators and admins also see every labeler's answers); admins also manage accounts here. "
           "From a terminal: `sda2 account add NAME --role R`, `sda2 account list`, `sda2 account disable NAME`, "
           "`sda2 account unlock NAME`.")
for message in st.session_state.pop("accounts_messages", []):
    (st.error if message.startswith("!") else st.success)(md(message.lstrip("!")))


def _do(action, *args, success: str) -> None:
    """Run an account change; its outcome is shown on the next run."""
    try:
        action(*args)
        outcome = success
    except (KeyError, ValueError) as exc:
        outcome = "!" + (exc.args[0] if isinstance(exc, KeyError) else str(exc))
    st.session_state.setdefault("accounts_messages", []).append(outcome)


def _add() -> None:
    state = st.session_state
    _do(accounts.create_account, state["new_account_name"].strip(), state["new_account_role"],
        state["new_account_password"] or None, state["new_account_email"] or None, admin.name if admin else "app",
        success=f"Account {state['new_account_name'].strip()!r} added.")
    state["new_account_password"] = ""


table = accounts.list_accounts()
st.dataframe(table, hide_index=True, column_config={"created_at": st.column_config.DatetimeColumn("created (UTC)")})

with st.form("add_account", clear_on_submit=False):
    st.subheader("Add an account")
    cols = st.columns(4)
    cols[0].text_input("Name", key="new_account_name", placeholder="e.g. 김민지")
    cols[1].selectbox("Role", accounts.ROLES, index=accounts.ROLES.index("labeler"), key="new_account_role")
    cols[2].text_input("Password", type="password", key="new_account_password",
                       help=f"At least {accounts.MIN_PASSWORD} characters; stored only as an argon2 hash.")
    cols[3].text_input("Email (single sign-on, optional)", key="new_account_email")
    st.form_submit_button("Add account", type="primary", on_click=_add)

if not table.empty:
    st.subheader("Change an account")
    cols = st.columns([2, 1, 1, 1, 1])
    who = cols[0].selectbox("Account", table["name"].tolist(), key="change_account")
    role = cols[1].selectbox("Role", accounts.ROLES, key="change_role",
                             index=accounts.ROLES.index(table.set_index("name").at[who, "role"]))
    cols[2].button("Set role", key="set_role", on_click=_do, args=(accounts.set_role, who, role),
                   kwargs={"success": f"{who!r} is now {role}."})
    cols[3].button("Disable", key="disable_account", on_click=_do, args=(accounts.disable_account, who),
                   kwargs={"success": f"{who!r} is disabled: it can no longer sign in."})
    cols[4].button("Enable", key="enable_account", on_click=_do, args=(accounts.enable_account, who),
                   kwargs={"success": f"{who!r} may sign in again."})

st.subheader("Failed sign-ins")
st.caption(f"After {accounts.LOCK_AFTER} failed password sign-ins in a row a name's password sign-in is locked for "
           f"{int(accounts.LOCK_FIRST.total_seconds() // 60)} min, twice as long after each further failure (at most "
           f"{int(accounts.LOCK_MAX.total_seconds() // 60)} min); names without an account are counted too. "
           "A successful sign-in or Unlock opens it again. Times are UTC.")
failures = accounts.sign_in_failures()
if failures.empty:
    st.info("No failed sign-ins recorded.")
else:
    st.dataframe(failures, hide_index=True, column_config={
        "account": st.column_config.CheckboxColumn("has an account"),
        "failures": st.column_config.NumberColumn("failures in a row"),
        "total_failures": st.column_config.NumberColumn("failures in all"),
        "first_failure_at": st.column_config.DatetimeColumn("first failure (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "last_failure_at": st.column_config.DatetimeColumn("last failure (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "locked_until": st.column_config.DatetimeColumn("locked until (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "refused_while_locked": st.column_config.NumberColumn("refused while locked"),
        "last_refused_at": st.column_config.DatetimeColumn("last refused (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "unlocked_at": st.column_config.DatetimeColumn("unlocked (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "unlocked_by": st.column_config.TextColumn("unlocked by")})
    failing = failures.loc[(failures["failures"] > 0) | failures["locked_until"].notna(), "name"].tolist()
    if failing:
        cols = st.columns([2, 1])
        locked = set(failures.loc[failures["locked_until"].notna(), "name"])
        whom = cols[0].selectbox("Name", failing, key="unlock_name",
                                 format_func=lambda n: f"{n} (locked)" if n in locked else n)
        cols[1].button("Unlock", key="unlock_account", on_click=_do,
                       args=(accounts.unlock_account, whom, admin.name if admin else "app"),
                       kwargs={"success": f"{whom!r} may sign in with a password again."})
