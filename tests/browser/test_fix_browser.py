"""Issue 4's fix workflow in a real browser: accept a suggested label, undo it, check the store each time."""

import pytest

from sda2 import store
from tests.browser.conftest import open_app_as
from tests.app.test_page_label_errors import suspects  # noqa: F401  (a fixture: a digits copy with 4 flagged samples)

pytestmark = pytest.mark.browser


def test_fix_a_label_then_undo_it(browser, app_url, suspects, artifacts):  # noqa: F811
    name, worst, given, suggested = suspects
    context, page = open_app_as(browser, app_url, name, 1797, "carol", "Label errors")
    page.get_by_role("heading", name="Label errors").wait_for()
    page.get_by_role("button", name="Accept suggestion").wait_for()
    page.screenshot(path=str(artifacts / "label_errors_before.png"), full_page=True)
    page.get_by_role("button", name="Accept suggestion").click()
    page.get_by_text(f"accept: sample {worst}").first.wait_for()
    assert store.open_dataset(name)[worst].ground_truth.label == suggested
    page.screenshot(path=str(artifacts / "label_errors_fixed.png"), full_page=True)

    page.get_by_role("button", name="Undo last").click()
    page.get_by_text("Undone:").first.wait_for()
    assert store.open_dataset(name)[worst].ground_truth.label == given
    page.screenshot(path=str(artifacts / "label_errors_undone.png"), full_page=True)
    context.close()
