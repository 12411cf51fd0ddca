"""Open one page of the real app headless, with the sidebar's choices made before the first run.

AppTest reruns only the page after ``switch_page``, so choices made through sidebar widgets after the
first run do not reach the page's context; setting them in session state first does.
"""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def open_page(page: str, dataset: str | None = None, annotator: str | None = None, app: str = APP,
              **state) -> AppTest:
    """An AppTest on ``page`` for ``dataset``, with ``annotator`` and any other session state set."""
    at = AppTest.from_file(app, default_timeout=60)
    if dataset:
        at.session_state["dataset"] = dataset
    if annotator:
        at.session_state["annotator"] = annotator
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def signed_in(name: str, password: str, dataset: str = "digits") -> AppTest:
    """The app in team mode after ``name`` submitted the sign-in form with ``password`` (no exception raised)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["dataset"] = dataset
    at.run()
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    at.button[0].click().run()
    assert not at.exception, at.exception
    return at
