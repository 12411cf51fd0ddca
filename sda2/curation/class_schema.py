"""A dataset's class schema: class names, descriptions, multi-label or not, and a keyboard key per class.

Defined in the app (Guidelines page), from a notebook (:func:`set_class_schema`) or from a YAML/JSON file
(``sda2 schema NAME --file schema.yaml``)::

    multi_label: false
    classes:
      - {name: cat, description: "a domestic cat, any breed", key: c}
      - {name: 고양이 새끼, description: kitten, key: k}
      - dog                                   # a bare name: no description, no key

Every save is a new version: one document per version in ``sda2_class_schema.<dataset id>`` with a
unique index on the version number, so two people saving at once each get their own version (the
later one is current) and neither save is lost or half-applied. Saving also declares the class names
as the dataset's classes for ``field`` (schema order first), so a dataset imported without labels can be
labeled at once. Class names may be in any language and long; keys are one letter or digit each, not
one the labeling page keeps for itself (S skip, B back, A accept, C and R), and no two classes share one.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import asdict, dataclass, field as dc_field
from datetime import datetime, timezone
from pathlib import Path

from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from sda2 import faults, store
from sda2.curation import audit


PREFIX = "sda2_class_schema."
MAX_CLASS_NAME = 200
RESERVED_KEYS = frozenset({"s", "b", "a", "c", "r"})  # skip, back, accept; Streamlit keeps c and r
MAX_ROUNDS = 50


@dataclass(frozen=True)
class ClassSpec:
    """One class of a schema: its name, what it means, and its keyboard key (or None)."""

    name: str
    description: str = ""
    key: str | None = None


@dataclass(frozen=True)
class ClassSchema:
    """A saved class schema: its classes in order, whether a sample may have several, and its version."""

    classes: tuple[ClassSpec, ...]
    multi_label: bool = False
    version: int = 0
    author: str = ""
    note: str = ""
    saved_at: datetime | None = dc_field(default=None, compare=False)

    @property
    def names(self) -> list[str]:
        """The class names, in schema order."""
        return [c.name for c in self.classes]

    @property
    def keys(self) -> dict[str, str]:
        """Class name -> keyboard key, for the classes that have one."""
        return {c.name: c.key for c in self.classes if c.key}

    def description(self, name: str) -> str:
        """The description of class ``name`` ("" when none or not in the schema)."""
        return next((c.description for c in self.classes if c.name == name), "")

    def to_dict(self) -> dict:
        """The schema as plain data (what a YAML/JSON schema file holds)."""
        return {"multi_label": self.multi_label, "classes": [asdict(c) for c in self.classes]}


def _collection(dataset):
    return store.dataset_collection(dataset, PREFIX, (([("version", DESCENDING)], {"unique": True}),))


def validate_class_name(name) -> str:
    """``name`` trimmed when it is a usable class name (any language, spaces, up to 200 characters); else
    ValueError naming the problem and the fix."""
    if not isinstance(name, str):
        raise ValueError(f"Class name {name!r} is a {type(name).__name__}, not text. Fix: write it as text, "
                         "e.g. 'cat' or '고양이'.")
    text = name.strip()
    if not text:
        raise ValueError("A class name is empty. Fix: give every class a name, e.g. 'cat' or '고양이'.")
    if len(text) > MAX_CLASS_NAME:
        raise ValueError(f"Class name {text[:40]!r}… is {len(text)} characters long (at most {MAX_CLASS_NAME}). "
                         "Fix: shorten it and put the rest in its description.")
    for char in text:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            raise ValueError(f"Class name {text!r} contains the invisible or control character U+{ord(char):04X}. "
                             "Fix: retype the name without it.")
    if "|" in text:
        raise ValueError(f"Class name {text!r} contains '|', which separates tags. Fix: use another character.")
    return text


def _key(value, name: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    key = str(value).strip()
    if len(key) != 1 or not key.isascii() or not key.isalnum():
        raise ValueError(f"The key of class {name!r} is {key!r}: a key is one letter or digit (a-z, 0-9). "
                         "Fix: pick one, e.g. '1' or 'k', or leave it empty.")
    if key.lower() in RESERVED_KEYS:
        raise ValueError(f"The key of class {name!r} is {key!r}, which the labeling page keeps for itself "
                         f"({', '.join(sorted(k.upper() for k in RESERVED_KEYS))}). Fix: pick another key.")
    return key.upper()


def parse_schema(data, multi_label: bool | None = None) -> tuple[list[ClassSpec], bool]:
    """(classes, multi_label) from plain data: a list of names or dicts, a {name: description or dict}
    mapping, or a dict with "classes" (and "multi_label"); names and keys checked, duplicates refused."""
    if isinstance(data, dict) and "classes" in data:
        if multi_label is None:
            multi_label = bool(data.get("multi_label", data.get("multilabel", False)))
        data = data["classes"]
    if isinstance(data, dict):
        data = [{"name": n, **(v if isinstance(v, dict) else {"description": v or ""})} for n, v in data.items()]
    if not isinstance(data, (list, tuple)) or not data:
        raise ValueError("The schema has no classes. Fix: list at least one class, e.g. "
                         "{'classes': [{'name': 'cat', 'key': '1'}]}.")
    specs = []
    for entry in data:
        entry = {"name": entry} if not isinstance(entry, dict) else entry
        if "name" not in entry:
            raise ValueError(f"A class entry {entry!r} has no 'name'. Fix: add name: <class name>.")
        name = validate_class_name(entry["name"])
        specs.append(ClassSpec(name, str(entry.get("description") or "").strip(), _key(entry.get("key"), name)))
    seen: dict[str, str] = {}
    for spec in specs:
        if spec.name in seen:
            raise ValueError(f"Class {spec.name!r} is listed twice. Fix: list each class once.")
        seen[spec.name] = spec.name
    owners: dict[str, str] = {}
    for spec in specs:
        if spec.key and spec.key in owners:
            raise ValueError(f"Key {spec.key!r} is given to both {owners[spec.key]!r} and {spec.name!r}. "
                             "Fix: give each class its own key, or leave one empty.")
        if spec.key:
            owners[spec.key] = spec.name
    return specs, bool(multi_label)


def read_schema_file(path: str | Path) -> dict:
    """The plain data of a YAML (.yaml, .yml) or JSON (.json) schema file."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"{path} not found. Fix: give the path of a .yaml or .json schema file.") from None
    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            return yaml.safe_load(text)
    except Exception as exc:  # json and yaml raise their own error types
        raise ValueError(f"{path} cannot be read ({' '.join(str(exc).split())}). Fix: check its syntax.") from None
    raise ValueError(f"{path} is not a .yaml, .yml or .json file. Fix: save the schema in one of those formats.")


def _from_doc(doc: dict) -> ClassSchema:
    return ClassSchema(tuple(ClassSpec(c["name"], c.get("description", ""), c.get("key")) for c in doc["classes"]),
                       bool(doc.get("multi_label")), int(doc["version"]), doc.get("author", ""),
                       doc.get("note", ""), doc.get("saved_at"))


@store.dataset_or_name
def class_schema(dataset, version: int | None = None) -> ClassSchema | None:
    """The dataset's class schema (the latest, or ``version``); None when none was saved."""
    query = {} if version is None else {"version": int(version)}
    doc = _collection(dataset).find_one(query, sort=[("version", -1)])
    return _from_doc(doc) if doc else None


def schema_history(dataset) -> list[ClassSchema]:
    """Every saved version of the dataset's class schema, newest first."""
    return [_from_doc(d) for d in _collection(dataset).find().sort("version", -1)]


@store.dataset_or_name
def set_class_schema(dataset, schema, author: str, multi_label: bool | None = None, note: str = "",
                     field: str = "ground_truth") -> ClassSchema:
    """Save ``schema`` (plain data, a list of names, or the path of a YAML/JSON file) as the next version.

    The class names become the dataset's classes of ``field`` (schema order first, classes already known
    after). A multi-label schema needs a multi-label field (and the other way round).
    """
    author = audit.annotator_name(author)
    if isinstance(schema, (str, Path)) and Path(str(schema)).suffix.lower() in (".yaml", ".yml", ".json"):
        schema = read_schema_file(schema)
    if isinstance(schema, ClassSchema):
        schema = schema.to_dict()
    specs, multi = parse_schema(schema, multi_label)
    root = dataset._root_dataset
    try:
        kind = store.label_kind(root, field)
    except KeyError:
        kind = None
    if kind is not None and (kind == "multilabel") != multi and kind != "detection":
        raise ValueError(f"The schema is {'multi-label' if multi else 'single-label'} but {field!r} of "
                         f"{root.name!r} holds {kind} labels. Fix: set multi_label to "
                         f"{kind == 'multilabel'}, or import the data as "
                         f"{'a table with a tags column' if multi else 'single labels'}.")
    coll = store.durable(_collection(root))
    for _ in range(MAX_ROUNDS):
        latest = coll.find_one({}, {"version": 1}, sort=[("version", -1)])
        version = (latest["version"] if latest else 0) + 1
        doc = {"version": version, "classes": [asdict(s) for s in specs], "multi_label": multi, "author": author,
               "note": str(note or ""), "saved_at": datetime.now(timezone.utc), "field": field}
        try:
            coll.insert_one(doc)
        except DuplicateKeyError:  # someone saved that version first: take the next one
            continue
        faults.point("class_schema.after_insert")
        break
    else:
        raise RuntimeError(f"The class schema of {root.name!r} kept changing under {MAX_ROUNDS} tries to save it. "
                           "Fix: save again when the other person is done.")
    root.reload()
    known = [c for c in (root.classes.get(field) or []) if c not in {s.name for s in specs}]
    root.classes = {**root.classes, field: [s.name for s in specs] + known}
    root.save()
    return _from_doc(doc)
