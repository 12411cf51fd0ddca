"""Issue 2's two views in a real browser: the distribution on Overview, the images on Samples."""

import pytest

pytestmark = pytest.mark.browser


def test_overview_shows_the_class_distribution(page, artifacts):
    page.get_by_text("Overview of digits").wait_for()
    page.locator(".js-plotly-plot .bars").first.wait_for()
    assert page.locator(".js-plotly-plot .bars .point").count() >= 20  # 10 classes x 2 splits
    assert page.get_by_text("Balanced").first.is_visible()
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)


def test_samples_shows_the_images_with_labels(page, artifacts):
    page.get_by_role("link", name="Samples").click()
    page.get_by_text("Samples of digits").wait_for()
    images = page.locator('[data-testid="stImage"] img')
    images.first.wait_for()
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                           ".filter(i => i.complete && i.naturalWidth > 0).length >= 24")
    assert images.count() >= 24
    page.screenshot(path=str(artifacts / "samples.png"), full_page=False)
