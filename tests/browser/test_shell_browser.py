"""The app shell in a real browser: a newcomer loads the default dataset in one click."""

import pytest

from tests.browser.conftest import AppServer

pytestmark = pytest.mark.browser

EMPTY_DB = "sda2_test_empty"


def test_app_opens_on_the_default_dataset(page, artifacts):
    page.get_by_text("1,797 samples in 'digits'").wait_for()
    page.screenshot(path=str(artifacts / "shell.png"), full_page=True)


def test_empty_database_offers_the_default_dataset(browser, artifacts):
    import fiftyone.core.odm as foo

    foo.get_db_client().drop_database(EMPTY_DB)
    server = AppServer(artifacts / "streamlit_empty.log", FIFTYONE_DATABASE_NAME=EMPTY_DB)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(server.url)
        page.get_by_text("There are no datasets yet").wait_for()
        page.screenshot(path=str(artifacts / "empty_state.png"))
        page.get_by_role("button", name="Load the default dataset").click()
        page.get_by_text("1,797 samples in 'digits'").wait_for()
        page.close()
    finally:
        server.stop()
        foo.get_db_client().drop_database(EMPTY_DB)
