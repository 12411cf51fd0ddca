"""What changed between two releases, or between a release and the dataset now.

Per sample: added, removed, excluded (the mark set), restored (the mark cleared), label changed, split
changed; each label change carries who made it, when and why from the audit log (the newest applied entry
on that sample's label field after the older side was taken; "not in the audit log" when sda2 did not
write it, e.g. a re-import). And the class distribution per split on both sides, with the shift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from sda2 import store
from sda2.clock import as_utc
from sda2.curation import audit, releases
from sda2.curation.kinds import Mark

CHANGE_COLUMNS = ["sample_id", "change", "old_label", "new_label", "old_split", "new_split", "filepath", "who",
                  "when", "reason"]
NOW = "now"


@dataclass
class ReleaseDiff:
    """The difference between side ``old`` and side ``new`` (a version, or "now")."""

    dataset: str
    old: str
    new: str
    changes: pd.DataFrame  # one row per (sample, change): CHANGE_COLUMNS
    distribution: pd.DataFrame  # split, label, old, new, shift (counts; excluded samples left out)

    @property
    def summary(self) -> dict:
        """How many samples were added, removed, excluded, restored, relabeled and moved to another split."""
        counts = self.changes["change"].value_counts()
        return {k: int(counts.get(k, 0)) for k in ("added", "removed", "excluded", "restored", "label", "split")}

    def describe(self) -> str:
        """One line: the counts of each kind of change."""
        s = self.summary
        return (f"{self.dataset} {self.old} → {self.new}: {s['added']:,} added, {s['removed']:,} removed, "
                f"{s['excluded']:,} excluded, {s['restored']:,} restored, {s['label']:,} labels changed, "
                f"{s['split']:,} moved to another split")

    def to_csv(self, path=None) -> str:
        """The changes as CSV text (labels as text; lists as JSON); also written to ``path`` when given."""
        frame = self.changes.copy()
        for column in ("old_label", "new_label"):
            frame[column] = frame[column].map(label_text)
        frame["when"] = frame["when"].map(lambda t: t.isoformat() if isinstance(t, datetime) else "")
        text = frame.to_csv(index=False)
        if path:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text


def label_text(value) -> str:
    """A plain label as table text: a class name, tags joined by '|', boxes as JSON, '' for none."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, str):
        return value
    if value and isinstance(value[0], dict):
        return json.dumps(value)
    return "|".join(value)


def _side(dataset, version: str | None, label_field: str) -> tuple[pd.DataFrame, datetime | None, str]:
    if version in (None, NOW):
        return releases.current_frame(dataset, label_field), None, NOW
    info = releases.release_info(dataset, version)
    return releases.release_frame(dataset, version), info.created_at, version


def _class_counts(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Counts per (split, label) of non-excluded samples (tags and box classes counted once per item)."""
    kept = frame[~releases.excluded_mask(frame)]
    labels = kept["label"]
    if kind == "detection":
        labels = labels.map(lambda boxes: [b["label"] for b in boxes or []])
    elif kind == "classification":
        labels = labels.map(lambda v: [] if v is None else [v])
    exploded = pd.DataFrame({"split": kept["split"].fillna("(none)").values, "label": labels.values}) \
        .explode("label").dropna()
    return exploded.groupby(["split", "label"]).size().rename("count").reset_index()


def _who(dataset, sample_ids: list[str], label_field: str, after: datetime | None, until: datetime | None) -> dict:
    """sample id -> (who, when, reason) of the newest applied edit of its label in (after, until]."""
    if not sample_ids:
        return {}
    query = {"sample_id": {"$in": sample_ids}, "field": label_field, **audit.APPLIED}
    window = {}
    if after is not None:
        window["$gt"] = after
    if until is not None:
        window["$lte"] = until
    if window:
        query["at"] = window
    found = {}
    for entry in audit.collection(dataset).find(query).sort([("at", 1), ("_id", 1)]):
        at = as_utc(entry["at"])
        found[entry["sample_id"]] = (entry.get("annotator"), at, entry.get("reason") or "")
    return found


def diff(dataset_or_name, old: str, new: str | None = None, label_field: str | None = None) -> ReleaseDiff:
    """The changes from release ``old`` to release ``new`` (None or "now": the dataset as it is now)."""
    dataset = store.as_dataset(dataset_or_name)
    field = label_field or releases.release_info(dataset, old).label_field
    kind = store.label_kind(dataset, field)
    a, a_at, a_name = _side(dataset, old, field)
    b, b_at, b_name = _side(dataset, new, field)
    a, b = a.set_index("sample_id"), b.set_index("sample_id")
    rows = []
    for sid in b.index.difference(a.index):
        rows.append((sid, "added", None, b.at[sid, "label"], None, b.at[sid, "split"], b.at[sid, "filepath"]))
    for sid in a.index.difference(b.index):
        rows.append((sid, "removed", a.at[sid, "label"], None, a.at[sid, "split"], None, a.at[sid, "filepath"]))
    both = a.index.intersection(b.index)
    a_ex = pd.Series(releases.excluded_mask(a.reset_index()), index=a.index).reindex(both)
    b_ex = pd.Series(releases.excluded_mask(b.reset_index()), index=b.index).reindex(both)
    text = (lambda s: s.map(label_text))
    label_changed = text(a.loc[both, "label"]) != text(b.loc[both, "label"])
    split_changed = a.loc[both, "split"].fillna("") != b.loc[both, "split"].fillna("")
    for sid in both[(~a_ex & b_ex).to_numpy()]:
        rows.append((sid, "excluded", a.at[sid, "label"], b.at[sid, "label"], a.at[sid, "split"], b.at[sid, "split"],
                     b.at[sid, "filepath"]))
    for sid in both[(a_ex & ~b_ex).to_numpy()]:
        rows.append((sid, "restored", a.at[sid, "label"], b.at[sid, "label"], a.at[sid, "split"], b.at[sid, "split"],
                     b.at[sid, "filepath"]))
    relabeled = list(both[label_changed.to_numpy()])
    for sid in relabeled:
        rows.append((sid, "label", a.at[sid, "label"], b.at[sid, "label"], a.at[sid, "split"], b.at[sid, "split"],
                     b.at[sid, "filepath"]))
    for sid in both[split_changed.to_numpy()]:
        rows.append((sid, "split", a.at[sid, "label"], b.at[sid, "label"], a.at[sid, "split"], b.at[sid, "split"],
                     b.at[sid, "filepath"]))
    who = _who(dataset, relabeled, field, a_at, b_at)
    marks = _who(dataset, [r[0] for r in rows if r[1] in ("excluded", "restored")], Mark.EXCLUDED.field, a_at, b_at)
    records = []
    for sid, change, *rest in rows:
        source = who if change == "label" else marks if change in ("excluded", "restored") else {}
        by, at, reason = source.get(sid, (None, None, "not in the audit log" if change == "label" else ""))
        records.append((sid, change, *rest, by, at, reason))
    changes = pd.DataFrame(records, columns=CHANGE_COLUMNS).sort_values(["change", "sample_id"]) \
        .reset_index(drop=True)
    old_counts = _class_counts(a.reset_index(), kind).rename(columns={"count": "old"})
    new_counts = _class_counts(b.reset_index(), kind).rename(columns={"count": "new"})
    dist = old_counts.merge(new_counts, on=["split", "label"], how="outer").fillna(0)
    dist[["old", "new"]] = dist[["old", "new"]].astype(int)
    dist["shift"] = dist["new"] - dist["old"]
    dist = dist.sort_values(["split", "label"]).reset_index(drop=True)
    return ReleaseDiff(store.dataset_name(dataset), a_name, b_name, changes, dist)
