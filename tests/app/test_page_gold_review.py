"""The Labeling and Quality pages headless through AppTest: the qualification test, honeypots that look like any
item, the reviewer's accept / reject with a reason, the labeler's fix, and the gold and review figures."""

from __future__ import annotations

import pytest

import sda2
from sda2.curation import queue as lq, review_stage as rs
from tests.apptest import open_page


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 14 digits: 8 in queues, the last 6 gold."""
    return digits.limit(14).clone(dataset_name, persistent=True)


def _truth(ds) -> dict:
    return dict(zip(ds.values("id"), ds.values("ground_truth.label")))


def _text(at) -> str:
    return " ".join([m.value for m in at.markdown] + [m.value for m in at.caption] + [m.value for m in at.info]
                    + [m.value for m in at.success] + [m.value for m in at.warning] + [m.value for m in at.error])


def _images(at) -> list:
    return [img for element in at.get("image") for img in element.proto.imgs]


def test_a_new_labeler_takes_the_qualification_test_and_is_blocked_or_admitted(ds):
    truth = _truth(ds)
    ids = ds.values("id")
    sda2.set_gold(ds, {i: truth[i] for i in ids[8:]}, "lead")
    test = sda2.create_qualification(ds, 3, 1.0, created_by="lead")
    lq.create_queue(ds, "q", ids[:8], require_qualification=True)
    for who, right in (("bob", False), ("alice", True)):
        at = open_page("app_pages/labeling.py", ds.name, who)
        for n in range(3):
            assert "Qualification test" in [h.value for h in at.subheader]
            sid = sda2.qualification_next(ds, who)
            answer = truth[sid] if right or n else str((int(truth[sid]) + 1) % 10)
            at.button(key=f"qual_{int(answer)}").click().run()  # digits: class "k" is the k-th button
            assert not at.exception, at.exception
        assert sda2.qualification_status(ds, who)["status"] == ("passed" if right else "failed")
        if right:
            assert _images(at)[0].caption == f"sample {ids[0]}"  # admitted: the queue's first item
        else:
            assert "2 of 3 right (67%)" in _text(at) and "below the pass mark of 100%" in _text(at)
            assert not [b for b in at.button if b.key and b.key.startswith("label_")]
    assert set(test["sample_ids"]) <= set(ids[8:])


def test_a_honeypot_looks_like_any_item_and_counts_toward_gold_accuracy(ds):
    truth = _truth(ds)
    ids = ds.values("id")
    sda2.set_gold(ds, {i: truth[i] for i in ids[8:]}, "lead")
    lq.create_queue(ds, "q", ids[:8], honeypot_rate=0.5)
    at = open_page("app_pages/labeling.py", ds.name, "alice")
    screens = {}  # what the labeler is shown: the buttons and the headline texts, per kind of item
    for _ in range(10):
        sid = _images(at)[0].caption.removeprefix("sample ")
        kind = "honeypot" if sid in ids[8:] else "item"
        screens.setdefault(kind, (sorted(b.key for b in at.button if b.key and b.key.startswith("label_")),
                                  [m.value for m in [*at.info, *at.warning, *at.error]]))
        at.button(key=f"label_{int(truth[sid])}").click().run()
        assert not at.exception, at.exception
        if len(screens) == 2:
            break
    assert screens["honeypot"] == screens["item"]  # a honeypot came, shown exactly like the queue's items
    (row,) = sda2.gold_accuracy(ds).itertuples()
    assert row.labeler == "alice" and row.answers == row.correct >= 1
    assert _truth(ds) == truth


def test_a_reviewer_rejects_with_a_reason_and_the_labeler_fixes_it(ds):
    truth = _truth(ds)
    ids = ds.values("id")[:3]
    lq.create_queue(ds, "q", ids, review="all")
    for sid in ids:
        lq.submit(ds, "q", "alice", sid, str((int(truth[sid]) + 1) % 10), 1.0)
    at = open_page("app_pages/labeling.py", ds.name, "rita")
    at.segmented_control(key="stage_mode").set_value("Review").run()
    assert f"Answer: **{(int(truth[ids[0]]) + 1) % 10}**" in _text(at)
    at.radio(key=f"review_stage_reason_{ids[0]}").set_value("wrong class").run()
    at.text_input(key=f"review_stage_note_{ids[0]}").input("look at the loop").run()
    at.button(key="review_stage_reject").click().run()
    assert not at.exception, at.exception
    at.button(key="review_stage_accept").click().run()  # the next one: accepted, written
    assert _truth(ds)[ids[1]] == str((int(truth[ids[1]]) + 1) % 10)
    mine = open_page("app_pages/labeling.py", ds.name, "alice")
    assert "rejected by rita: **wrong class** — look at the loop" in _text(mine)
    mine.button(key=f"rework_{ids[0]}_{int(truth[ids[0]])}").click().run()
    assert not mine.exception, mine.exception
    assert rs.rework_items(ds, "q", "alice").empty
    summary = sda2.review_summary(ds, "q")
    assert (summary["rejected"], summary["awaiting_review"]) == (1, 2)
    assert summary["rework_by_labeler"].set_index("labeler").loc["alice", "rejections"] == 1
    quality = open_page("app_pages/quality.py", ds.name, "rita")
    assert not quality.exception, quality.exception
    assert "Share rejected" in [m.label for m in quality.metric]
    assert "wrong class: 1" in _text(quality)
