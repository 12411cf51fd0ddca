"""The fixed vocabularies of the write path: queue modes and item statuses, curation marks, decisions.

Each is a ``StrEnum``: a member *is* its string (``ItemStatus.DONE == "done"``), so documents store the same
strings as before, old data reads unchanged, and callers may pass either the member or the plain string.

    from sda2.curation.kinds import ItemStatus, Mark
    Mark.EXCLUDED.field          # "tags:excluded", the edit path's field for the mark
    ItemStatus("done")           # ItemStatus.DONE; an unknown string raises ValueError
"""

from __future__ import annotations

from enum import StrEnum

TAG_PREFIX = "tags:"  # the edit path's field for a sample tag or mark: "tags:<name>"


class QueueMode(StrEnum):
    """What a labeling queue asks for: new labels, or a check of the existing ones."""

    LABEL = "label"
    REVIEW = "review"


class ItemStatus(StrEnum):
    """Where a queue item stands."""

    OPEN = "open"  # waiting for answers
    DONE = "done"  # resolved and written
    DISPUTED = "disputed"  # the answers disagree: a curator adjudicates
    CONFLICT = "conflict"  # the label changed under the queue: a curator decides
    CHANGED = "changed"  # a review queue's answers propose a different label
    REVIEW = "review"  # resolved, waiting for a reviewer (review stage)
    REWORK = "rework"  # a reviewer rejected it: back to its labeler(s)


class Mark(StrEnum):
    """A curation mark on a sample (stored as a sample tag of the same name)."""

    REVIEWED = "reviewed"
    AMBIGUOUS = "ambiguous"
    EXCLUDED = "excluded"

    @property
    def field(self) -> str:
        """The edit path's field for this mark, ``"tags:<mark>"``."""
        return tag_field(self.value)


class Decision(StrEnum):
    """A curator's decision on a suspect sample (:func:`sda2.curation.edits.review`)."""

    ACCEPT = "accept"  # write the suggested label
    RELABEL = "relabel"  # write another label
    KEEP = "keep"  # leave the label
    AMBIGUOUS = "ambiguous"  # mark it ambiguous
    EXCLUDE = "exclude"  # mark it excluded from training


class ReviewDecision(StrEnum):
    """A reviewer's decision on a queue answer (:func:`sda2.curation.review_stage.review_answer`)."""

    ACCEPT = "accept"
    REJECT = "reject"


def tag_field(name: str) -> str:
    """The edit path's field for sample tag ``name``: ``"tags:<name>"``."""
    return TAG_PREFIX + str(name)


def tag_name(field: str) -> str | None:
    """The tag name of an edit-path field ``"tags:<name>"``, or None when ``field`` is not a tag."""
    return field[len(TAG_PREFIX):] if field.startswith(TAG_PREFIX) else None


def parse(kind: type[StrEnum], value, what: str) -> StrEnum:
    """``value`` as a member of ``kind``; an unknown value raises ValueError naming ``what`` and the choices."""
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"Unknown {what} {value!r}. Fix: use one of {', '.join(m.value for m in kind)}.") from None
