"""The Labeling page headless through AppTest: name required, make a queue, label by buttons, back, boxes."""

from __future__ import annotations

from pathlib import Path

import pytest
import fiftyone as fo
from sda2.curation import annotations, queue as lq
from tests.apptest import open_page

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def app_path() -> str:
    """The real app.py (every page is in its PAGES)."""
    return str(ROOT / "app.py")


def _button(at, label: str):
    return next(b for b in at.button if b.label == label)


def _images(at) -> list:
    return [img for element in at.get("image") for img in element.proto.imgs]


def _text(at) -> str:
    return " ".join([m.value for m in at.markdown] + [m.value for m in at.caption] + [m.value for m in at.info]
                    + [m.value for m in at.success] + [m.value for m in at.warning])


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 30 digits."""
    return digits.limit(30).clone(dataset_name, persistent=True)


def test_an_anonymous_labeler_is_asked_for_a_name(app_path, ds):
    at = open_page("app_pages/labeling.py", ds.name, app=app_path)
    assert "Type your name in the sidebar" in _text(at)
    assert not [b for b in at.button if b.label == "Create queue"]


def test_create_a_queue_then_label_with_the_class_buttons(app_path, ds):
    at = open_page("app_pages/labeling.py", ds.name, "alice", app=app_path)
    assert "No labeling queue yet" in _text(at)
    at.text_input(key="new_queue_name").input("first")
    at.number_input(key="new_queue_per_sample").set_value(2)
    at.slider(key="new_queue_overlap").set_value(0.5)
    _button(at, "Create queue").click().run()
    assert not at.exception, at.exception
    definition = lq.get_queue(ds, "first")
    assert (definition["n_items"], definition["n_multi"], definition["created_by"]) == (30, 15, "alice")
    assert at.selectbox(key="labeling_queue").value == "first"
    first = lq.items_frame(ds, "first")["sample_id"][0]
    assert _images(at)[0].caption == f"sample {first}"
    # the class buttons carry the class names as keys (digits: "0".."9")
    three = at.button(key="label_3")
    assert three.label == "3" and three.proto.shortcut.lower() == "3"
    three.click().run()
    assert not at.exception, at.exception
    frame = annotations.annotations_frame(ds, queue="first")
    assert frame[["sample_id", "annotator", "label"]].values.tolist() == [[first, "alice", "3"]]
    assert frame["seconds"][0] > 0
    second = lq.items_frame(ds, "first")["sample_id"][1]
    assert _images(at)[0].caption == f"sample {second}"
    assert at.get("progress")[0].proto.text.startswith("alice: 1 answered, 29 left for you")
    # Back brings her first item with her answer; she changes it
    at.button(key="label_back").click().run()
    assert "Your earlier answer: **3**" in _text(at)
    at.button(key="label_5").click().run()
    frame = annotations.annotations_frame(ds, queue="first")
    assert frame.set_index("sample_id").loc[first, "label"] == "5" and len(frame) == 1
    # Skip passes the item on
    at.button(key="label_skip").click().run()
    assert lq.labeler_progress(ds, "first", "alice")["skipped"] == 1


def test_the_next_image_is_preloaded_in_a_hidden_container(app_path, ds):
    lq.create_queue(ds, "pre", ds.limit(3).values("id"))
    at = open_page("app_pages/labeling.py", ds.name, "bob", app=app_path)
    current, upcoming = _images(at)  # the current one, and the next one inside the hidden preload container
    assert current.url.endswith(".png") and current.url != upcoming.url
    at.button(key="label_1").click().run()
    assert _images(at)[0].url == upcoming.url  # the browser fetched this URL already: no wait


def test_detection_boxes_are_reviewed_kept_rejected_and_reclassed(app_path, ds):
    ids = ds.limit(2).values("id")
    view = ds.select(ids)
    for name in ("ground_truth_boxes", "predicted_boxes"):
        ds.add_sample_field(name, fo.EmbeddedDocumentField, embedded_doc_type=fo.Detections)
    view.set_values("ground_truth_boxes", [fo.Detections(detections=[fo.Detection(label="digit", bounding_box=[
        0.1, 0.1, 0.5, 0.5])])] * 2)
    view.set_values("predicted_boxes", [fo.Detections(detections=[
        fo.Detection(label="digit", bounding_box=[0.1, 0.1, 0.5, 0.5], confidence=0.9),
        fo.Detection(label="noise", bounding_box=[0.6, 0.6, 0.3, 0.3], confidence=0.4)])] * 2)
    lq.create_queue(ds, "boxes", ids, field="ground_truth_boxes")
    at = open_page("app_pages/labeling.py", ds.name, "carol", app=app_path, label_field="ground_truth_boxes",
                   prediction_field="predicted_boxes")
    assert "Keys: S skip" in _text(at)
    at.checkbox(key=f"label_keep_{ids[0]}_1").uncheck().run()
    assert _button(at, "Submit 1 box(es)")
    _button(at, "Submit 1 box(es)").click().run()
    assert not at.exception, at.exception
    ds.reload()
    written = ds[ids[0]].ground_truth_boxes.detections
    assert [(d.label, d.bounding_box) for d in written] == [("digit", [0.1, 0.1, 0.5, 0.5])]
    assert annotations.annotations_frame(ds, queue="boxes")["label"].tolist() == ["digit"]


def test_boxes_drawn_on_the_canvas_map_to_relative_image_coordinates():
    from sda2.ui.labeling_widgets import canvas_boxes

    square = canvas_boxes([{"type": "rect", "left": 64, "top": 128, "width": 256, "height": 128}], (8, 8), 512)
    assert square == [pytest.approx([0.125, 0.25, 0.5, 0.25])]
    # a 200x100 image is shown 512x256, centred 128 px down; a resized rect counts its scale; off-image parts clip
    wide = canvas_boxes([{"type": "Rect", "left": 0, "top": 128, "width": 128, "height": 64, "scaleX": 2.0},
                         {"type": "rect", "left": 500, "top": 0, "width": 100, "height": 140},
                         {"type": "path"}], (200, 100), 512)
    assert wide[0] == pytest.approx([0.0, 0.0, 0.5, 0.25])
    assert wide[1] == pytest.approx([500 / 512, 0.0, 12 / 512, 12 / 256])


def test_multi_tag_labels_are_toggled_then_submitted(app_path, ds):
    ids = ds.limit(2).values("id")
    ds.add_sample_field("tags_gt", fo.EmbeddedDocumentField, embedded_doc_type=fo.Classifications)
    ds.select(ids).set_values("tags_gt", [fo.Classifications(classifications=[fo.Classification(label=t)])
                                          for t in ("round", "thin")])
    lq.create_queue(ds, "tags", ids, field="tags_gt")
    at = open_page("app_pages/labeling.py", ds.name, "erin", app=app_path, label_field="tags_gt")
    assert [b.label for b in at.button if b.key in ("label_0", "label_1")] == ["round", "thin"]
    assert at.button(key="label_0").proto.shortcut == "1"  # class names are not keys: numbers are
    for key in ("label_0", "label_1", "label_1"):  # round on, thin on, thin off again
        at.button(key=key).click().run()
    assert at.button(key="label_0").proto.type == "primary" and at.button(key="label_1").proto.type == "secondary"
    at.button(key="label_1").click().run()
    at.button(key="label_submit").click().run()
    assert not at.exception, at.exception
    assert annotations.annotations_frame(ds, queue="tags")["label"].tolist() == ["round|thin"]
    ds.reload()
    assert sorted(c.label for c in ds[ids[0]].tags_gt.classifications) == ["round", "thin"]


def test_shortcut_keys_use_class_names_when_they_are_free_keys_else_numbers():
    from sda2.ui.labeling_widgets import shortcut_keys

    assert shortcut_keys(["0", "1", "9"]) == {"0": "0", "1": "1", "9": "9"}
    assert shortcut_keys(["x", "y"]) == {"x": "X", "y": "Y"}
    assert shortcut_keys(["cat", "dog"]) == {"cat": "1", "dog": "2"}
    assert shortcut_keys(["c", "d"]) == {"c": "1", "d": "2"}  # C is Streamlit's own key
    assert shortcut_keys(["s", "t"]) == {"s": "1", "t": "2"}  # S is Skip
    many = shortcut_keys([f"class {i}" for i in range(12)])
    assert list(many.values()) == [*"1234567890", None, None]
