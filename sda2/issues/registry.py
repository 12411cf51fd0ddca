"""The registry of issue checks: ``register`` adds one, ``issue_types`` lists them, ``get`` returns one.

The built-in checks (``BUILTINS``) register themselves when first listed; a check of your own is one class
in one file (see ``sda2.issues.base``) and one ``register(MyCheck)`` call.
"""

from __future__ import annotations

import importlib

from sda2.issues.base import NEEDS, IssueCheck

BUILTINS = ("sda2.issues.label", "sda2.issues.near_duplicate", "sda2.issues.outlier", "sda2.issues.class_imbalance",
            "sda2.issues.image_quality")
_CHECKS: dict[str, IssueCheck] = {}
_loaded: list[bool] = []


def _load_builtins() -> None:
    if not _loaded:
        _loaded.append(True)
        for module in BUILTINS:
            importlib.import_module(module)


def register(check, replace: bool = False):
    """Add ``check`` (an IssueCheck subclass or instance) to the registry; returns it (usable as a decorator)."""
    instance = check() if isinstance(check, type) else check
    if not isinstance(instance, IssueCheck):
        raise TypeError(f"{check!r} is not an IssueCheck. Fix: subclass sda2.issues.base.IssueCheck.")
    name = instance.name
    if not isinstance(name, str) or not name.isidentifier() or name != name.lower():
        raise ValueError(f"Check name {name!r} must be a lower-case Python identifier (it names the fields "
                         f"is_<name>_issue and <name>_score).")
    unknown = sorted(set(instance.needs) - set(NEEDS))
    if unknown or not isinstance(instance.needs, tuple):
        raise ValueError(f"Check {name!r} needs {list(instance.needs)}: needs is a tuple drawn from {list(NEEDS)}.")
    if name in _CHECKS and not replace and type(_CHECKS[name]) is not type(instance):
        raise ValueError(f"A check named {name!r} is registered already ({type(_CHECKS[name]).__name__}). "
                         "Fix: pick another name, or pass replace=True.")
    _CHECKS[name] = instance
    return check


def unregister(name: str) -> None:
    """Remove check ``name`` from the registry (its stored fields stay until its run is deleted)."""
    _CHECKS.pop(name, None)


def issue_types() -> list[str]:
    """The names of the registered checks, built-ins first, in registration order."""
    _load_builtins()
    return list(_CHECKS)


def get(name: str) -> IssueCheck:
    """The registered check ``name``."""
    _load_builtins()
    if name not in _CHECKS:
        raise KeyError(f"No issue check named {name!r}. Registered: {', '.join(_CHECKS)}.")
    return _CHECKS[name]
