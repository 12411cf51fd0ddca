"""The contract every issue check follows (as cleanlab Datalab's issue managers do).

A check is a class with a ``name`` (a Python identifier), the inputs it ``needs`` (a subset of
:data:`NEEDS`: ``labels``, ``predictions``, ``embeddings``, ``images``), a one-line ``description`` and a
``find(context) -> IssueResult``. The result has one row per sample of the context, in its order, with

- ``is_<name>_issue``: bool, True where the sample has the issue (False where it could not be judged);
- ``<name>_score``: float in [0, 1], lower = more likely an issue, NaN where it could not be scored;
- any of the check's declared ``extra_fields`` (e.g. the label check's ``suggested_label``);

and a JSON-able ``summary`` dict with at least ``issues`` (the number flagged) and ``scored``.
``sda2.issues.find.find_issues`` prepares what a check needs, calls it, checks the result with
:func:`check_result` and writes it through ``sda2.issues.writer`` (one FiftyOne run per check).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import pandas as pd

NEEDS = ("labels", "predictions", "embeddings", "images")


def flag_field(name: str) -> str:
    """The bool field of check ``name``: ``is_<name>_issue``."""
    return f"is_{name}_issue"


def score_field(name: str) -> str:
    """The score field of check ``name``: ``<name>_score`` (0 to 1, lower = more likely an issue)."""
    return f"{name}_score"


@dataclass
class IssueResult:
    """What a check found: ``frame`` (index: sample ids; flag, score and extra columns) and a ``summary``."""

    frame: pd.DataFrame
    summary: dict = field(default_factory=dict)


class IssueContext:
    """What a check reads: the dataset, its sample ids and files, the label and prediction fields, per-check
    options, and a cache shared by the checks of one :func:`sda2.find_issues` call."""

    def __init__(self, dataset, label_field: str = "ground_truth", pred_field: str = "predictions",
                 progress: bool = True, options: dict | None = None):
        self.dataset = dataset
        self.label_field = label_field
        self.pred_field = pred_field
        self.progress = progress
        self.report = None  # the app's progress callback (fraction, eta_s, text), set by find_issues, or None
        self.options = dict(options or {})
        self.ids: list[str] = dataset.values("id")
        self._cache: dict = {}

    @property
    def filepaths(self) -> list[str]:
        """The samples' image paths, in the order of :attr:`ids`."""
        return self.shared("filepaths", lambda: self.dataset.values("filepath"))

    def options_for(self, name: str) -> dict:
        """The keyword options given for check ``name`` (``find_issues(..., options={name: {...}})``)."""
        return dict(self.options.get(name) or {})

    def shared(self, key, compute: Callable):
        """``compute()`` once per context: checks that read the same thing (duplicates and outliers) share it."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]


class IssueCheck(ABC):
    """One kind of issue: subclass, set ``name``, ``needs`` and ``description``, implement :meth:`find`, and
    ``sda2.issues.register`` it."""

    name: ClassVar[str] = ""
    needs: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = ""
    extra_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def flag_field(self) -> str:
        """``is_<name>_issue``."""
        return flag_field(self.name)

    @property
    def score_field(self) -> str:
        """``<name>_score``."""
        return score_field(self.name)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field the check may write: flag, score, extras."""
        return (self.flag_field, self.score_field, *self.extra_fields)

    @abstractmethod
    def find(self, context: IssueContext) -> IssueResult:
        """Score every sample of ``context`` and flag the issues."""

    def result(self, context: IssueContext, flags, scores, summary: dict | None = None, **extra) -> IssueResult:
        """An :class:`IssueResult` aligned with ``context.ids`` from per-sample ``flags`` and ``scores``."""
        scores = np.asarray(scores, dtype=np.float64)
        flags = np.asarray(flags, dtype=bool) & np.isfinite(scores)
        frame = pd.DataFrame({self.flag_field: flags, self.score_field: scores, **extra},
                             index=pd.Index(context.ids, name="id"))
        return IssueResult(frame, {"issues": int(flags.sum()), "scored": int(np.isfinite(scores).sum()),
                                   **(summary or {})})


def check_result(check: IssueCheck, ids: list[str], result) -> None:
    """Raise ValueError naming the breach when ``result`` does not follow the contract for ``ids``."""
    where = f"Check {check.name!r} ({type(check).__module__}.{type(check).__name__})"
    if not isinstance(result, IssueResult):
        raise ValueError(f"{where} returned {type(result).__name__}, not an IssueResult. Fix: return "
                         "self.result(context, flags, scores, summary).")
    frame = result.frame
    missing = [c for c in (check.flag_field, check.score_field) if c not in frame.columns]
    if missing:
        raise ValueError(f"{where} returned no column {missing}: every check returns is_<name>_issue and <name>_score.")
    undeclared = sorted(set(frame.columns) - set(check.fields))
    if undeclared:
        raise ValueError(f"{where} returned columns {undeclared} it does not declare. Fix: list them in extra_fields.")
    if list(frame.index) != list(ids):
        raise ValueError(f"{where} returned {len(frame):,} rows not aligned with the {len(ids):,} samples. "
                         "Fix: one row per sample id, in context.ids order.")
    if frame[check.flag_field].dtype != bool:
        raise ValueError(f"{where}: {check.flag_field} is {frame[check.flag_field].dtype}, not bool.")
    scores = frame[check.score_field].to_numpy(dtype=np.float64)
    finite = scores[np.isfinite(scores)]
    if np.isinf(scores).any() or ((finite < 0) | (finite > 1)).any():
        raise ValueError(f"{where}: {check.score_field} must be in [0, 1] or NaN.")
    if not isinstance(result.summary, dict) or result.summary.get("issues") != int(frame[check.flag_field].sum()):
        raise ValueError(f"{where}: the summary must be a dict whose 'issues' counts the flagged samples.")
