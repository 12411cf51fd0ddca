"""Bulk actions and find-similar on a real database: preview counts exact, stored values after apply and undo."""

from __future__ import annotations

import numpy as np
import pytest

import sda2
from sda2.curation import audit, bulk, edits
from sda2.curation import queue as lq
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits."""
    return private_copy(digits, dataset_name, 30)


def _labels(ds, ids):
    return dict(zip(ds.select(ids, ordered=True).values("id"), ds.select(ids, ordered=True).values("ground_truth.label")))


def _tags(ds, ids):
    return dict(zip(ds.select(ids, ordered=True).values("id"), ds.select(ids, ordered=True).values("tags")))


def test_relabel_preview_counts_are_exact_and_apply_then_undo_restore_every_value(ds):
    ids = ds.values("id")[:12]
    before = _labels(ds, ids)
    target = before[ids[0]]  # some samples already have it
    preview = sda2.preview_bulk(ds, ids + ids[:2], "relabel", target)  # repeats count once
    expected_old = {sid: lab for sid, lab in before.items() if lab != target}
    assert preview.selected == 12
    assert preview.changes == len(expected_old) and preview.already == 12 - len(expected_old)
    assert set(preview.already_ids) == {s for s, lab in before.items() if lab == target}
    want = {}
    for lab in expected_old.values():
        want[lab] = want.get(lab, 0) + 1
    got = dict(zip(preview.transitions["old"], preview.transitions["count"]))
    assert got == want and set(preview.transitions["new"]) == {target}
    assert int(bulk.preview_frame(preview)["count"].sum()) == 12

    result = bulk.apply_bulk(ds, preview, "alice", "these are all " + target)
    assert result.changed == len(expected_old)
    assert _labels(ds, ids) == {sid: target for sid in ids}
    log = audit.audit_log(ds)
    assert len(log) == len(expected_old) and set(log["batch_id"]) == {result.batch_id}
    assert set(log["annotator"]) == {"alice"}
    assert sda2.undo_bulk(ds, result, "alice") == len(expected_old)
    assert _labels(ds, ids) == before


def test_tag_mark_and_exclude_are_one_batch_each_with_exact_counts(ds):
    ids = ds.values("id")[:10]
    edits.tag(ds, ids[:3], "check", "bob")
    preview = sda2.preview_bulk(ds, ids, "tag", "check")
    assert (preview.changes, preview.already) == (7, 3) and set(preview.already_ids) == set(ids[:3])
    assert int(preview.transitions["count"].sum()) == 7
    result = sda2.bulk_tag(ds, ids, "check", "alice")
    assert result.changed == 7 and all("check" in t for t in _tags(ds, ids).values())
    sda2.undo_bulk(ds, result.batch_id, "alice")
    assert [("check" in t) for t in _tags(ds, ids).values()] == [True] * 3 + [False] * 7  # bob's tags stay

    excluded = sda2.bulk_exclude(ds, ids[4:8], "alice")
    assert excluded.changed == 4
    assert sorted(ds.match_tags("excluded").values("id")) == sorted(ids[4:8])
    marked = sda2.bulk_mark(ds, ids[:6], "ambiguous", "alice")
    assert marked.changed == 6 and len(ds.match_tags("ambiguous")) == 6
    removed = sda2.bulk_tag(ds, ids, "check", "alice", remove=True)
    assert removed.changed == 3 and len(ds.match_tags("check")) == 0
    assert len(set(audit.audit_log(ds)["batch_id"])) == 6  # bob's tag, tag, its undo, exclude, mark, untag
    sda2.undo_bulk(ds, excluded, "alice")
    assert len(ds.match_tags("excluded")) == 0 and len(ds.match_tags("ambiguous")) == 6


def test_a_change_after_the_preview_is_a_conflict_and_nothing_is_written(ds):
    ids = ds.values("id")[:5]
    before = _labels(ds, ids)
    target = str((int(before[ids[0]]) + 1) % 10)
    preview = sda2.preview_bulk(ds, ids, "relabel", target)
    other = str((int(target) + 1) % 10)
    changed = next(s for s in preview.change_ids)
    edits.set_label(ds, changed, other, "bob", "fixed meanwhile")
    with pytest.raises(edits.EditConflict, match="bob"):
        bulk.apply_bulk(ds, preview, "alice")
    after = _labels(ds, ids)
    assert after == {**before, changed: other}  # nothing of alice's batch was written


def test_queue_from_a_selection_and_its_undo(ds):
    ids = ds.values("id")[5:9]
    result = sda2.bulk_queue(ds, ids, "recheck", "alice")
    assert result.queue == "recheck" and lq.items_frame(ds, "recheck")["sample_id"].tolist() == ids
    assert sda2.undo_bulk(ds, result, "alice") == 4 and lq.queue_names(ds) == []
    again = sda2.bulk_queue(ds, ids, "recheck", "alice")
    sid = lq.next_item(ds, "recheck", "bob")
    lq.submit(ds, "recheck", "bob", sid, "3", seconds=1.0)
    with pytest.raises(ValueError, match="answer"):
        sda2.undo_bulk(ds, again, "alice")


def test_bad_inputs_get_clear_errors_and_write_nothing(ds):
    ids = ds.values("id")[:3]
    cases = [
        (lambda: sda2.preview_bulk(ds, [], "tag", "x"), "empty"),
        (lambda: sda2.preview_bulk(ds, ["nope"], "tag", "x"), "not sample ids"),
        (lambda: sda2.preview_bulk(ds, ids + ["0" * 24], "tag", "x"), "not in"),
        (lambda: sda2.preview_bulk(ds, ids, "paint", "x"), "Unknown bulk action"),
        (lambda: sda2.preview_bulk(ds, ids, "relabel", "not-a-class"), "Unknown class"),
        (lambda: sda2.preview_bulk(ds, ids, "relabel", None), "needs a label"),
        (lambda: sda2.preview_bulk(ds, ids, "tag", "  "), "tag needs a name"),
        (lambda: sda2.preview_bulk(ds, ids, "mark", "great"), "Unknown mark"),
        (lambda: sda2.preview_bulk(ds, ids, "queue", ""), "queue name is empty"),
        (lambda: sda2.bulk_relabel(ds, ids, "3", "  "), "annotator|name"),
    ]
    for call, message in cases:
        with pytest.raises((ValueError, KeyError), match=message):
            call()
    assert len(audit.audit_log(ds)) == 0


def test_find_similar_returns_nearest_by_cosine_within_a_view(ds):
    ids = ds.values("id")
    rng = np.random.default_rng(0)
    base = rng.normal(size=(len(ids), 8)).astype(np.float32)
    base[1:4] = base[0] * np.array([2.0, 3.0, 0.5])[:, None] + 0.01 * rng.normal(size=(3, 8))  # same direction
    sda2.import_embeddings(ds, base, key="embeddings_test", ids=ids)
    found = sda2.find_similar(ds, ids[0], k=3, embeddings_key="embeddings_test")
    assert set(found["id"]) == set(ids[1:4]) and ids[0] not in set(found["id"])
    assert found["rank"].tolist() == [1, 2, 3] and (found["similarity"] > 0.99).all()
    cosine = base @ base[0] / np.linalg.norm(base, axis=1) / np.linalg.norm(base[0])
    order = [ids[i] for i in np.argsort(-cosine) if i != 0][:5]
    assert sda2.find_similar(ds, ids[0], k=5, embeddings_key="embeddings_test")["id"].tolist() == order
    within = sda2.find_similar(ds.select(ids[10:]), ids[0], k=4, embeddings_key="embeddings_test")
    assert set(within["id"]) <= set(ids[10:]) and len(within) == 4
    with pytest.raises(KeyError, match="No embeddings 'nope'"):
        sda2.find_similar(ds, ids[0], embeddings_key="nope")
    with pytest.raises(KeyError, match="not a sample"):
        sda2.find_similar(ds, "0" * 24, embeddings_key="embeddings_test")
    with pytest.raises(ValueError, match="whole number"):
        sda2.find_similar(ds, ids[0], k=0, embeddings_key="embeddings_test")
    # acted on like any selection
    result = sda2.bulk_tag(ds, found["id"], "like-first", "alice")
    assert result.changed == 3 and sorted(ds.match_tags("like-first").values("id")) == sorted(found["id"])
