"""Issue 2's two views in a real browser: the distribution on Overview, the images on Samples."""

import pytest

pytestmark = pytest.mark.browser


def test_overview_shows_the_class_distribution(page, artifacts):
    page.get_by_text("Overview of digits").wait_for()
    page.locator(".js-plotly-plot .bars").first.wait_for()
    assert page.locator(".js-plotly-plot .bars .point").count() >= 20  # 10 classes x 2 splits
    assert page.get_by_text("Balanced").first.is_visible()
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)
