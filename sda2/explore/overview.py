"""What is in a dataset: sample, class and split counts, label distributions, imbalance, tags, boxes.

Results are kept in memory per dataset version (:func:`cache_key`: sample count, last modification, last
deletion; an index lookup), so opening the overview again is a lookup until a sample changes; on 1M samples
the counting pass takes seconds (``benchmarks/bench_scale.py``). All counting happens in the database in one
FiftyOne ``aggregate`` call, one pass over the samples
whatever the number of splits or classes: samples are grouped by (split, class, predicted class) in a
single ``$group`` (multi-label: by split and tag set, from which tag counts and co-occurrence follow;
detections: boxes by split and class, plus boxes per image). Only detection box geometry is read with
``values()``. The small counted results go to :mod:`sda2.analysis.distribution`.

    import sda2
    sda2.class_distribution("digits")              # split, label, count, percent
    sda2.dataset_overview("digits").imbalance.message
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, fields, replace

import pandas as pd

from sda2 import store
from sda2.analysis import distribution as dist

import fiftyone as fo  # noqa: E402  (after sda2.store, which points FiftyOne at the right database)
from fiftyone import ViewField as F  # noqa: E402

NO_SPLIT = "(no split)"
SPLIT_ORDER = ("train", "training", "val", "valid", "validation", "dev", "test", "testing")  # others follow, A-Z
_SPLIT_SEP, _TAG_SEP = "\x1e", "\x1f"  # separators that never occur in split or class names
KEEP = 8  # overviews kept in memory (per process; detection ones hold every box), least recently used dropped first
_kept: OrderedDict = OrderedDict()
_kept_lock = threading.Lock()



def _split_rank(split: str) -> tuple:
    return (SPLIT_ORDER.index(split), "") if split in SPLIT_ORDER else (len(SPLIT_ORDER), split)


def _per_sample_label(field: str, kind: str) -> fo.core.expressions.ViewExpression:
    """A sample's label as one string: the class, or its sorted tags joined ("" when it has none)."""
    if kind == "classification":
        return F(f"{field}.label").if_null("")
    return F(f"{field}.classifications.label").if_null([]).sort().join(_TAG_SEP)


def _per_box_counts(field: str) -> fo.CountValues:
    """Boxes of each (split, class) of a detection ``field``, as ``split<SEP>label`` keys."""
    return fo.CountValues(f"{field}.detections.label", expr=F("$split").if_null("").concat(_SPLIT_SEP, F()))


def _sample_counts(roles: dict[str, tuple[str, str]]) -> fo.CountValues:
    """Samples per (split, label of each non-detection role), as ``split<SEP>label<SEP>label`` keys."""
    parts = [F("split").if_null("")]
    for field, kind in roles.values():
        parts += [_SPLIT_SEP, _per_sample_label(field, kind)]
    return fo.CountValues(parts[0].concat(*parts[1:]) if len(parts) > 1 else parts[0])


def _sample_frame(keyed: dict, roles: list[str]) -> pd.DataFrame:
    rows = [[*key.split(_SPLIT_SEP), count] for key, count in keyed.items()]
    frame = pd.DataFrame(rows, columns=["split", *roles, "count"])
    frame["split"] = frame["split"].replace("", NO_SPLIT)
    return frame


def _box_frame(keyed: dict) -> pd.DataFrame:
    rows = [(*key.split(_SPLIT_SEP, 1), count) for key, count in keyed.items() if key is not None]
    frame = pd.DataFrame(rows, columns=["split", "label", "count"])
    frame["split"] = frame["split"].replace("", NO_SPLIT)
    return frame


def _tag_sets(samples: pd.DataFrame, role: str) -> pd.DataFrame:
    tags = samples[role].map(lambda joined: [t for t in joined.split(_TAG_SEP) if t])
    return dist.tag_sets_table(zip(samples["split"], tags, samples["count"]))


def _table(kind: str, role: str, samples: pd.DataFrame, boxes: dict | None, classes, split_counts):
    """The (split, label, count, percent) table of one role, from the counted aggregation results."""
    if kind == "detection":
        return dist.distribution_table(_box_frame(boxes), classes=classes)
    if kind == "multilabel":
        return dist.tag_counts(_tag_sets(samples, role), classes=classes)
    labeled = samples[samples[role] != ""].groupby(["split", role], sort=False)["count"].sum()
    return dist.distribution_table(labeled.rename_axis(["split", "label"]).reset_index(), classes=classes,
                                   totals=split_counts)


@dataclass(frozen=True)
class Overview:
    """Everything the Overview page shows about one label field (and optionally a prediction field)."""

    dataset: str
    field: str
    kind: str  # "classification", "multilabel" or "detection"
    prediction_field: str | None
    split: str | None  # the one split looked at, or None for all
    num_samples: int
    split_counts: dict[str, int]  # samples per split (NO_SPLIT for samples without one)
    classes: list[str]
    distribution: pd.DataFrame  # split, label, count, percent (of samples; of boxes for detections)
    overall: pd.DataFrame  # the same summed over splits
    imbalance: dist.Imbalance
    unlabeled: int  # samples without a label (no tag for multi-label, no box for detections)
    prediction_distribution: pd.DataFrame | None = None  # per split, like ``distribution``
    prediction_overall: pd.DataFrame | None = None  # summed over splits, like ``overall``
    cooccurrence: pd.DataFrame | None = None  # multi-label: tag x tag sample counts
    tags_per_sample: pd.Series | None = None  # multi-label: tags -> samples
    boxes_per_image: pd.Series | None = None  # detection: boxes -> images
    box_geometry: pd.DataFrame | None = None  # detection: one row per box
    box_summary: dist.BoxSummary | None = None  # detection

    @property
    def num_classes(self) -> int:
        """Number of classes (declared or seen)."""
        return len(self.classes)


def _copy(result: Overview) -> Overview:
    """A copy whose tables the caller may change without touching the kept one."""
    return replace(result, **{f.name: getattr(result, f.name).copy() for f in fields(result)
                              if isinstance(getattr(result, f.name), (pd.DataFrame, pd.Series, dict))})


def dataset_overview(dataset_or_name, field: str = "ground_truth", prediction_field: str | None = None,
                     split: str | None = None) -> Overview:
    """Counts, distributions and imbalance of ``field`` (and ``prediction_field``) in one database pass.

    A whole dataset's overview is kept per :func:`cache_key`: asked again before any sample changes, it is a
    lookup; a view is always counted.
    """
    dataset = store.as_dataset(dataset_or_name)
    if not isinstance(dataset, fo.Dataset):
        return _count_overview(dataset, field, prediction_field, split)
    key = (store.dataset_id(dataset), cache_key(dataset), field, prediction_field, split)
    with _kept_lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _copy(_kept[key])
    result = _count_overview(dataset, field, prediction_field, split)
    with _kept_lock:
        _kept[key] = result
        while len(_kept) > KEEP:
            _kept.popitem(last=False)
    return _copy(result)


def _count_overview(dataset, field: str, prediction_field: str | None, split: str | None) -> Overview:
    """The overview counted in the database (no cache)."""
    root = dataset._root_dataset if isinstance(dataset, fo.DatasetView) else dataset
    collection = dataset.match(F("split") == split) if split else dataset
    kinds = {"truth": (field, store.label_kind(root, field))}
    if prediction_field:
        kinds["pred"] = (prediction_field, store.label_kind(root, prediction_field))
    per_sample = {role: fk for role, fk in kinds.items() if fk[1] != "detection"}
    aggs = {"samples": _sample_counts(per_sample)}
    for role, (name, role_kind) in kinds.items():
        if role_kind == "detection":
            aggs[role] = _per_box_counts(name)
    kind = kinds["truth"][1]
    if kind == "detection":
        boxes = f"{field}.detections.bounding_box"
        aggs["per_image"] = fo.CountValues(F(f"{field}.detections").if_null([]).length())
        aggs["w"] = fo.Values(boxes, expr=F()[2], unwind=True)
        aggs["h"] = fo.Values(boxes, expr=F()[3], unwind=True)
        aggs["img_w"] = fo.Values(boxes, expr=F("$metadata.width").if_null(0), unwind=True)
        aggs["img_h"] = fo.Values(boxes, expr=F("$metadata.height").if_null(0), unwind=True)
    results = dict(zip(aggs, collection.aggregate(list(aggs.values()))))

    samples = _sample_frame(results["samples"], list(per_sample))
    per_split = samples.groupby("split")["count"].sum().astype(int)
    split_counts = {s: int(per_split[s]) for s in sorted(per_split.index, key=_split_rank)}
    n = sum(split_counts.values())
    declared = root.classes.get(field) or root.default_classes or None
    table = _table(kind, "truth", samples, results.get("truth"), declared, split_counts)
    total = None if kind == "detection" else n
    overall = dist.combine_splits(table, total)
    extra = {}
    if kind == "classification":
        unlabeled = int(samples.loc[samples["truth"] == "", "count"].sum())
    elif kind == "multilabel":
        tag_sets = _tag_sets(samples, "truth")
        extra["tags_per_sample"] = dist.tags_per_sample(tag_sets)
        extra["cooccurrence"] = dist.cooccurrence(tag_sets, list(overall["label"]))  # most frequent first
        unlabeled = int(extra["tags_per_sample"].get(0, 0))
    else:
        per_image = pd.Series(results["per_image"], dtype="int64").sort_index().rename_axis("boxes")
        geometry = dist.box_geometry(results["w"], results["h"], results["img_w"], results["img_h"])
        unlabeled = int(per_image.get(0, 0))
        extra.update(boxes_per_image=per_image.rename("images"), box_geometry=geometry,
                     box_summary=dist.box_summary(per_image, geometry))
    if prediction_field:
        pred_kind = kinds["pred"][1]
        pred_table = _table(pred_kind, "pred", samples, results.get("pred"), declared, split_counts)
        extra["prediction_distribution"] = pred_table
        extra["prediction_overall"] = dist.combine_splits(pred_table, None if pred_kind == "detection" else n)
    classes = list(declared) if declared else sorted(overall["label"].unique(), key=str)
    return Overview(
        dataset=root.name, field=field, kind=kind, prediction_field=prediction_field, split=split,
        num_samples=n, split_counts=split_counts, classes=classes, distribution=table, overall=overall,
        imbalance=dist.imbalance(overall.set_index("label")["count"], "boxes" if kind == "detection" else "samples"),
        unlabeled=unlabeled, **extra,
    )


def class_distribution(dataset_or_name, field: str = "ground_truth", by_split: bool = True,
                       split: str | None = None) -> pd.DataFrame:
    """Class counts and percent of ``field``, per split (``by_split``) or summed over all samples."""
    result = dataset_overview(dataset_or_name, field, split=split)
    return result.distribution if by_split else result.overall


def tag_cooccurrence(dataset_or_name, field: str = "ground_truth", split: str | None = None) -> pd.DataFrame:
    """Tag x tag matrix of a multi-label field: how many samples carry both tags."""
    result = dataset_overview(dataset_or_name, field, split=split)
    if result.cooccurrence is None:
        raise ValueError(f"{field!r} holds {result.kind} labels, not multi-label tags. Fix: pass a "
                         "Classifications field, or use class_distribution for single labels.")
    return result.cooccurrence


def cache_key(dataset_or_name) -> tuple:
    """(name, sample count, last modification, last deletion) of a dataset: changes whenever its samples do."""
    dataset = store.as_dataset(dataset_or_name)
    dataset.sync_last_modified_at(include_frames=False)
    return dataset.name, len(dataset), dataset.last_modified_at, dataset.last_deletion_at
