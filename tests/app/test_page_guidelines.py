"""The Guidelines page headless through AppTest: schema, two guideline versions with examples, the history,
relabeling queued for the changed class; the guideline beside the labeling panel."""

from __future__ import annotations

import pytest

from sda2.curation import annotations, class_schema as cs, guidelines, queue as lq
from sda2.ui import sample_grid
from tests.apptest import open_page
from tests.conftest import private_copy


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits."""
    return private_copy(digits, dataset_name, 30)


def _button(at, label: str):
    return next(b for b in at.button if b.label.startswith(label))


def _text(at) -> str:
    return " ".join([m.value for m in at.markdown] + [m.value for m in at.caption] + [m.value for m in at.success]
                    + [m.value for m in at.error] + [m.value for m in at.info])


def test_two_versions_then_relabel_the_changed_class(ds):
    cs.set_class_schema(ds, [{"name": str(d), "key": str(d)} for d in range(10)], author="carol")
    ids = ds.values("id")
    sevens = [i for i, label in zip(ids, ds.values("ground_truth.label")) if label == "7"]
    at = open_page("app_pages/guidelines.py", ds.name, "carol", **{sample_grid.CHECKED: set(sevens[:2])})
    assert "Class schema v1" in [h.value for h in at.subheader]
    at.text_area(key="guide_text_0").set_value("# Digits\n- A 7 may have a bar.").run()
    at.selectbox(key="guide_class").set_value("7").run()
    _button(at, "Add the 2 samples ticked").click().run()
    assert not at.exception, at.exception
    assert len([img for el in at.get("image") for img in el.proto.imgs]) == 2  # their thumbnails
    _button(at, "Save as version 1").click().run()
    assert guidelines.guideline(ds)["examples"] == {"7": {"positive": sevens[:2]}}
    # labelers answer under v1
    lq.create_queue(ds, "round1", sevens, created_by="carol")
    for sid in sevens:
        lq.submit(ds, "round1", "bob", sid, "7", 1.0)
    assert {d["guideline_version"] for d in annotations.find(ds)} == {1}
    at.text_area(key="guide_text_1").set_value("# Digits\n- A 7 with a bar is a 7; without a tail it is a 1.").run()
    at.multiselect(key="guide_changed_1").set_value(["7"])
    at.text_input(key="guide_note_1").set_value("bars and tails")
    _button(at, "Save as version 2").click().run()
    assert guidelines.current_version(ds) == 2
    history = next(d.value for d in at.dataframe if "what changed" in d.value.columns)
    assert history["version"].tolist() == [2, 1] and history["changed classes"].tolist()[0] == "7"
    assert history["note"].tolist()[0] == "bars and tails"
    _button(at, "Queue relabeling for changed classes").click().run()
    assert not at.exception, at.exception
    assert set(lq.items_frame(ds, "relabel v2")["sample_id"]) == set(sevens)
    assert f"{len(sevens)} samples to relabel" in _text(at)
    # the labeling page shows the guideline beside the panel, searchable
    labeling = open_page("app_pages/labeling.py", ds.name, "bob", labeling_queue="relabel v2")
    assert any(e.label == "Guideline v2" for e in labeling.expander)
    labeling.text_input(key="label_guide_search").set_value("tail").run()
    assert "without a tail" in _text(labeling) and "Digits" in _text(labeling)


def test_bad_example_ids_are_named(ds):
    cs.set_class_schema(ds, ["고양이", "a very long class name with spaces"], author="carol")
    at = open_page("app_pages/guidelines.py", ds.name, "carol")
    at.selectbox(key="guide_class").set_value("고양이").run()
    at.text_area(key="guide_ids_0_고양이_positive").set_value("not-an-id").run()
    assert "are not samples of this dataset" in _text(at)
    _button(at, "Save as version 1").click().run()
    assert "not samples of" in _text(at) and guidelines.current_version(ds) == 0
