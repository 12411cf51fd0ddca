"""Team mode (SDA2_TEAM=1) driven by AppTest: the sign-in form comes first, a labeler's menu holds only Labeling,
and a page she may not open refuses her even when she asks for it directly."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from sda2 import accounts
from tests.apptest import APP, signed_in

PASSWORD = "correct horse battery"


@pytest.fixture
def team(digits, monkeypatch):
    """Team mode on, with an admin, a curator and a labeler (passwords all PASSWORD)."""
    monkeypatch.setenv(accounts.TEAM_ENV, "1")
    accounts.collection().delete_many({})
    for name, role in (("ana", "admin"), ("cora", "curator"), ("lena", "labeler")):
        accounts.create_account(name, role, password=PASSWORD)
    yield digits
    accounts.collection().delete_many({})


def _signed_in(name: str, password: str = PASSWORD) -> AppTest:
    return signed_in(name, password)


def _menu(at: AppTest) -> list[str]:
    return [link.proto.label for link in at.sidebar.get("page_link")]


def test_sign_in_form_comes_before_any_page(team):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.value for t in at.title] == ["Sign in to sda2"]
    assert [t.label for t in at.text_input] == ["Account name", "Password"] and not at.sidebar.get("page_link")
    at = _signed_in("lena", "a wrong password")
    assert accounts.WRONG in [e.value for e in at.error] and [t.value for t in at.title] == ["Sign in to sda2"]
    assert at.text_input(key="signin_password").value == ""  # a typed password is not kept


def test_a_labelers_menu_holds_only_labeling_and_her_name_is_the_annotator(team):
    at = _signed_in("Lena")
    assert _menu(at) == ["Labeling"]
    assert [t.value for t in at.title] == ["Labeling"]  # the start page takes her to Labeling
    assert "Signed in as **lena** (labeler)" in [m.value for m in at.sidebar.markdown]
    assert at.session_state["context"].annotator == "lena"
    assert not [t for t in at.sidebar.text_input if t.label.startswith("Your name")]  # not editable


def test_a_labeler_opening_quality_is_refused(team):
    at = _signed_in("lena")
    at.switch_page("app_pages/quality.py").run()
    assert not at.exception, at.exception
    assert "Labeling quality" not in [t.value for t in at.title]
    assert any("lena (labeler) may not open Quality" in e.value for e in at.error)
    at.switch_page("app_pages/embedding_map.py").run()
    assert any("may not open Embedding map" in e.value for e in at.error)


def test_a_curator_sees_the_rest_and_an_admin_also_accounts(team):
    at = _signed_in("cora")
    menu = _menu(at)
    assert "Quality" in menu and "Embedding map" in menu and "Accounts" not in menu
    at.switch_page("app_pages/quality.py").run()
    assert "Labeling quality" in [t.value for t in at.title] and not at.error
    at.switch_page("app_pages/accounts.py").run()
    assert any("cora (curator) may not open Accounts" in e.value for e in at.error)

    at = _signed_in("ana")
    assert _menu(at)[-1] == "Accounts"
    at.switch_page("app_pages/accounts.py").run()
    assert [t.value for t in at.title] == ["Accounts"]
    assert at.dataframe[0].value["name"].tolist() == ["ana", "cora", "lena"]
    at.selectbox(key="change_account").select("lena").run()
    at.button(key="disable_account").click().run()
    assert accounts.get_account("lena").disabled
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in to sda2"]


def test_the_guidelines_page_opens_for_staff_and_refuses_a_labeler(team):
    at = _signed_in("cora")
    assert "Guidelines" in _menu(at)
    at.switch_page("app_pages/guidelines.py").run()
    assert not at.exception and not at.error, at.exception or at.error
    assert [t.value for t in at.title] == ["Guidelines"] and at.session_state["context"].annotator == "cora"
    at = _signed_in("lena")
    at.switch_page("app_pages/guidelines.py").run()
    assert any("lena (labeler) may not open Guidelines" in e.value for e in at.error)
    assert "Guidelines" not in [t.value for t in at.title]
