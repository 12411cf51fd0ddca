"""Gold items and the review stage in a real browser: the qualification test blocks a failing labeler and admits
a passing one; a honeypot counts toward her gold accuracy while looking like any item; a reviewer rejects an answer
with a reason, the labeler sees it, fixes it, and the rework counter moves."""

from __future__ import annotations

import re

import pytest

import sda2
import tests.browser.conftest as harness
from sda2 import store
from sda2.curation import queue as lq

pytestmark = pytest.mark.browser

NAME = "t_browser_review"
N = 10
CAPTION = re.compile(r"^sample ([0-9a-f]{24})$")


@pytest.fixture
def team(digits):
    """Ten digits: a queue of the first five (qualification, honeypots at 0.5, review of every item), the rest gold,
    a two-item test with pass mark 100 %."""
    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    ids = ds.values("id")
    truth = dict(zip(ids, ds.values("ground_truth.label")))
    sda2.set_gold(ds, {i: truth[i] for i in ids[5:]}, "lead")
    sda2.create_qualification(ds, 2, 1.0, created_by="lead")
    lq.create_queue(ds, "q", ids[:5], require_qualification=True, honeypot_rate=0.5, review="all")
    yield ds, ids, truth
    store.delete_dataset(NAME)


def _click(page, key: str) -> None:
    page.locator(f".st-key-{key} button").first.click()


def _take_test(page, labeler: str, truth, answers_right: bool) -> None:
    for n in range(2):
        page.get_by_text(f"{n} of 2 answered").wait_for()
        sid = sda2.qualification_next(store.open_dataset(NAME), labeler)  # the test item is not named on screen
        answer = truth[sid] if answers_right else str((int(truth[sid]) + 1) % 10)
        _click(page, f"qual_{int(answer)}")
        page.get_by_text(f"{n} of 2 answered").wait_for(state="detached")  # the answer is in before the next


def _current(page) -> str:
    caption = page.get_by_text(CAPTION).first
    caption.wait_for()
    return CAPTION.match(caption.inner_text().strip()).group(1)


def test_qualification_honeypots_and_a_rejection_fixed(browser, team, artifacts):
    ds, ids, truth = team
    server = harness.AppServer(artifacts / "streamlit_review.log")
    try:
        # bob fails the test: no work for him, and he is told why
        context, page = harness.open_app_as(browser, server.url, NAME, N, "bob", "Labeling")
        _take_test(page, "bob", truth, answers_right=False)
        page.get_by_text("below the pass mark of 100%").wait_for()
        assert page.locator(".st-key-label_classes").count() == 0
        page.screenshot(path=str(artifacts / "review_qualification_failed.png"), full_page=True)
        context.close()
        # alice passes and labels; honeypots come mixed in, shown like any item
        context, page = harness.open_app_as(browser, server.url, NAME, N, "alice", "Labeling")
        _take_test(page, "alice", truth, answers_right=True)
        screens = {}
        while len(screens) < 2:
            sid = _current(page)
            kind = "honeypot" if sid in ids[5:] else "item"
            text = page.get_by_test_id("stMain").inner_text()
            screens.setdefault(kind, (text.lower().count("gold"), text.lower().count("honeypot"),
                                      page.locator(".st-key-label_classes button").count()))
            if kind == "honeypot":
                page.screenshot(path=str(artifacts / "review_honeypot.png"), full_page=True)
            _click(page, f"label_{int(truth[sid])}")
            page.wait_for_function("id => !document.body.innerText.includes('sample ' + id)", arg=sid)
        assert screens["honeypot"] == screens["item"]
        (row,) = sda2.gold_accuracy(ds).itertuples()
        assert row.labeler == "alice" and row.answers == row.correct >= 1
        context.close()
        # rita reviews alice's first answer and rejects it with a reason
        context, page = harness.open_app_as(browser, server.url, NAME, N, "rita", "Labeling")
        page.get_by_text(re.compile(r"^Review \(\d+ waiting\)$")).click()
        first = sda2.next_review(ds, "q", "rita")
        page.get_by_text(f"sample {first}").wait_for()
        page.get_by_text("wrong class", exact=True).click()
        page.get_by_label("What is wrong (required for other)").fill("the stroke is a seven")
        page.get_by_label("What is wrong (required for other)").press("Enter")
        page.locator(".st-key-review_stage_reject button").wait_for()
        page.screenshot(path=str(artifacts / "review_reviewer.png"), full_page=True)
        _click(page, "review_stage_reject")
        page.get_by_text(f"sample {first}").wait_for(state="detached")
        context.close()
        before = sda2.review_summary(ds, "q")["rework_by_labeler"].set_index("labeler").loc["alice", "rejections"]
        # alice sees the reason and fixes the item; it goes back to review
        context, page = harness.open_app_as(browser, server.url, NAME, N, "alice", "Labeling")
        page.get_by_text("the stroke is a seven").wait_for()
        page.locator(f".st-key-rework_item_{first} img").wait_for()
        page.get_by_text(CAPTION).first.wait_for()
        page.screenshot(path=str(artifacts / "review_rework.png"), full_page=True)
        _click(page, f"rework_{first}_{(int(truth[first]) + 1) % 10}")
        page.locator(f".st-key-rework_item_{first}").wait_for(state="detached")
        context.close()
    finally:
        server.stop()
    summary = sda2.review_summary(ds, "q")
    assert (before, summary["rejected"]) == (1, 1) and sda2.rework_items(ds, "q", "alice").empty
    assert summary["rework_by_class"].set_index("class").loc[truth[first], "rejections"] == 1
    assert lq.items_frame(ds, "q").set_index("sample_id").loc[first, "status"] == "review"
