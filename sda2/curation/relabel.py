"""Relabel what an older guideline decided: a queue of the samples whose answers are outdated.

An answer is outdated when it was given under a guideline version older than the current one and its
label (any of its tags, for multi-label) is a class that changed since: named by the caller, or else
named as changed by a version after the answer's. A sample already answered under the current version
is not outdated. (Its own module: :mod:`sda2.curation.annotations` reads the guideline version, and
this reads the answers and makes a queue, so putting it in ``guidelines`` would make a cycle.)
"""

from __future__ import annotations

from sda2 import store
from sda2.curation import annotations, guidelines, queue as lq


def _label_classes(label) -> set[str]:
    if label is None:
        return set()
    if isinstance(label, str):
        return {label}
    return {v["label"] if isinstance(v, dict) else str(v) for v in label}


def outdated_answers(dataset, classes=None, field: str = "ground_truth") -> list[dict]:
    """The stored answers for ``field`` given under an older guideline version whose label is a class that
    changed since (``classes`` given: one of those), leaving out samples answered under the current version."""
    current = guidelines.current_version(dataset)
    if current == 0:
        return []
    answers = annotations.find(dataset, field=field)
    fresh = {a["sample_id"] for a in answers if a.get("guideline_version", 0) >= current}
    wanted = None if classes is None else {str(c) for c in classes}
    changed_after: dict[int, set[str]] = {}
    outdated = []
    for answer in answers:
        version = int(answer.get("guideline_version") or 0)
        if version >= current or answer["sample_id"] in fresh:
            continue
        if wanted is None and version not in changed_after:
            changed_after[version] = set(guidelines.changed_since(dataset, version))
        relevant = wanted if wanted is not None else changed_after[version]
        if _label_classes(answer["label"]) & relevant:
            outdated.append(answer)
    return outdated


@store.dataset_or_name
def relabel_outdated(dataset, queue_name: str, classes=None, annotator: str = "", field: str = "ground_truth",
                     labels_per_sample: int = 1, review_changes: bool = True) -> dict:
    """Create queue ``queue_name`` of the samples whose answers are outdated (see :func:`outdated_answers`);
    returns the queue's definition (``n_items`` samples). ValueError when none is outdated."""
    if not str(annotator or "").strip():
        raise ValueError("Queuing a relabel needs the curator's name. Fix: pass annotator='your name'.")
    current = guidelines.current_version(dataset)
    if current == 0:
        raise ValueError(f"{dataset.name!r} has no guideline yet, so no answer is outdated. Fix: save a guideline "
                         "(save_guideline) and, when it changes, save the next version.")
    answers = outdated_answers(dataset, classes, field)
    shown = ", ".join(map(repr, classes)) if classes is not None else "the classes changed since each answer"
    if not answers:
        raise ValueError(f"No answer of {dataset.name!r} was given under a guideline older than v{current} for "
                         f"{shown}. Nothing to relabel.")
    ids = list(dict.fromkeys(a["sample_id"] for a in answers))
    changed = sorted({c for a in answers for c in _label_classes(a["label"])}
                     & ({str(c) for c in classes} if classes is not None
                        else set(guidelines.changed_since(dataset, 0))))
    return lq.create_queue(dataset, queue_name, ids, labels_per_sample=labels_per_sample, field=field,
                           created_by=annotator, review_changes=review_changes,
                           source=f"relabel for guideline v{current}: {', '.join(changed)}",
                           meta={"guideline_version": current, "classes": changed,
                                 "n_answers": len(answers)})
