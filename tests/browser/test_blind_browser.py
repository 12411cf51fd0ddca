"""Blind labeling in a real browser: alice and bob answered a sample that still needs a third answer; carol, whose
Labeling page offers her that very sample, opens Quality → Adjudication and sees neither answer. Erin, a curator
(named in SDA2_CURATORS for this app), sees both."""

from __future__ import annotations

import re

import pytest

import tests.browser.conftest as harness
from sda2 import store
from sda2.curation import queue as lq

pytestmark = pytest.mark.browser

NAME = "t_browser_blind"
N = 6
OPEN_VOTES = "3: alice · 8: bob"  # how the answers on the open sample would read (votes text)
CLOSED_VOTES = "1: alice · 2: bob · 4: dave"


@pytest.fixture(scope="module")
def trio(digits):
    """Queue "trio" (3 answers per sample): s0 answered by alice (3) and bob (8), still open; s1 answered by alice,
    bob and dave, all different (disputed, closed)."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    ids = ds.values("id")
    lq.create_queue(ds, "trio", ids[:3], labels_per_sample=3, overlap=1.0)
    lq.submit(ds, "trio", "alice", ids[0], "3", 2.0)
    lq.submit(ds, "trio", "bob", ids[0], "8", 2.0)
    for who, label in (("alice", "1"), ("bob", "2"), ("dave", "4")):
        lq.submit(ds, "trio", who, ids[1], label, 2.0)
    assert lq.items_frame(ds, "trio")["status"].tolist() == ["open", "disputed", "open"]
    yield ds, ids
    store.delete_dataset(NAME)


@pytest.fixture(scope="module")
def blind_url(trio, artifacts):
    """The app served by `streamlit run` with erin as the one curator."""
    server = harness.AppServer(artifacts / "streamlit_blind.log", SDA2_CURATORS="erin")
    yield server.url
    server.stop()


def _adjudication(browser, url: str, who: str, artifacts):
    """``who``'s Quality page with the Adjudication tab open: (page text, tab title, context)."""
    context, page = harness.open_app_as(browser, url, NAME, N, who, "Quality")
    page.get_by_role("heading", name="Labeling quality").wait_for()
    tab = page.get_by_role("tab", name=re.compile(r"^Adjudication"))
    tab.click()
    page.get_by_text("weighted vote:").or_(page.get_by_text("Nothing for you to adjudicate")).first.wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")
    page.screenshot(path=str(artifacts / f"blind_quality_{who}.png"), full_page=True)
    return page.locator("body").inner_text(), tab.inner_text(), context


def test_carol_does_not_see_answers_on_her_open_sample_and_a_curator_does(browser, blind_url, trio, artifacts):
    ds, ids = trio
    context, page = harness.open_app_as(browser, blind_url, NAME, N, "carol", "Labeling")
    page.get_by_text(f"sample {ids[0]}", exact=True).wait_for()  # her Labeling page offers her s0
    page.screenshot(path=str(artifacts / "blind_labeling_carol.png"), full_page=True)
    context.close()

    text, tab, context = _adjudication(browser, blind_url, "Carol", artifacts)  # typed with a capital: same person
    context.close()
    assert "3: alice" not in text and "8: bob" not in text and OPEN_VOTES not in text
    assert CLOSED_VOTES in text and tab == "Adjudication (1)"  # she did not answer s1: she may settle it
    assert "answer(s) of other labelers on samples still open" in text

    text, tab, context = _adjudication(browser, blind_url, "erin", artifacts)
    context.close()
    assert OPEN_VOTES in text and CLOSED_VOTES in text and tab == "Adjudication (2)"

    text, tab, context = _adjudication(browser, blind_url, "bob", artifacts)  # an answerer of both
    context.close()
    assert "3: alice" not in text and "1: alice" not in text and tab == "Adjudication (0)"
