"""Class schemas on a real database: parsing, files, validation messages, versions, the classes they declare."""

from __future__ import annotations

import json

import pytest

import sda2
from sda2 import store
from sda2.cli import main
from sda2.curation import class_schema as cs
from tests.conftest import private_copy

LONG = "a very long class name with spaces"


@pytest.fixture
def ds(digits, dataset_name):
    """A private copy of 20 digits."""
    return private_copy(digits, dataset_name, 20)


def test_yaml_file_with_korean_and_long_names_sets_classes_and_versions(ds, tmp_path):
    path = tmp_path / "schema.yaml"
    path.write_text("multi_label: false\nclasses:\n"
                    "  - {name: 고양이, description: 집고양이, key: k}\n"
                    f"  - {{name: {LONG}, description: everything else, key: '1'}}\n"
                    "  - '0'\n", encoding="utf-8")
    assert sda2.class_schema(ds) is None
    saved = sda2.set_class_schema(ds, path, author="Curator")
    assert saved.version == 1 and saved.names == ["고양이", LONG, "0"]
    assert saved.keys == {"고양이": "K", LONG: "1"} and saved.description("고양이") == "집고양이"
    assert not saved.multi_label and saved.author == "Curator"
    # the schema's classes come first, the dataset's own after
    assert store.classes(store.open_dataset(ds.name))[:3] == ["고양이", LONG, "0"]
    assert "9" in store.classes(store.open_dataset(ds.name))
    second = cs.set_class_schema(ds, {"cat": "a cat", "dog": {"key": "d"}}, author="bob", note="english names")
    assert second.version == 2 and sda2.class_schema(ds).names == ["cat", "dog"]
    assert cs.class_schema(ds, version=1).names == ["고양이", LONG, "0"]
    assert [s.version for s in cs.schema_history(ds)] == [2, 1]


def test_json_file_and_cli(ds, tmp_path, capsys):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"classes": [{"name": "zero", "key": "0"}, {"name": "one", "key": "1"}]}))
    assert main(["schema", ds.name, "--file", str(path), "--by", "cli-user"]) == 0
    out = capsys.readouterr().out
    assert "class schema v1 saved (2 classes, single-label)" in out and "0  zero" in out
    assert main(["schema", ds.name]) == 0 and "1  one" in capsys.readouterr().out


@pytest.mark.parametrize("schema, message", [
    ([{"name": "a", "key": "1"}, {"name": "b", "key": "1"}], "Key '1' is given to both 'a' and 'b'"),
    (["a", "a"], "Class 'a' is listed twice"),
    ([{"name": "a", "key": "s"}], "keeps for itself"),
    ([{"name": "a", "key": "12"}], "a key is one letter or digit"),
    (["   "], "A class name is empty"),
    (["x" * 201], "201 characters long"),
    (["a|b"], "separates tags"),
    ([], "The schema has no classes"),
], ids=["dup_key", "dup_name", "reserved_key", "long_key", "empty", "too_long", "pipe", "none"])
def test_bad_schemas_are_refused_with_the_fix(ds, schema, message):
    with pytest.raises(ValueError, match=message):
        cs.set_class_schema(ds, schema, author="curator")
    assert cs.class_schema(ds) is None  # nothing saved


def test_multi_label_must_match_the_field_and_author_is_required(ds, tmp_path):
    with pytest.raises(ValueError, match="multi-label but 'ground_truth'.*holds classification"):
        cs.set_class_schema(ds, {"multi_label": True, "classes": ["a"]}, author="curator")
    with pytest.raises(ValueError, match="annotator's name"):
        cs.set_class_schema(ds, ["a"], author=" ")
    with pytest.raises(ValueError, match="not found"):
        cs.set_class_schema(ds, tmp_path / "missing.yaml", author="curator")
    (tmp_path / "bad.yaml").write_text("classes: [unclosed")
    with pytest.raises(ValueError, match="cannot be read.*Fix: check its syntax"):
        cs.set_class_schema(ds, tmp_path / "bad.yaml", author="curator")
