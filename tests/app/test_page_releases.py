"""The Releases page headless (AppTest): make a release, see it listed, diff it against edits, build the report."""

from __future__ import annotations

import json

import pytest

from sda2.curation import edits, releases
from tests.apptest import open_page


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of the digits dataset."""
    return digits.clone(dataset_name, persistent=True)


def test_make_release_diff_and_report(ds, tmp_path):
    at = open_page("app_pages/releases.py", dataset=ds.name, annotator="alice")
    assert any("No releases yet" in i.value for i in at.info)
    at.text_input(key="release_version").input("v1")
    at.text_input(key="release_notes").input("first <b>hand-off</b>")
    at.button(key="make_release_button").click().run()
    assert not at.exception, at.exception
    assert any("v1" in s.value and f"{len(ds):,} samples" in s.value for s in at.success)
    (info,) = releases.list_releases(ds)
    assert (info.version, info.created_by, info.notes) == ("v1", "alice", "first <b>hand-off</b>")

    sid = ds.first().id
    old = ds.first().ground_truth.label
    edits.set_label(ds, sid, str((int(old) + 1) % 10), "bob", "looked again")
    at.run()
    assert [m.value for m in at.metric][:6] == ["0", "0", "0", "0", "1", "0"]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    shifts = {(t["name"], x): y for t in spec["data"] for x, y in zip(t["x"], t["y"]) if y}
    split = ds[sid].split
    assert shifts == {(split, old): -1, (split, str((int(old) + 1) % 10)): 1}
    changes = at.dataframe[1].value  # [0] lists the releases
    assert list(changes["sample_id"]) == [sid] and list(changes["who"]) == ["bob"]

    at.button(key="report_button").click().run()
    assert not at.exception, at.exception
    assert at.session_state["report_html"][1].startswith("<!DOCTYPE html>")

    at.text_input(key="export_out").input(str(tmp_path / "out"))
    at.selectbox(key="export_format").set_value("csv").run()
    at.button(key="export_button").click().run()
    assert any("Exported" in s.value for s in at.success), [e.value for e in at.error]
    assert (tmp_path / "out" / "labels.csv").exists()

    at.text_input(key="release_version").input("v1")
    at.button(key="make_release_button").click().run()
    assert any("already has a release" in e.value for e in at.error)


def test_collection_plan_section_measures_curves_and_says_how_far_to_trust_it(digits, dataset_name):
    from tests.conftest import private_copy
    from tests.explore.test_selection_dataset import pixel_features

    ds = private_copy(digits, dataset_name, limit=300)
    pixel_features(ds)
    releases.create_release(ds, "v1", "alice")
    at = open_page("app_pages/releases.py", dataset=ds.name, annotator="alice")
    at.button(key="plan_measure").click().run(timeout=180)
    assert not at.exception, at.exception
    assert any(w.value.startswith("How far to trust it") for w in at.warning)
    assert any(len(d.value) == 10 for d in at.dataframe)  # one row per class
    assert len(at.get("plotly_chart")) >= 1
