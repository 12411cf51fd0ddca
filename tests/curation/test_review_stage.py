"""The review stage on a real database: only accepted answers become labels, rejections return with the reason."""

from __future__ import annotations

import pytest

import sda2
from sda2.curation import audit, queue as lq, review_stage as rs


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 20 digits."""
    return digits.limit(20).clone(dataset_name, persistent=True)


def _truth(ds) -> dict:
    return dict(zip(ds.values("id"), ds.values("ground_truth.label")))


def _other(label: str) -> str:
    return str((int(label) + 1) % 10)


def _label_all(ds, queue: str, who: str, answer) -> list[str]:
    done = []
    while (sid := lq.next_item(ds, queue, who)) is not None:
        lq.submit(ds, queue, who, sid, answer(sid), 1.0)
        done.append(sid)
    return done


def test_only_accepted_answers_become_labels_and_a_rejection_returns_with_its_reason(ds):
    truth = _truth(ds)
    ids = ds.values("id")[:6]
    lq.create_queue(ds, "q", ids, review="all")
    _label_all(ds, "q", "alice", lambda s: _other(truth[s]))  # every answer differs from the current label
    assert _truth(ds) == truth and audit.audit_log(ds).empty  # nothing written before review
    assert lq.queue_progress(ds, "q")["review"] == 6
    assert rs.next_review(ds, "q", "alice") is None  # a labeler never reviews her own answer
    with pytest.raises(ValueError, match="cannot review it"):
        sda2.review_answer(ds, "q", ids[0], "alice", "accept")
    view = rs.review_view(ds, "q", ids[0])
    assert (view["answer_text"], view["labelers"]) == (_other(truth[ids[0]]), ["alice"])
    with pytest.raises(ValueError, match="needs a reason"):
        sda2.review_answer(ds, "q", ids[0], "rita", "reject")
    with pytest.raises(ValueError, match="needs a note"):
        sda2.review_answer(ds, "q", ids[0], "rita", "reject", reason="other")
    out = sda2.review_answer(ds, "q", ids[0], "Rita", "reject", reason="wrong class", note="the loop is closed")
    assert out.status == "rework" and _truth(ds)[ids[0]] == truth[ids[0]]
    (row,) = sda2.rework_items(ds, "q", "alice").itertuples()
    assert (row.sample_id, row.reason, row.note, row.reviewer) == (ids[0], "wrong class", "the loop is closed", "rita")
    assert sda2.rework_items(ds, "q", "bob").empty
    for sid in ids[1:]:
        assert sda2.review_answer(ds, "q", sid, "rita", "accept").status == "done"
    assert {s: l for s, l in _truth(ds).items() if s in ids[1:]} == {s: _other(truth[s]) for s in ids[1:]}
    entry = audit.find(ds, sample_id=ids[1])[0]
    assert entry["meta"]["reviewed_by"] == "rita" and entry["annotator"] == "alice"
    # alice fixes the rejected item: it goes to review again, and is delivered once accepted
    assert lq.submit(ds, "q", "alice", ids[0], truth[ids[0]], 1.0).status == "review"
    assert sda2.rework_items(ds, "q", "alice").empty and rs.next_review(ds, "q", "rita") == ids[0]
    assert sda2.review_answer(ds, "q", ids[0], "rita", "accept").status == "done"
    summary = sda2.review_summary(ds, "q")
    assert (summary["delivered"], summary["reviewed"], summary["rejected"], summary["decisions"]) == (6, 6, 1, 7)
    assert summary["share_reviewed"] == 1.0 and summary["share_rejected"] == pytest.approx(1 / 6)
    assert summary["first_pass_acceptance"] == pytest.approx(5 / 6)
    assert summary["accuracy"] == 1.0  # every delivered item was accepted by a reviewer
    (lab,) = summary["rework_by_labeler"].itertuples()
    assert (lab.labeler, lab.answers, lab.rejections) == ("alice", 6, 1)
    per_class = summary["rework_by_class"].set_index("class")
    assert per_class.loc[_other(truth[ids[0]]), "rejections"] == 1 and per_class["rejections"].sum() == 1
    assert summary["reasons"] == {"wrong class": 1}


def test_a_sampled_review_share_delivers_the_rest_and_estimates_accuracy(ds):
    truth = _truth(ds)
    ids = ds.values("id")
    definition = lq.create_queue(ds, "q", ids, review=0.25, seed=1)
    assert definition["review"] == 0.25
    _label_all(ds, "q", "alice", lambda s: truth[s])
    counts = lq.queue_progress(ds, "q")
    assert (counts["done"], counts["review"]) == (15, 5)
    waiting = list(rs.review_items(ds, "q", "rita")["sample_id"])
    sda2.review_answer(ds, "q", waiting[0], "rita", "reject", reason="ambiguous image")
    for sid in waiting[1:]:
        sda2.review_answer(ds, "q", sid, "rita", "accept")
    summary = sda2.review_summary(ds, "q")
    assert (summary["delivered"], summary["delivered_reviewed"], summary["in_rework"]) == (19, 4, 1)
    assert summary["share_reviewed"] == pytest.approx(4 / 19)
    # 15 unreviewed items at the first-pass acceptance of 4 / 5, the 4 accepted ones right
    assert summary["accuracy"] == pytest.approx((4 + 15 * 0.8) / 19)
    assert summary["accuracy_low"] < summary["accuracy"] < summary["accuracy_high"] <= 1.0


def test_review_options_are_checked(ds):
    with pytest.raises(ValueError, match="review is 'all' or the share"):
        lq.create_queue(ds, "q", ds.values("id"), review=1.5)
    lq.create_queue(ds, "plain", ds.values("id"))
    with pytest.raises(ValueError, match="has no review stage"):
        sda2.review_summary(ds, "plain")
