"""Labeling headless: class buttons carry whole names (one a row when long), and adjudication shows each item's
thumbnail, current label and answers, with the answered labels offered first (never a default "0")."""

from __future__ import annotations

import pytest

from sda2.curation import queue as lq
from sda2.ui.labeling_widgets import button_columns
from sda2.ui.safe_text import md
from tests.apptest import open_page
from tests.conftest import private_copy

LONG = ["with space", "<b>bold</b> & more", "고양이_아주_긴_이름의_클래스", "‹angle›", "‹angle› two", "‹angle› three"]


@pytest.fixture
def ds(digits, dataset_name):
    """8 digits relabeled with long, HTML-like and Korean class names."""
    import fiftyone as fo

    copy = private_copy(digits, dataset_name, 8)
    copy.set_values("ground_truth", [fo.Classification(label=LONG[i % len(LONG)]) for i in range(8)])
    copy.classes["ground_truth"] = LONG
    copy.save()
    return copy


def test_long_names_get_a_row_each_and_short_ones_share_rows():
    assert button_columns([str(i) for i in range(10)]) == 5
    assert button_columns(["cat", "dog"]) == 2
    assert button_columns(["a fairly long one", "x"]) == 2
    assert button_columns(LONG) == 1


def test_buttons_show_whole_names_and_adjudication_shows_the_answers(ds):
    ids = ds.values("id")
    lq.create_queue(ds, "pair", ids[:1], labels_per_sample=2, overlap=1.0, review_changes=True)
    lq.create_queue(ds, "open", ids[1:3])
    current = ds.select(ids[0]).values("ground_truth.label")[0]
    new = LONG[2] if current != LONG[2] else LONG[1]
    for who in ("alice", "bob"):
        assert lq.submit(ds, "pair", who, lq.next_item(ds, "pair", who), new, 1.0).status in ("recorded", "changed")
    at = open_page("app_pages/labeling.py", ds.name, "carol", labeling_queue="open")
    assert not at.exception, at.exception
    labels = [b.label for b in at.button if b.key and b.key.startswith("label_") and b.key[6:].isdigit()]
    assert len(labels) == len(LONG) and all("…" not in label for label in labels)
    assert labels == [md(name) for name in LONG]  # whole names (escaped Markdown), none cut
    at.selectbox(key="labeling_queue").set_value("pair").run()
    assert not at.exception, at.exception
    card = " ".join(m.value for m in at.markdown) + " " + " ".join(c.value for c in at.caption)
    assert "proposed" in card and "alice" in card and "bob" in card
    assert "Nothing left for you" in " ".join(s.value for s in at.success)  # so the one image is the card's
    assert len([img for element in at.get("image") for img in element.proto.imgs]) == 1
    label = at.selectbox(key=f"adjudicate_label_{ids[0]}")
    assert label.value == new and label.options[0] == f"{new} (answered)"  # the answer first, not "0"
    at.button(key="adjudicate_go").click().run()
    assert not at.exception, at.exception
    assert ds.select(ids[0]).values("ground_truth.label")[0] == new
