"""Issue 2's two views in a real browser: the distribution on Overview, the images and their labels on Samples."""

import re
from collections import Counter
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser


def test_overview_shows_the_class_distribution(page, digits, artifacts):
    page.get_by_text("Overview of digits").wait_for()
    chart = page.locator(".js-plotly-plot").first
    chart.locator(".bars .point").first.wait_for()
    # One bar per class and split, each labelled with its count: the same counts as the stored labels.
    expected = Counter(zip(digits.values("split"), digits.values("ground_truth.label")))
    shown = sorted(int(t.replace(",", "")) for t in chart.locator(".bars .point text").all_text_contents())
    assert shown == sorted(expected.values())
    assert page.get_by_text("Balanced").first.is_visible()
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)


def test_samples_shows_the_images_with_labels(page, digits, artifacts):
    page.get_by_role("link", name="Samples").click()
    page.get_by_text("Samples of digits").wait_for()
    page.get_by_text(re.compile(rf"^1–\d+ of {len(digits):,}$")).wait_for()  # the pager: all samples
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                           ".filter(i => i.complete && i.naturalWidth > 0).length >= 24")  # thumbnails really loaded

    # Filter on one given label: the grid holds exactly that class, and an opened tile is a sample of it.
    label, count = "3", digits.count_values("ground_truth.label")["3"]
    page.get_by_test_id("stMultiSelect").filter(has_text="Ground truth").click()
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    page.get_by_text(re.compile(rf"^1–\d+ of {count:,}$")).wait_for()
    page.get_by_role("button", name="#1", exact=True).click()
    name = page.get_by_role("button", name="✕").locator("xpath=ancestor::*[@data-testid='stHorizontalBlock'][1]")
    shown = name.locator("strong").last.inner_text()
    labels = {Path(p).name: lab for p, lab in zip(digits.values("filepath"), digits.values("ground_truth.label"))}
    assert labels[shown] == label, f"{shown} is labelled {labels.get(shown)!r}, not {label!r}"
    page.screenshot(path=str(artifacts / "samples.png"), full_page=False)
