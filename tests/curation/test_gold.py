"""Gold items on a real database: qualification gates queue work, honeypots are unseen, never labels, and pause."""

from __future__ import annotations

import pytest

import sda2
from sda2.curation import annotations, audit, gold, queue as lq


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits: the first 20 go in queues, the last 10 are gold."""
    return digits.limit(30).clone(dataset_name, persistent=True)


def _truth(ds) -> dict:
    return dict(zip(ds.values("id"), ds.values("ground_truth.label")))


def _wrong(label: str) -> str:
    return str((int(label) + 1) % 10)


def _gold_ids(ds) -> list[str]:
    return ds.values("id")[20:]


def test_set_gold_is_attributed_and_changes_no_label(ds):
    truth = _truth(ds)
    ids = _gold_ids(ds)
    assert sda2.set_gold(ds, {i: _wrong(truth[i]) for i in ids[:3]}, "Lead") == 3
    items = sda2.gold_items(ds)
    assert list(items["sample_id"]) == ids[:3] and set(items["set_by"]) == {"lead"}
    assert _truth(ds) == truth and audit.audit_log(ds).empty  # gold answers are not labels
    assert sda2.unset_gold(ds, ids[:1], "lead") == 1 and len(sda2.gold_items(ds)) == 2
    with pytest.raises(ValueError, match="not samples of"):
        sda2.set_gold(ds, {"0" * 24: "1"}, "lead")
    with pytest.raises(ValueError, match="needs a name"):
        sda2.set_gold(ds, {ids[0]: "1"}, "")


def test_qualification_blocks_a_failing_labeler_and_admits_a_passing_one(ds):
    truth = _truth(ds)
    sda2.set_gold(ds, {i: truth[i] for i in _gold_ids(ds)}, "lead")
    with pytest.raises(ValueError, match="needs 11 gold items"):
        sda2.create_qualification(ds, 11, 0.8)
    test = sda2.create_qualification(ds, 5, 0.8, created_by="lead")
    assert len(test["sample_ids"]) == 5 and set(test["sample_ids"]) <= set(_gold_ids(ds))
    lq.create_queue(ds, "q", ds.values("id")[:20], require_qualification=True)
    assert sda2.qualification_status(ds, "bob")["status"] == "not taken"
    with pytest.raises(sda2.LabelerBlocked, match="requires the qualification test"):
        lq.next_item(ds, "q", "bob")
    for i, sid in enumerate(iter(lambda: sda2.qualification_next(ds, "bob"), None)):  # bob gets 2 of 5 wrong
        status = sda2.answer_qualification(ds, "bob", sid, truth[sid] if i >= 2 else _wrong(truth[sid]), 1.0)
    assert (status["status"], status["score"], status["correct"]) == ("failed", 0.6, 3)
    with pytest.raises(sda2.LabelerBlocked, match="60%, below the pass mark of 80%"):
        lq.next_item(ds, "q", "bob")
    with pytest.raises(ValueError, match="finished"):
        sda2.answer_qualification(ds, "bob", test["sample_ids"][0], "1")
    for sid in iter(lambda: sda2.qualification_next(ds, "alice"), None):
        sda2.answer_qualification(ds, "alice", sid, truth[sid])
    assert sda2.qualification_status(ds, "Alice")["status"] == "passed"
    assert lq.next_item(ds, "q", "alice") == ds.values("id")[0]
    gold.set_pass_mark(ds, 0.6, "lead")  # the curator lowers the mark: bob's 60 % now passes
    assert sda2.qualification_status(ds, "bob")["status"] == "passed"
    assert sda2.reset_qualification(ds, "bob", "lead") == 5
    assert sda2.qualification_status(ds, "bob")["status"] == "not taken"
    assert annotations.annotations_frame(ds).empty  # test answers are not queue answers


def test_honeypots_are_mixed_in_unseen_and_never_change_labels(ds):
    truth = _truth(ds)
    gold_ids = _gold_ids(ds)
    sda2.set_gold(ds, {i: truth[i] for i in gold_ids}, "lead")
    lq.create_queue(ds, "q", ds.values("id")[:20], honeypot_rate=0.3)
    served, normal = [], []
    while (sid := lq.next_item(ds, "q", "alice")) is not None:
        view = lq.item(ds, "q", sid, "alice")
        assert set(view) == {"sample_id", "filepath", "field", "kind", "mode", "proposal", "prediction",
                             "your_answer", "required"}
        assert (view["proposal"], view["your_answer"], view["required"]) == (None, None, 1)
        wrong = sid in gold_ids and len(served) % 2  # every second honeypot answered wrong
        result = lq.submit(ds, "q", "alice", sid, _wrong(truth[sid]) if wrong else truth[sid], 1.0)
        assert result.status == "done"  # the same outcome as any single-answer item
        (served if sid in gold_ids else normal).append(sid)
    assert normal == ds.values("id")[:20] and 2 <= len(served) <= 10  # about 30 % of 20 items, no repeats
    assert len(set(served)) == len(served)
    assert _truth(ds) == {**truth, **{s: truth[s] for s in gold_ids}}  # honeypot answers wrote nothing
    assert set(annotations.annotations_frame(ds)["sample_id"]).isdisjoint(gold_ids)  # nor count as answers
    table = sda2.gold_accuracy(ds)
    (row,) = table.itertuples()
    assert row.labeler == "alice" and row.answers == len(served)
    assert row.correct == sum(1 for i in range(len(served)) if i % 2 == 0)
    assert row.low <= row.accuracy <= row.high
    assert lq.labeler_progress(ds, "q", "alice")["answered"] == 20 + len(served)  # honeypots count as items


def test_a_labeler_whose_gold_accuracy_falls_is_paused_until_a_curator_lifts_it(ds):
    truth = _truth(ds)
    gold_ids = _gold_ids(ds)
    sda2.set_gold(ds, {i: truth[i] for i in gold_ids}, "lead")
    sda2.set_pause_threshold(ds, 0.6, "lead")
    lq.create_queue(ds, "q", ds.values("id")[:20], honeypot_rate=0.5)
    wrong = 0
    with pytest.raises(sda2.LabelerBlocked, match="A curator can lift the pause") as blocked:
        for _ in range(40):
            sid = lq.next_item(ds, "q", "carol")
            wrong += sid in gold_ids
            lq.submit(ds, "q", "carol", sid, _wrong(truth[sid]), 1.0)  # always wrong
    assert wrong == 3  # Wilson upper bound: 0 of 1: 0.79, 0 of 2: 0.66, 0 of 3: 0.56 < 0.6
    assert "your accuracy on check items is 0%" in str(blocked.value)
    (row,) = sda2.gold_accuracy(ds).itertuples()
    assert (row.status, row.answers, row.correct) == ("paused", 3, 0) and row.high < 0.6
    assert sda2.lift_pause(ds, "carol", "lead") and gold.pause(ds, "carol") is None
    assert lq.next_item(ds, "q", "carol") is not None


def test_a_skipped_honeypot_is_not_offered_again_and_does_not_count(ds):
    truth = _truth(ds)
    gold_ids = _gold_ids(ds)
    sda2.set_gold(ds, {i: truth[i] for i in gold_ids}, "lead")
    lq.create_queue(ds, "q", ds.values("id")[:20], honeypot_rate=0.9)
    sid = lq.next_item(ds, "q", "dan")
    while sid not in gold_ids:
        lq.submit(ds, "q", "dan", sid, truth[sid], 1.0)
        sid = lq.next_item(ds, "q", "dan")
    lq.skip_item(ds, "q", "dan", sid)
    assert lq.next_item(ds, "q", "dan") != sid
    assert sda2.gold_accuracy(ds).empty
