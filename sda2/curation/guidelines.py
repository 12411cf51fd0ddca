"""Versioned labeling guidelines: per dataset, markdown text plus, per class, examples from the dataset.

Each class may have ``positive`` examples (this is the class), ``negative`` ones (this is not, though it
looks like it) and ``edge`` cases (how to decide the hard ones), each a list of sample ids of the dataset.
Every save is a new version N+1 (one document per version in ``sda2_guidelines.<dataset id>``, unique on
the version number: two curators saving at once each get their own version, none is lost). A version
says what changed: whether the text changed, the classes whose examples changed, the classes the
curator names as changed (``changed_classes``), and a note. Every answer a labeler gives records the
version current at that moment (:func:`sda2.curation.annotations.record_annotation`), so the answers
given under an older version for the classes that changed can be queued for relabeling
(:func:`sda2.curation.relabel.relabel_outdated`).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
from bson import ObjectId
from pymongo import DESCENDING
from pymongo.errors import DuplicateKeyError

from sda2 import faults, store
from sda2.curation import audit, class_schema as schemas


PREFIX = "sda2_guidelines."
KINDS = ("positive", "negative", "edge")
KIND_TITLES = {"positive": "Positive examples", "negative": "Negative examples", "edge": "Edge cases"}
MAX_ROUNDS = 50


def _collection(dataset):
    return store.dataset_collection(dataset, PREFIX, (([("version", DESCENDING)], {"unique": True}),))


def current_version(dataset) -> int:
    """The number of the dataset's current guideline version (0 when it has none yet)."""
    doc = _collection(dataset).find_one({}, {"version": 1}, sort=[("version", -1)])
    return int(doc["version"]) if doc else 0


@store.dataset_or_name
def guideline(dataset, version: int | None = None) -> dict | None:
    """The current guideline (or ``version``): version, text, examples {class: {kind: [ids]}}, changes,
    changed_classes, note, author, saved_at; None when the dataset has none."""
    query = {} if version is None else {"version": int(version)}
    doc = _collection(dataset).find_one(query, {"_id": 0}, sort=[("version", -1)])
    if doc is None and version is not None:
        raise KeyError(f"{dataset.name!r} has no guideline version {version} (current: "
                       f"{current_version(dataset)}). Fix: pick one from guideline_history().")
    return doc


@store.dataset_or_name
def guideline_history(dataset) -> pd.DataFrame:
    """One row per guideline version, newest first: version, saved_at, author, note, text_changed,
    changed_classes (list), examples_changed (list of classes) and n_examples."""
    docs = list(_collection(dataset).find({}, {"text": 0}).sort("version", -1))
    rows = [{"version": d["version"], "saved_at": d["saved_at"], "author": d["author"], "note": d.get("note", ""),
             "text_changed": d["changes"]["text"], "changed_classes": list(d["changed_classes"]),
             "examples_changed": list(d["changes"]["examples"]),
             "n_examples": sum(len(ids) for kinds in d["examples"].values() for ids in kinds.values())}
            for d in docs]
    return pd.DataFrame(rows, columns=["version", "saved_at", "author", "note", "text_changed", "changed_classes",
                                       "examples_changed", "n_examples"])


def known_classes(dataset, field: str = "ground_truth") -> list[str]:
    """The classes a guideline may speak of: the class schema's, then the dataset's own for ``field``."""
    schema = schemas.class_schema(dataset)
    names = list(schema.names) if schema else []
    try:
        names += [c for c in store.classes(dataset, field) if c not in names]
    except KeyError:
        pass
    return names


def _examples(dataset, examples, classes: list[str]) -> dict:
    """``examples`` checked: {class: {kind: [sample ids]}} with known classes, kinds and ids of this dataset."""
    clean: dict = {}
    for cls, kinds in (examples or {}).items():
        if cls not in classes:
            raise ValueError(f"Examples are given for class {cls!r}, which {dataset.name!r} does not have (classes: "
                             f"{', '.join(map(repr, classes[:12])) or 'none'}). Fix: add it to the class schema "
                             "first, or fix the name.")
        if not isinstance(kinds, dict):
            raise ValueError(f"Examples of {cls!r} must be a dict {{kind: [sample ids]}} with kinds "
                             f"{', '.join(KINDS)}. Fix: e.g. {{'positive': [id1, id2]}}.")
        for kind, ids in kinds.items():
            if kind not in KINDS:
                raise ValueError(f"Unknown example kind {kind!r} for {cls!r}. Fix: use one of {', '.join(KINDS)}.")
            ids = list(dict.fromkeys(str(i) for i in ids or ()))
            if ids:
                clean.setdefault(cls, {})[kind] = ids
    wanted = sorted({i for kinds in clean.values() for ids in kinds.values() for i in ids})
    bad = [i for i in wanted if not ObjectId.is_valid(i)]
    found = set() if bad else {str(d["_id"]) for d in dataset._root_dataset._sample_collection.find(
        {"_id": {"$in": [ObjectId(i) for i in wanted]}}, {"_id": 1})}
    missing = bad or [i for i in wanted if i not in found]
    if missing:
        raise ValueError(f"{len(missing)} example id(s) are not samples of {dataset.name!r} (e.g. {missing[0]!r}). "
                         "Fix: pick examples from the dataset itself (the grid, the map, or dataset.values('id')).")
    return clean


@store.dataset_or_name
def save_guideline(dataset, text: str, examples: dict | None = None, changed_classes=None, note: str = "",
                   author: str = "") -> dict:
    """Save the guideline as version N+1 and return it; it records what changed since version N.

    ``examples``: {class: {"positive" | "negative" | "edge": [sample ids]}} (None keeps the previous
    version's). ``changed_classes``: the classes whose rules changed (None: those whose examples changed).
    """
    author = audit.annotator_name(author)
    root = dataset._root_dataset
    classes = known_classes(root)
    given = None if examples is None else _examples(root, examples, classes)
    named = None if changed_classes is None else [str(c) for c in changed_classes]
    unknown = [c for c in named or [] if c not in classes]
    if unknown:
        raise ValueError(f"changed_classes names {unknown}, which {root.name!r} does not have (classes: "
                         f"{', '.join(map(repr, classes[:12])) or 'none'}). Fix: name classes of the schema.")
    coll = store.durable(_collection(root))
    for _ in range(MAX_ROUNDS):
        previous = coll.find_one({}, sort=[("version", -1)])
        old_examples = previous["examples"] if previous else {}
        new_examples = old_examples if given is None else given
        touched = sorted(c for c in set(old_examples) | set(new_examples)
                         if old_examples.get(c) != new_examples.get(c))
        changed = list(dict.fromkeys(named)) if named is not None else touched
        version = (previous["version"] if previous else 0) + 1
        doc = {"version": version, "text": str(text or ""), "examples": new_examples,
               "changes": {"text": previous is None or previous["text"] != str(text or ""), "examples": touched},
               "changed_classes": changed, "note": str(note or ""), "author": author,
               "saved_at": datetime.now(timezone.utc)}
        try:
            coll.insert_one(doc)
        except DuplicateKeyError:  # another curator saved that version first: become the next one
            continue
        faults.point("guidelines.after_insert")
        doc.pop("_id", None)
        return doc
    raise RuntimeError(f"The guideline of {root.name!r} kept changing under {MAX_ROUNDS} tries to save it. "
                       "Fix: save again when the other curator is done.")


def changed_since(dataset, version: int) -> list[str]:
    """The classes named as changed by the versions after ``version`` up to the current one."""
    docs = _collection(dataset).find({"version": {"$gt": int(version)}}, {"changed_classes": 1})
    return sorted({c for d in docs for c in d["changed_classes"]})


def example_samples(dataset, version: int | None = None) -> pd.DataFrame:
    """The guideline's examples, one row each: class, kind, sample_id, filepath, label (the sample's own)."""
    doc = guideline(dataset, version)
    rows = [(cls, kind, sid) for cls, kinds in (doc or {}).get("examples", {}).items()
            for kind in KINDS for sid in kinds.get(kind, [])]
    frame = pd.DataFrame(rows, columns=["class", "kind", "sample_id"])
    paths = sample_filepaths(dataset, frame["sample_id"].tolist())
    frame["filepath"] = frame["sample_id"].map(paths)
    return frame[frame["filepath"].notna()].reset_index(drop=True)


def sample_filepaths(dataset, sample_ids) -> dict[str, str]:
    """{sample id: image path} for the ids of ``dataset`` among ``sample_ids`` (others are left out)."""
    ids = [ObjectId(str(i)) for i in dict.fromkeys(sample_ids) if ObjectId.is_valid(str(i))]
    docs = dataset._root_dataset._sample_collection.find({"_id": {"$in": ids}}, {"filepath": 1})
    return {str(d["_id"]): d["filepath"] for d in docs}
