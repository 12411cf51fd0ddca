"""The sidebar in a real browser: switching to a dataset with predictions shows and keeps its prediction field.

Streamlit keeps a keyed select box's old value in the browser when the server only drops its state: the
sidebar then showed "(none)" for a dataset with predictions, and the next click sent "(none)" back.
"""

from __future__ import annotations

import fiftyone as fo
import pytest
from playwright.sync_api import expect

from sda2 import store
from tests.browser.conftest import wait_idle
from tests.conftest import private_copy

pytestmark = pytest.mark.browser

NAME = "ctx_predicted"


@pytest.fixture
def predicted(digits):
    """12 digits with a ``predictions`` field (digits itself has none)."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = private_copy(digits, NAME, 12)
    ds.set_values("predictions", [fo.Classification(label=s.ground_truth.label, confidence=0.9) for s in ds])
    yield ds
    store.delete_dataset(NAME)


def test_switching_dataset_shows_and_keeps_its_predictions(predicted, page, artifacts):
    sidebar = page.get_by_test_id("stSidebar")
    prediction = sidebar.get_by_role("combobox", name="Prediction field")
    expect(prediction).to_have_value("(none)")  # digits: no prediction field
    sidebar.get_by_role("combobox", name="Dataset").click()
    page.keyboard.type(NAME)
    page.keyboard.press("Enter")
    sidebar.get_by_text(f"12 samples in '{NAME}'").wait_for()
    wait_idle(page)
    expect(prediction).to_have_value("predictions")
    sidebar.get_by_role("link", name="Samples", exact=True).click()  # a rerun sends the browser's choices back
    page.get_by_text(f"Samples of {NAME}").wait_for()
    wait_idle(page)
    expect(page.get_by_text("prediction field predictions")).to_be_visible()
    expect(prediction).to_have_value("predictions")
    page.screenshot(path=str(artifacts / "context_switch_predictions.png"))
