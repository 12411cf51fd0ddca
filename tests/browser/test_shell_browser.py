"""The app shell in a real browser: a newcomer sees every page and loads the default dataset in one click."""

import re
from pathlib import Path

import pytest

from tests.browser.conftest import AppServer
from tests.conftest import TEST_DB

pytestmark = pytest.mark.browser

EMPTY_DB = TEST_DB + "_empty"
APP = Path(__file__).resolve().parents[2] / "app.py"


def page_titles() -> list[str]:
    """The titles of the pages app.py registers for a single user (read from its PAGES table, so a new page is
    checked too; team-mode pages such as Accounts are added after it)."""
    source = APP.read_text()
    table = source[source.index("PAGES = {"):source.index("\n}\n", source.index("PAGES = {"))]
    titles = re.findall(r'st\.Page\([^)]*title="([^"]+)"', table)
    assert len(titles) >= 10, f"found only {titles} in {APP}"
    return titles


def test_app_opens_on_the_default_dataset(page, digits, artifacts):
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(f"{len(digits):,} samples in 'digits'").wait_for()
    page.get_by_role("heading", name="Overview of digits").wait_for()  # the default page ran through app.py
    missing = [t for t in page_titles() if sidebar.get_by_role("link", name=t, exact=True).count() != 1]
    assert not missing, f"pages without a link in the sidebar: {missing}"
    assert page.get_by_test_id("stException").count() == 0
    page.screenshot(path=str(artifacts / "shell.png"), full_page=True)


def test_empty_database_offers_the_default_dataset(browser, artifacts):
    import fiftyone.core.odm as foo

    client = foo.get_db_client()
    client.drop_database(EMPTY_DB)
    server = AppServer(artifacts / "streamlit_empty.log", FIFTYONE_DATABASE_NAME=EMPTY_DB)
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(90_000)
        page.goto(server.url)
        page.get_by_text("There are no datasets yet").wait_for()
        page.screenshot(path=str(artifacts / "empty_state.png"))
        page.get_by_role("button", name="Load the default dataset").click()
        page.get_by_text("1,797 samples in 'digits'").wait_for()
        page.get_by_role("heading", name="Overview of digits").wait_for()
        page.close()
        stored = client[EMPTY_DB]["datasets"].find_one({"name": "digits"})  # written to that database, not ours
        assert stored is not None and stored.get("persistent") is True
        assert client[EMPTY_DB][stored["sample_collection_name"]].count_documents({}) == 1797
    finally:
        server.stop()
        client.drop_database(EMPTY_DB)
