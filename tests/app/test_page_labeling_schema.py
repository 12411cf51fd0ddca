"""The class schema drives the Labeling page's class buttons: its keyboard keys and, as each button's help, its
descriptions (AppTest on the real app)."""

from __future__ import annotations

from sda2.curation import class_schema as cs, queue as lq
from sda2.ui import labeling_widgets as lw
from tests.apptest import open_page

KEYS = "QWEYUIOPDF"  # one per digit, none of them a digit: the buttons can only have them from the schema


def test_the_schema_keys_and_descriptions_drive_the_class_buttons(digits, dataset_name):
    ds = digits.limit(6).clone(dataset_name, persistent=True)
    lq.create_queue(ds, "keys", ds.values("id"), created_by="carol")
    assert lw.class_keys(ds, ["3"]) == {"3": "3"}  # no schema yet: the digits are their own keys
    classes = [{"name": str(d), "key": None if d == 4 else KEYS[d],
                "description": "a handwritten seven" if d == 7 else ""} for d in range(10)]
    cs.set_class_schema(ds, classes, author="carol")
    at = open_page("app_pages/labeling.py", ds.name, "alice")
    assert not at.exception, at.exception
    buttons = {b.label: b.proto for b in at.button if b.key and b.key.startswith("label_") and b.label.isdigit()}
    assert {label: p.shortcut.upper() for label, p in buttons.items()} == {
        str(d): ("" if d == 4 else KEYS[d]) for d in range(10)}
    assert (buttons["7"].help, buttons["3"].help, buttons["4"].help) == ("7: a handwritten seven (key P)",
                                                                        "3 (key Y)", "4")
    assert lw.class_keys(ds, ["3", "not in the schema"]) == {"3": "Y", "not in the schema": None}
    assert lw.class_descriptions(ds, ["7", "3"]) == {"7": "a handwritten seven", "3": ""}
    # a schema the caller has read is used as given (here: none), not read again
    assert lw.class_keys(ds, ["3"], None) == {"3": "3"} and lw.class_descriptions(ds, ["7"], None) == {"7": ""}
