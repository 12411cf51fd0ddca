"""Guideline v2 queues relabeling, in a real browser: a curator saves v2 naming class 7 as changed, queues
the relabel, and the queue holds exactly the samples answered "7" under v1."""

from __future__ import annotations

import pytest

import tests.browser.conftest as harness
from sda2 import store
from sda2.curation import class_schema as cs, guidelines, queue as lq

pytestmark = pytest.mark.browser

NAME = "t_browser_guidelines"
N = 12


@pytest.fixture
def answered(digits):
    """Twelve digits with a schema, guideline v1 (examples of 7) and answers given under v1."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    cs.set_class_schema(ds, [{"name": str(d), "key": str(d)} for d in range(10)], author="carol")
    labels = dict(zip(ds.values("id"), ds.values("ground_truth.label")))
    sevens = [i for i, label in labels.items() if label == "7"]
    guidelines.save_guideline(ds, "# Digits\n- Label the digit you see.", {"7": {"positive": sevens[:1]}},
                              author="carol")
    lq.create_queue(ds, "round1", list(labels), created_by="carol")
    for sid, label in labels.items():
        lq.submit(ds, "round1", "bob", sid, label, 1.0)
    yield ds, {i for i, label in labels.items() if label == "7"}
    store.delete_dataset(NAME)


def test_guideline_v2_queues_relabeling(browser, app_url, answered, artifacts):
    ds, sevens = answered
    context, page = harness.open_app_as(browser, app_url, NAME, N, "carol", "Guidelines", "guidelines")
    try:
        page.get_by_text("Guideline v1", exact=True).wait_for()
        page.get_by_label("Guideline (Markdown)").fill("# Digits\n- A 7 with a bar is still a 7.")
        changed = page.get_by_test_id("stMultiSelect").filter(has_text="Classes whose rules changed")
        changed.get_by_role("combobox").click()
        page.keyboard.type("7")
        page.keyboard.press("Enter")
        page.keyboard.press("Escape")
        page.get_by_label("What changed (a note for labelers)").fill("bars")
        page.get_by_role("button", name="Save as version 2").click()
        page.get_by_text("Guideline v2", exact=True).wait_for()
        page.get_by_role("button", name="Queue relabeling for changed classes").click()
        n = f"{len(sevens)} sample" + ("" if len(sevens) == 1 else "s")
        page.get_by_text(f"Queue 'relabel v2': {n} to relabel under v2.").wait_for()
        page.get_by_role("heading", name="Version history").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "guidelines_relabel.png"))
    finally:
        context.close()
    assert guidelines.guideline(ds)["changed_classes"] == ["7"]
    assert set(lq.items_frame(ds, "relabel v2")["sample_id"]) == sevens
