"""The notebook API: every function whose first argument is a dataset takes a dataset's name too."""

from __future__ import annotations

import inspect

import pytest

import sda2
from sda2 import store
from tests.conftest import private_copy

MISSING = "no_such_dataset_for_the_api_test"
DATASET_PARAMETERS = ("dataset", "dataset_or_name")


def _dataset_functions() -> list[str]:
    names = []
    for name in sda2._API:
        value = getattr(sda2, name)
        if inspect.isclass(value) or not callable(value):
            continue
        parameters = list(inspect.signature(value).parameters)
        if parameters and parameters[0] in DATASET_PARAMETERS:
            names.append(name)
    return names


DATASET_FUNCTIONS = _dataset_functions()


def test_the_dataset_functions_are_found():
    assert {"audit_log", "set_labels", "queue_progress", "review_answer", "gold_items", "evaluate"} <= set(
        DATASET_FUNCTIONS)
    assert len(DATASET_FUNCTIONS) > 100


@pytest.mark.parametrize("name", DATASET_FUNCTIONS)
def test_a_dataset_function_opens_a_name(name):
    """Called with a name, the function opens it: an unknown name says so (not AttributeError on a str)."""
    function = getattr(sda2, name)
    required = [p for p in list(inspect.signature(function).parameters.values())[1:]
                if p.default is inspect.Parameter.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    args = [None for p in required if p.kind != p.KEYWORD_ONLY]
    kwargs = {p.name: None for p in required if p.kind == p.KEYWORD_ONLY}
    with pytest.raises(store.DatasetNotFound, match=MISSING):
        function(MISSING, *args, **kwargs)


def test_curation_functions_take_a_name_or_a_dataset(digits, dataset_name):
    ds = private_copy(digits, dataset_name, limit=12)
    first, second = ds.values("id")[:2]
    sda2.mark(dataset_name, [first], "reviewed", "alice")
    sda2.set_label(ds, second, "3", "alice", reason="by object")
    by_name, by_object = sda2.audit_log(dataset_name), sda2.audit_log(ds)
    assert list(by_name["sample_id"]) == list(by_object["sample_id"]) and set(by_name["sample_id"]) == {first, second}
    sda2.create_queue(dataset_name, "q", [first, second])
    assert sda2.queue_progress(dataset_name, "q") == sda2.queue_progress(ds, "q")
    assert sda2.queue_progress(dataset_name, "q")["open"] == 2
    assert sda2.next_item(dataset=dataset_name, queue="q", annotator="bob") in (first, second)
    assert sda2.label_fields(dataset_name) == sda2.label_fields(ds)


def test_queue_functions_have_queue_specific_names():
    for new in ("skip_item", "previous_item", "queue_progress", "submit_answer", "queue_labelers",
                "queue_disagreements", "queue_items"):
        assert callable(getattr(sda2, new)), new
    for old in ("skip", "back", "progress", "submit", "labelers", "disagreements", "items_frame"):
        with pytest.raises(AttributeError):
            getattr(sda2, old)
