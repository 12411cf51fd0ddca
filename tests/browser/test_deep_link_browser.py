"""A deep link as the very first request after `streamlit run` starts still runs through app.py.

Streamlit 1.67, seeing a `pages/` folder, runs the linked page file on its own (no sidebar, no context) when the
first request after a start is a deep link; that is why the pages live in `app_pages/` (DESIGN.md).
"""

import pytest

from tests.browser.conftest import AppServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path, heading", [("evaluation", "Evaluation of digits"), ("label_errors", "Label errors")])
def test_deep_link_first_after_a_start_renders_through_app_py(browser, digits, artifacts, path, heading):
    server = AppServer(artifacts / f"streamlit_deep_link_{path}.log")  # a fresh process: no request served yet
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(90_000)
        page.goto(f"{server.url}/{path}")
        page.get_by_role("heading", name=heading).wait_for()
        sidebar = page.get_by_test_id("stSidebar")  # app.py's sidebar: dataset chooser and every page's link
        sidebar.get_by_text(f"{len(digits):,} samples in 'digits'").wait_for()
        assert sidebar.get_by_role("link", name="Overview", exact=True).count() == 1
        assert page.url == f"{server.url}/{path}"
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(artifacts / f"deep_link_{path}.png"))
    finally:
        context.close()
        server.stop()
