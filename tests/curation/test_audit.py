"""The audit log: stored with the dataset, browsed as a DataFrame, exported, dropped with the dataset."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import fiftyone.core.odm as foo
from sda2 import store
from sda2.curation import audit, edits
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of the digits dataset with three logged decisions by two people."""
    ds = private_copy(digits, dataset_name)
    a, b, c = ds.limit(3).values("id")
    edits.set_label(ds, a, "9", "alice", "tail of a 9, not a 0")
    edits.mark(ds, [b, c], "ambiguous", "bob", "too blurry")
    return ds


def test_log_lives_in_a_collection_named_after_the_dataset(ds):
    name = audit.PREFIX + str(ds._doc.id)
    assert name in foo.get_db_conn().list_collection_names()
    assert foo.get_db_conn()[name].count_documents({}) == 3


def test_browse_as_dataframe_with_filters(ds):
    log = audit.audit_log(ds)
    assert list(log.columns) == audit.COLUMNS and len(log) == 3
    assert str(log["at"].dt.tz) == "UTC"
    assert log["at"].is_monotonic_decreasing
    alice = audit.audit_log(ds, annotator="alice")
    assert len(alice) == 1
    row = alice.iloc[0]
    assert (row["field"], row["new"], row["reason"], row["kind"]) == ("ground_truth", "9", "tail of a 9, not a 0",
                                                                      "label")
    bob = audit.audit_log(ds, annotator="bob")
    assert set(bob["field"]) == {"tags:ambiguous"} and bob["batch_id"].nunique() == 1
    assert len(audit.audit_log(ds, sample_id=row["sample_id"])) == 1


def test_export_csv_and_json_read_back(ds, tmp_path):
    csv_text = audit.export_log(ds, tmp_path / "log.csv")
    back = pd.read_csv(tmp_path / "log.csv")
    assert csv_text == (tmp_path / "log.csv").read_text()
    assert len(back) == 3 and set(back["annotator"]) == {"alice", "bob"}
    records = json.loads(audit.export_log(ds, tmp_path / "log.json"))
    assert len(records) == 3 and {r["reason"] for r in records} == {"tail of a 9, not a 0", "too blurry"}
    with pytest.raises(ValueError, match="use 'csv' or 'json'"):
        audit.export_log(ds, tmp_path / "log.xlsx")


def test_last_batch_and_last_setter(ds):
    bob_batch = audit.last_batch(ds, "bob")
    assert audit.last_batch(ds) == bob_batch
    sid = audit.audit_log(ds, annotator="alice").iloc[0]["sample_id"]
    assert audit.last_setter(ds, sid, "ground_truth", "9")["annotator"] == "alice"
    assert audit.last_setter(ds, sid, "ground_truth", "4") is None
    assert audit.last_setter(ds, sid, "tags:excluded", True) is None


def test_log_of_a_deleted_dataset_is_dropped(digits, dataset_name):
    ds = private_copy(digits, dataset_name)
    edits.mark(ds, [ds.first().id], "reviewed", "alice")
    name = audit.PREFIX + str(ds._doc.id)
    store.delete_dataset(dataset_name)
    assert name in audit.drop_orphans()
    assert name not in foo.get_db_conn().list_collection_names()


def test_reconcile_is_public_and_settles_by_the_ids_on_the_samples(ds):
    """Pending entries of a dead writer: confirmed when their id is on the sample, removed when not."""
    from datetime import datetime, timezone

    from bson import ObjectId

    a, b = ds.skip(5).limit(2).values("id")
    coll = audit.collection(ds)
    dead = {"host": __import__("socket").gethostname(), "pid": 2 ** 22 + 7, "started": "0"}
    entries = [{"_id": ObjectId(), "sample_id": s, "field": "ground_truth", "old": ds[s].ground_truth.label,
                "new": "0", "annotator": "zed", "annotator_key": "zed", "at": datetime.now(timezone.utc),
                "batch_id": "crashed", "kind": "label", "undone": False, "applied": False, "owner": dead}
               for s in (a, b)]
    coll.insert_many(entries)
    ds._sample_collection.update_one({"_id": ObjectId(a)}, {"$set": {"ground_truth.label": "0"},
                                                            "$push": {audit.EDIT_IDS_FIELD: str(entries[0]["_id"])}})
    counts = audit.reconcile(ds)
    assert (counts["confirmed"], counts["removed"], counts["in_flight"]) == (1, 1, 0)
    assert [e["sample_id"] for e in audit.find(ds, batch_id="crashed")] == [a]
    assert audit.reconcile(ds)["checked"] == 0  # nothing left; running it again changes nothing
