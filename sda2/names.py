"""What a dataset name may be. A name is a label people read and type, never a path: files live under ids.

The pattern, checked at every entry point (CLI, notebook API, app):

- 1 to 100 characters;
- letters of any language (Korean included), digits, spaces, ``_``, ``-`` and ``.``;
  accents and other combining marks may follow a letter;
- at least one Latin letter or digit (a-z, A-Z, 0-9): FiftyOne derives each dataset's URL name
  ("slug") from those and refuses a name without any;
- starts with a letter, a digit or ``_`` (so not with ``.``, ``-`` or a space) and does not end with a space;
- no ``/`` or ``\\``, no ``..``, no control or other invisible characters;
- not containing ``.__incoming_`` or ``.__replaced_``, the markers of an import in progress.

Examples: ``digits``, ``pets-2024``, ``CIFAR 10N.v2``, ``고양이 cats``, ``데이터_1``.
"""

from __future__ import annotations

import unicodedata

MAX_LENGTH = 100
WORK_IN_PROGRESS = (".__incoming_", ".__replaced_")  # names an import uses while it runs
PUNCTUATION = " _-."
PATTERN = ("1-100 characters: letters (any language), digits, spaces, '_', '-' and '.'; at least one "
           "Latin letter or digit; starting with a letter, digit or '_'; no '..', '/', '\\' or control characters")


def _problem(name, need_latin: bool = True) -> str | None:
    """What is wrong with ``name`` as a dataset name (as a person's name: ``need_latin=False``), or None."""
    if not isinstance(name, str):
        return f"is a {type(name).__name__}, not text"
    if not name:
        return "is empty"
    if len(name) > MAX_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_LENGTH})"
    for marker in WORK_IN_PROGRESS:
        if marker in name:
            return f"contains {marker!r}, which marks the temporary datasets of an import in progress"
    if "/" in name or "\\" in name:
        return "contains a slash ('/' or '\\'): a dataset name is a name, not a path"
    if ".." in name:
        return "contains '..': a dataset name is a name, not a path"
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp") or (category == "Zs" and char != " "):
            return f"contains the invisible or control character U+{ord(char):04X} ({_char_name(char)})"
    first = name[0]
    if not (first.isalnum() or first == "_"):
        return f"starts with {first!r} (a name must start with a letter, a digit or '_')"
    if name.endswith(" "):
        return "ends with a space"
    for char in name:
        if not (char.isalnum() or char in PUNCTUATION or unicodedata.category(char).startswith("M")):
            return f"contains {char!r} ({_char_name(char)}), which a dataset name may not hold"
    if need_latin and not any(char.isascii() and char.isalnum() for char in name):
        return ("has no Latin letter or digit (a-z, 0-9), from which FiftyOne makes the dataset's URL name; "
                "add one, e.g. 'cats 고양이' or '고양이-1'")
    return None


def _char_name(char: str) -> str:
    return unicodedata.name(char, "unnamed character").lower()


def is_valid_dataset_name(name) -> bool:
    """True when ``name`` follows the dataset name pattern (see ``validate_dataset_name``)."""
    return _problem(name) is None


def validate_dataset_name(name) -> str:
    """``name`` itself when it is a good dataset name; else ValueError naming the problem and the fix."""
    problem = _problem(name)
    if problem is not None:
        shown = repr(name) if not isinstance(name, str) or len(name) <= 120 else repr(name[:120] + "…")
        raise ValueError(f"Invalid dataset name {shown}: it {problem}. Fix: choose a plain name such as "
                         f"'pets' or 'cats 고양이' ({PATTERN}).")
    return name


def validate_person_name(name) -> str:
    """``name`` itself when it is a good account name: the dataset pattern, but any language's letters alone do
    ("김민지", "ana"); else ValueError naming the problem and the fix."""
    problem = _problem(name, need_latin=False)
    if problem is not None:
        shown = repr(name) if not isinstance(name, str) or len(name) <= 120 else repr(name[:120] + "…")
        raise ValueError(f"Invalid account name {shown}: it {problem}. Fix: choose a plain name such as 'ana' or "
                         "'김민지' (1-100 characters: letters of any language, digits, spaces, '_', '-' and '.').")
    return name
