"""What every importer produces (records plus a list of what it skipped and why) and the one writer."""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

Mode = Literal["error", "overwrite", "append"]


@dataclass
class Box:
    """One object box: class name and [x, y, width, height] relative to the image (0..1)."""

    label: str
    bounding_box: list[float]
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Record:
    """One sample to import: an image path, its label(s), optional split and extra fields."""

    filepath: str
    label: str | list[str] | list[Box] | None
    split: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    source: str | None = None  # where it came from (e.g. "labels.csv row 7"), named when it is skipped


@dataclass
class Skipped:
    """An input item that was not imported, and why (the reason names the fix)."""

    item: str
    reason: str


@dataclass
class IngestReport:
    """What an import loaded and what it skipped."""

    dataset: str
    kind: str
    loaded: int
    skipped: list[Skipped] = field(default_factory=list)
    mode: str = "error"
    notes: list[str] = field(default_factory=list)
    unlabeled: int = 0  # samples imported without a label (ground_truth None)

    def summary(self) -> str:
        """A plain-words account of the import, one line per skipped item (at most 20)."""
        lines = [f"{self.dataset}: loaded {self.loaded:,} samples ({self.kind}), skipped {len(self.skipped):,}."]
        if self.unlabeled:
            lines.append(f"  {self.unlabeled:,} images imported without labels (label them in a queue with "
                         "'only samples without a label').")
        lines += [f"  note: {n}" for n in self.notes]
        for s in self.skipped[:20]:
            lines.append(f"  skipped {s.item}: {s.reason}")
        if len(self.skipped) > 20:
            lines.append(f"  … and {len(self.skipped) - 20:,} more")
        return "\n".join(lines)


class IngestError(ValueError):
    """The input cannot be imported at all; the message names the problem and the fix."""


def natural_sorted(names) -> list[str]:
    """Class names sorted as people expect ("2" before "10", case ignored), without duplicates."""
    def key(name: str):
        return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                for part in re.split(r"(\d+)", name) if part]

    return sorted(set(names), key=key)


@contextmanager
def paused_gc():
    """Pause Python's cyclic garbage collector while building many small objects (it rescans the heap)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
