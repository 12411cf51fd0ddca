"""The sign-in form and the Accounts page (team mode, AppTest) when a password is guessed: the lock's message with
its local time, the same for an unknown name, and the admin's audit table with its Unlock button."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from streamlit.testing.v1 import AppTest

from sda2 import accounts
from sda2.ui.safe_text import md
from tests.apptest import signed_in

PASSWORD = "correct horse battery"


@pytest.fixture
def team(digits, monkeypatch):
    """Team mode on, with an admin and a labeler (argon2id at its lowest cost: the lock does not depend on it)."""
    monkeypatch.setenv(accounts.TEAM_ENV, "1")
    monkeypatch.setattr(accounts, "HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})
    for name, role in (("ana", "admin"), ("lena", "labeler")):
        accounts.create_account(name, role, password=PASSWORD)
    yield digits
    accounts.collection().delete_many({})
    accounts.sign_ins().delete_many({})


def _sign_in(name: str, password: str = PASSWORD) -> AppTest:
    return signed_in(name, password)


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def test_the_sign_in_form_says_until_when_an_account_is_locked(team):
    for _ in range(accounts.LOCK_AFTER - 1):
        pytest.raises(accounts.SignInError, accounts.verify, "lena", "a wrong guess")
    at = _sign_in("lena", "a wrong guess")  # the fifth in a row, through the form
    assert _errors(at) == [md(accounts.WRONG)]
    until = accounts.is_locked("lena")
    assert until is not None
    at = _sign_in("Lena")  # the right password, while locked
    message = accounts.locked_message(until)  # AppTest has no browser time zone: the server's local time
    assert _errors(at) == [md(message)] and [t.value for t in at.title] == ["Sign in to sda2"]
    assert "locked until " + accounts.local_time_text(until) in message and "lena" not in message.casefold()

    for _ in range(accounts.LOCK_AFTER):  # an unknown name: the same answers, word for word, and still no account
        pytest.raises(accounts.SignInError, accounts.verify, "nobody", "a wrong guess")
    at = _sign_in("nobody", "a wrong guess")
    assert _errors(at) == [md(accounts.locked_message(accounts.is_locked("nobody")))]
    assert accounts.list_accounts()["name"].tolist() == ["ana", "lena"]


def test_the_admin_sees_failed_sign_ins_and_unlocks_an_account(team):
    for _ in range(accounts.LOCK_AFTER):
        pytest.raises(accounts.SignInError, accounts.verify, "lena", "a wrong guess")
    pytest.raises(accounts.AccountLocked, accounts.verify, "lena", PASSWORD)
    pytest.raises(accounts.SignInError, accounts.verify, "mallory", "a wrong guess")
    at = _sign_in("ana")
    at.switch_page("app_pages/accounts.py").run()
    assert not at.exception and [t.value for t in at.title] == ["Accounts"], at.exception
    table = at.dataframe[1].value.set_index("name")
    assert table.loc["lena", ["account", "failures", "total_failures", "refused_while_locked"]].tolist() == [
        True, 5, 5, 1]
    assert table.loc["mallory", ["account", "failures"]].tolist() == [False, 1]
    assert table.loc["lena", "locked_until"] == accounts.is_locked("lena") and not table["last_failure_at"].isna().any()
    assert at.selectbox(key="unlock_name").options == ["mallory", "lena (locked)"]  # the latest failure first
    at.selectbox(key="unlock_name").select("lena").run()
    at.button(key="unlock_account").click().run()
    assert "'lena' may sign in with a password again." in [s.value for s in at.success]
    assert accounts.is_locked("lena") is None
    row = at.dataframe[1].value.set_index("name").loc["lena"]
    assert (row["failures"], row["total_failures"], row["unlocked_by"]) == (0, 5, "ana")
    assert _sign_in("lena").session_state["context"].annotator == "lena"  # she signs in again
