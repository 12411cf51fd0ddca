"""Team mode in the app: a sign-in before any page, a menu by role, and the one check that refuses a page.

Without ``SDA2_TEAM=1`` every function here is a no-op (single user, no sign-in). In team mode:

- :func:`sign_in` draws the sign-in form (and "Sign in with …" where ``.streamlit/secrets.toml`` has an
  ``[auth]`` section: Streamlit's ``st.login``, the OIDC email mapped to an account) and stops the run until
  someone is signed in;
- :func:`menu` draws the pages the role may open, and who is signed in with a "Sign out" button;
- :func:`require_page` (app.py, before ``navigation.run()``) and :func:`require` (a page itself) refuse a page
  the role may not open, also when it is opened by its URL.

A labeler opens only the Labeling page; reviewers and curators open every page but Accounts; admins all.
"""

from __future__ import annotations

import streamlit as st

from sda2 import accounts
from sda2.ui.safe_text import md

SESSION_KEY = "signed_in_account"  # the signed-in account's name (not a widget: no browser can set it)
STAFF = ("admin", "curator", "reviewer")
PAGE_ROLES = {"labeling": accounts.ROLES, "accounts": ("admin",)}  # url path -> roles; every other page: STAFF
HOME = {"labeler": "labeling"}  # where a role lands when the default page is not for it


def roles_for(url_path: str) -> tuple[str, ...]:
    """The roles that may open the page at ``url_path`` (e.g. "quality")."""
    return tuple(PAGE_ROLES.get(url_path, STAFF))


def may_open(role: str, url_path: str) -> bool:
    """Whether ``role`` may open the page at ``url_path``."""
    return role in roles_for(url_path)


def oidc_providers() -> list[str] | None:
    """None without an ``[auth]`` section in secrets.toml; else the named providers ([] for one unnamed)."""
    try:
        auth = st.secrets.get("auth")
    except FileNotFoundError:  # no secrets.toml at all
        return None
    if not auth:
        return None
    return [name for name, value in auth.items() if hasattr(value, "items")]


def current() -> accounts.Account | None:
    """The signed-in, enabled account (None in single-user mode or before sign-in; a disabled one is signed out)."""
    if not accounts.team_mode():
        return None
    name = st.session_state.get(SESSION_KEY)
    if name is None and oidc_providers() is not None and st.user.is_logged_in:
        account = accounts.account_for_email(st.user.get("email") or "")
        name = account.name if account else None
    if name is None:
        return None
    try:
        account = accounts.get_account(name)
    except KeyError:
        account = None
    if account is None or account.disabled:
        st.session_state.pop(SESSION_KEY, None)
        return None
    st.session_state[SESSION_KEY] = account.name
    return account


def browser_timezone():
    """The time zone of the browser using the app (``st.context.timezone``), or None (then the server's)."""
    try:
        from zoneinfo import ZoneInfo

        name = st.context.timezone
        return ZoneInfo(name) if name else None
    except (KeyError, ValueError, AttributeError, RuntimeError):  # no browser, or a zone unknown here: server's time
        return None


def _submit_password() -> None:
    """The sign-in form's callback: check the name and password, remember the account or say why not."""
    try:
        account = accounts.verify(st.session_state.get("signin_name", ""), st.session_state.get("signin_password", ""))
    except accounts.AccountLocked as exc:
        st.session_state["signin_error"] = accounts.locked_message(exc.until, browser_timezone())
    except accounts.SignInError as exc:
        st.session_state["signin_error"] = str(exc)
    else:
        st.session_state[SESSION_KEY] = account.name
        st.session_state.pop("signin_error", None)
    st.session_state["signin_password"] = ""  # never kept in the session


def sign_in() -> accounts.Account | None:
    """In team mode the signed-in account, after drawing the sign-in form and stopping until there is one; else None."""
    if not accounts.team_mode():
        return None
    account = current()
    if account is not None:
        return account
    st.title("Sign in to sda2")
    providers = oidc_providers()
    if providers is not None and st.user.is_logged_in:  # signed in at the provider, but no account for that email
        st.error(f"No enabled account here has the email {md(st.user.get('email') or '(none)')}. Fix: ask an "
                 "admin to add one (`sda2 account add NAME --role labeler --email ADDRESS`).")
        st.button("Sign out", key="oidc_signout", on_click=st.logout)
        st.stop()
    if accounts.list_accounts().empty:
        st.info("Team mode is on (SDA2_TEAM=1) but there are no accounts yet. Create the first admin from a "
                "terminal: `sda2 account add NAME --role admin` (it asks for the password).")
    with st.form("signin"):
        st.text_input("Account name", key="signin_name")
        st.text_input("Password", type="password", key="signin_password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit_password)
    if st.session_state.get("signin_error"):
        st.error(md(st.session_state["signin_error"]))
    for provider in providers or ([None] if providers is not None else []):
        st.button(f"Sign in with {md(provider or 'single sign-on')}", key=f"oidc_{provider or 'default'}",
                  on_click=st.login, args=(provider,) if provider else ())
    st.stop()


def sign_out() -> None:
    """Forget the signed-in account (and end the single sign-on session where there is one)."""
    st.session_state.pop(SESSION_KEY, None)
    if oidc_providers() is not None and st.user.is_logged_in:
        st.logout()


def team_mode() -> bool:
    """Whether the app runs in team mode (``SDA2_TEAM=1``)."""
    return accounts.team_mode()


def menu_position() -> str:
    """Where ``st.navigation`` draws its menu: its own in single-user mode; in team mode none (:func:`menu` draws
    the role's pages), so every page keeps its URL while only the allowed ones are listed."""
    return "hidden" if accounts.team_mode() else "sidebar"


def menu(pages: dict, account: accounts.Account | None) -> None:
    """In team mode: the sidebar links to the pages ``account``'s role may open, and who is signed in."""
    if account is None:
        return
    with st.sidebar:
        for section, section_pages in pages.items():
            allowed = [p for p in section_pages if may_open(account.role, p.url_path or "overview")]
            if allowed:
                st.caption(md(section))
                for page in allowed:
                    st.page_link(page, label=page.title, icon=page.icon or None)
        st.divider()
        st.markdown(f"Signed in as **{md(account.name)}** ({account.role})")
        st.button("Sign out", key="sign_out", on_click=sign_out, icon=":material/logout:")
        st.divider()


def _refuse(account: accounts.Account, title: str) -> None:
    st.error(f"{md(account.name)} ({account.role}) may not open {md(title)}: "
             + ("labelers open the Labeling page only. " if account.role == "labeler" else "")
             + "Fix: open a page from the menu, or ask an admin for another role.")
    st.stop()


def require_page(page, account: accounts.Account | None, pages: dict | None = None) -> None:
    """Refuse (and stop) when ``account``'s role may not open ``page`` (the page ``st.navigation`` picked).

    The default page ("/") takes a role that may not open it to its home page (a labeler: Labeling)."""
    if account is None:
        return
    url_path = page.url_path or "overview"
    if may_open(account.role, url_path):
        return
    home = HOME.get(account.role)
    if not page.url_path and home and pages:
        target = next((p for ps in pages.values() for p in ps if p.url_path == home), None)
        if target is not None:
            st.switch_page(target)
    _refuse(account, page.title)


def require(*roles: str) -> accounts.Account | None:
    """For a page: in team mode, refuse (and stop) unless the signed-in account has one of ``roles``."""
    if not accounts.team_mode():
        return None
    account = current()
    if account is None or account.role not in roles:
        if account is None:
            st.error("Sign in first. Fix: open the app's start page.")
            st.stop()
        _refuse(account, "this page")
    return account


def is_staff() -> bool:
    """Whether the person using the app is more than a labeler (always, in single-user mode)."""
    account = current()
    return account is None or account.role in STAFF
