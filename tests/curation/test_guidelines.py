"""Versioned guidelines on a real database: versions and what changed, answers carry the version,
relabel_outdated picks exactly the outdated answers, concurrent saves from two processes lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

import sda2
from sda2.curation import annotations, guidelines, queue as lq, relabel
from tests.conftest import private_copy
from tests.faults.conftest import run_python


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits."""
    return private_copy(digits, dataset_name, 30)


def test_versions_say_what_changed(ds):
    ids = ds.values("id")
    assert sda2.guideline(ds) is None and guidelines.current_version(ds) == 0
    v1 = sda2.save_guideline(ds, "# Digits\nLabel the digit you see.", {"1": {"positive": ids[:2], "edge": [ids[2]]}},
                             note="pilot", author="carol")
    assert v1["version"] == 1 and v1["changes"] == {"text": True, "examples": ["1"]} and v1["changed_classes"] == ["1"]
    v2 = sda2.save_guideline(ds, "# Digits\nLabel the digit you see.", {"1": {"positive": ids[:2], "edge": [ids[2]]},
                                                                        "7": {"negative": [ids[3]]}}, author="carol")
    assert v2["changes"] == {"text": False, "examples": ["7"]} and v2["changed_classes"] == ["7"]
    v3 = sda2.save_guideline(ds, "# Digits\nA 7 with a bar is still a 7.", None, changed_classes=["7", "1"],
                             note="bars", author="dave")
    assert v3["examples"] == v2["examples"] and v3["changed_classes"] == ["7", "1"] and v3["changes"]["text"]
    assert sda2.guideline(ds)["version"] == 3 and sda2.guideline(ds, version=1)["note"] == "pilot"
    history = sda2.guideline_history(ds)
    assert history["version"].tolist() == [3, 2, 1] and history["author"].tolist() == ["dave", "carol", "carol"]
    assert history["n_examples"].tolist() == [4, 4, 3]
    examples = guidelines.example_samples(ds)
    assert sorted(zip(examples["class"], examples["kind"])) == [("1", "edge"), ("1", "positive"), ("1", "positive"),
                                                                 ("7", "negative")]
    assert examples["filepath"].notna().all()
    with pytest.raises(KeyError, match="no guideline version 9"):
        sda2.guideline(ds, version=9)


def test_bad_examples_are_refused(ds, digits):
    with pytest.raises(ValueError, match="class 'cat'.*Fix: add it to the class schema"):
        sda2.save_guideline(ds, "x", {"cat": {"positive": [ds.first().id]}}, author="carol")
    with pytest.raises(ValueError, match="not samples of.*Fix: pick examples from the dataset itself"):
        sda2.save_guideline(ds, "x", {"1": {"positive": [digits.last().id]}}, author="carol")
    with pytest.raises(ValueError, match="Unknown example kind 'good'"):
        sda2.save_guideline(ds, "x", {"1": {"good": [ds.first().id]}}, author="carol")
    with pytest.raises(ValueError, match="annotator's name"):
        sda2.save_guideline(ds, "x", author="")
    assert guidelines.current_version(ds) == 0


def test_answers_carry_the_version_and_relabel_picks_exactly_the_outdated(ds):
    ids = ds.values("id")
    labels = dict(zip(ids, ds.values("ground_truth.label")))
    ones = [i for i in ids if labels[i] == "1"][:2]
    sevens = [i for i in ids if labels[i] == "7"][:2]
    others = [i for i in ids if labels[i] not in ("1", "7")][:2]
    assert len(ones) == 2 and len(sevens) == 2
    with pytest.raises(ValueError, match="no guideline yet"):
        sda2.relabel_outdated(ds, "relabel", annotator="carol")
    annotations.record_annotation(ds, ones[0], "alice", "1", 1.0, queue="before")  # before any guideline: v0
    sda2.save_guideline(ds, "v1", {"1": {"positive": [ones[1]]}}, author="carol")
    lq.create_queue(ds, "round1", ones[1:] + sevens + others, created_by="carol")
    for sid, label in [(ones[1], "1"), (sevens[0], "7"), (sevens[1], "1"), (others[0], labels[others[0]]),
                       (others[1], "7")]:
        lq.submit(ds, "round1", "bob", sid, label, 2.0)
    docs = annotations.find(ds)
    assert {d["sample_id"]: d["guideline_version"] for d in docs if d["queue"] == "round1"} == dict.fromkeys(
        ones[1:] + sevens + others, 1)
    assert [d["guideline_version"] for d in docs if d["queue"] == "before"] == [0]
    sda2.save_guideline(ds, "v2: sevens have bars", changed_classes=["7"], author="carol")
    # answered "7" under v1 (class 7 changed in v2): sevens[0] and others[1]; the "1" answers given under v1
    # are not outdated (class 1 did not change after v1), the "1" answer given before v1 is (v1 changed class 1)
    expected = {sevens[0], others[1], ones[0]}
    assert {a["sample_id"] for a in relabel.outdated_answers(ds)} == expected
    # classes given explicitly: "1" answers given before v2 (the v0 one and the v1 ones)
    assert {a["sample_id"] for a in relabel.outdated_answers(ds, classes=["1"])} == {ones[0], ones[1], sevens[1]}
    queue = sda2.relabel_outdated(ds, "relabel-7", annotator="carol")
    assert set(lq.items_frame(ds, "relabel-7")["sample_id"]) == expected and queue["n_items"] == 3
    assert queue["meta"]["guideline_version"] == 2 and queue["meta"]["classes"] == ["1", "7"]
    sid = lq.next_item(ds, "relabel-7", "bob")
    lq.submit(ds, "relabel-7", "bob", sid, "7", 1.0)
    # answered again under v2: no longer outdated
    assert {a["sample_id"] for a in relabel.outdated_answers(ds)} == expected - {sid}
    with pytest.raises(ValueError, match="Nothing to relabel"):
        sda2.relabel_outdated(ds, "none", classes=["3"], annotator="carol")


def test_concurrent_saves_from_two_processes_lose_no_version(ds):
    def code(who: str) -> str:
        return f"""
            from sda2 import store
            from sda2.curation import guidelines
            ds = store.open_dataset({ds.name!r})
            for i in range(15):
                guidelines.save_guideline(ds, "text " + str(i), author={who!r} + str(i))
        """

    with ThreadPoolExecutor(2) as pool:  # two real processes saving at the same time
        procs = list(pool.map(lambda who: run_python(code(who)), ("a", "b")))
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-2000:] for p in procs]
    history = guidelines.guideline_history(ds)
    assert sorted(history["version"]) == list(range(1, 31))
    assert sorted(history["author"]) == sorted(f"{w}{i}" for w in "ab" for i in range(15))
