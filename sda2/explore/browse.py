"""Browse samples: filter, sort and page a dataset, one page of rows at a time (fast on 100k samples).

Only the page being shown is read: the filters and the sort become a FiftyOne view, ``skip``/``limit``
cut the page, and ``values()`` reads just the fields a grid needs. A notebook and the Samples page call
the same functions::

    import sda2
    sda2.query_samples("digits", labels=["3"], sort_by="source_index", descending=True, limit=10)
    view = sda2.filter_samples("digits", labels=["3"])     # a FiftyOne view, e.g. for the FiftyOne App
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import numpy as np
import pandas as pd
from bson import ObjectId
from scipy.special import softmax

import fiftyone as fo
from fiftyone import ViewField as F
from sda2 import arrays, store
from sda2.explore.overview import cache_key

Range = tuple[float | None, float | None]

# arrays keys where a probabilities matrix for ``{field}`` may be stored (rows aligned by sample id)
PROBABILITY_KEYS = ("{field}_probabilities", "probabilities_{field}", "probabilities")



def _label_paths(collection, field: str) -> dict[str, str]:
    """Dotted paths of the class names, confidences and boxes inside label field ``field``."""
    kind = store.label_kind(collection._dataset, field)
    inner = {"classification": field, "multilabel": f"{field}.classifications",
             "detection": f"{field}.detections"}[kind]
    paths = {"kind": kind, "list": None if kind == "classification" else inner,
             "label": f"{inner}.label", "confidence": f"{inner}.confidence"}
    if kind == "detection":
        paths["box"] = f"{inner}.bounding_box"
    return paths


def _numeric_paths(collection) -> list[str]:
    """Declared numeric fields with one value per sample (none inside a list), schema order; no data read."""
    schema = collection.get_field_schema(flat=True)
    paths = []
    for path, field in schema.items():
        parts = path.split(".")
        if not isinstance(field, (fo.IntField, fo.FloatField)) or any(p.startswith("_") for p in parts):
            continue
        if any(isinstance(schema.get(".".join(parts[:i])), fo.ListField) for i in range(1, len(parts))):
            continue  # inside a list (e.g. one value per box): not one number per sample
        paths.append(path)
    return paths


PROBE_ROWS = 1_000  # samples read first to find the numeric fields that hold values
_numeric_kept: dict = {}  # (dataset id, schema paths) -> (dataset version, paths holding values)


@store.dataset_or_name
def numeric_fields(dataset) -> list[str]:
    """Paths of the numeric fields holding at least one value (sortable and range-filterable), schema order.

    Kept per dataset version (``sda2.explore.overview.cache_key``): asked again before a sample changes, a
    lookup. Otherwise the first samples show which fields hold values, and one pass over the rest confirms the
    others (1M samples: about a second, instead of one scan per empty field).
    """
    root = store.as_dataset(dataset)._dataset
    paths = _numeric_paths(root)
    key, version = (store.dataset_id(root), tuple(paths)), cache_key(root)
    kept = _numeric_kept.get(key)
    if kept and kept[0] == version:
        return list(kept[1])
    collection = root._sample_collection
    present = set()
    for doc in collection.find({}, {p: 1 for p in paths}).limit(PROBE_ROWS):
        present |= {p for p in paths if isinstance(_lookup(doc, p), (int, float))}
    rest = [p for p in paths if p not in present]
    if rest:  # one pass for the fields not seen in the first samples
        group = {f"f{i}": {"$max": {"$cond": [{"$isNumber": f"${p}"}, 1, 0]}} for i, p in enumerate(rest)}
        found = next(collection.aggregate([{"$group": {"_id": None, **group}}], allowDiskUse=True), {})
        present |= {p for i, p in enumerate(rest) if found.get(f"f{i}")}
    result = [p for p in paths if p in present]
    _numeric_kept[key] = (version, result)
    return list(result)


def _lookup(doc: dict, path: str):
    """The value at dotted ``path`` of a raw sample document (None where a part is missing)."""
    for part in path.split("."):
        if not isinstance(doc, dict):
            return None
        doc = doc.get(part)
    return doc


def _check_numeric(collection, path: str) -> None:
    numeric = _numeric_paths(collection)
    if path not in numeric:
        raise ValueError(f"{path!r} is not a numeric field of {collection._dataset.name!r}. "
                         f"Fix: use one of {', '.join(numeric) or '(none: the dataset has no numeric fields)'}.")


@store.dataset_or_name
def filter_samples(dataset, label_field: str = "ground_truth", prediction_field: str | None = None, *,
                   labels: Iterable[str] | None = None, predictions: Iterable[str] | None = None,
                   tags: Iterable[str] | None = None, split: str | None = None,
                   ranges: Mapping[str, Range] | None = None, correct: bool | None = None):
    """The FiftyOne view of ``dataset`` (a name, dataset or view) keeping the samples that pass every filter.

    ``labels``/``predictions``: samples whose ground truth / prediction has any of these classes;
    ``tags``: samples with any of these sample tags; ``split``: one split; ``ranges``: {numeric field:
    (low, high)}, inclusive, None for an open end; ``correct``: True/False keeps only right/wrong
    predictions. A field filtered on is indexed the first time, so counts on 100k samples are fast.
    """
    view = store.as_dataset(dataset).view()
    gt = _label_paths(view, label_field)
    root = view._dataset
    if labels:
        store.ensure_index(root, gt["label"])
        view = view.match({gt["label"]: {"$in": [str(v) for v in labels]}})  # a query, so the index serves it
    if prediction_field:
        pred = _label_paths(view, prediction_field)
        if predictions:
            store.ensure_index(root, pred["label"])
            view = view.match({pred["label"]: {"$in": [str(v) for v in predictions]}})
        if correct is not None:
            view = view.match(_correct_expr(gt, pred) if correct else _wrong_expr(gt, pred))
    elif predictions or correct is not None:
        raise ValueError("Filtering by prediction needs a prediction field. Fix: pass prediction_field=…")
    if tags:
        store.ensure_index(root, "tags")
        view = view.match_tags(list(tags))
    if split:
        store.ensure_index(root, "split")
        view = view.match({"split": split})
    for path, (low, high) in (ranges or {}).items():
        _check_numeric(view, path)
        store.ensure_index(root, path, with_id=True)
        bounds = {op: float(v) for op, v in (("$gte", low), ("$lte", high)) if v is not None}
        if bounds:
            view = view.match({path: bounds})
    return view


def sort_samples(view, sort_by: str | None = None, descending: bool = False):
    """``view`` sorted by numeric field ``sort_by``, else in dataset order; the sample id breaks ties.

    A filter served by an index returns samples in index order, so even "dataset order" is an explicit sort
    (by id, which is indexed), and pages never overlap. The field is indexed with the id the first time.
    """
    order = -1 if descending else 1
    if not sort_by:
        return view.sort_by([("id", order)])
    _check_numeric(view, sort_by)
    store.ensure_index(view._dataset, sort_by, with_id=True)
    return view.sort_by([(sort_by, order), ("id", order)])


def _correct_expr(gt: dict, pred: dict):
    if gt["kind"] != pred["kind"] or gt["kind"] == "detection":
        raise ValueError(f"Right/wrong needs classification or multi-label fields of the same kind "
                         f"(here {gt['kind']} vs {pred['kind']}). Fix: drop the correct= filter.")
    if gt["kind"] == "classification":
        return F(pred["label"]).exists() & (F(pred["label"]) == F(gt["label"]))
    return F(pred["list"]).exists() & F(gt["list"]).exists() & F(pred["label"]).set_equals(F(gt["label"]))


def _wrong_expr(gt: dict, pred: dict):
    _correct_expr(gt, pred)  # same checks
    if gt["kind"] == "classification":
        return F(pred["label"]).exists() & (F(pred["label"]) != F(gt["label"]))
    return F(pred["list"]).exists() & (~F(gt["list"]).exists()
                                       | ~F(pred["label"]).set_equals(F(gt["label"])))


def page_rows(view, label_field: str = "ground_truth", prediction_field: str | None = None,
              skip: int = 0, limit: int = 48) -> pd.DataFrame:
    """One page of ``view`` as rows: id, filepath, label, prediction, confidence, correct, tags, split, numbers.

    Detections add ``label_boxes``/``prediction_boxes`` ([x, y, w, h] relative); multi-label and detection
    labels are lists. Reads only this page and only these fields; pass a view from :func:`sort_samples` so
    that consecutive pages neither overlap nor skip samples.
    """
    if skip < 0 or limit < 1:
        raise ValueError(f"skip must be ≥ 0 and limit ≥ 1 (got skip={skip}, limit={limit}).")
    gt = _label_paths(view, label_field)
    pred = _label_paths(view, prediction_field) if prediction_field else None
    schema = view.get_field_schema()
    columns = {"id": "id", "filepath": "filepath", "tags": "tags", "label": gt["label"]}
    if "split" in schema:
        columns["split"] = "split"
    if gt["kind"] == "detection":
        columns["label_boxes"] = gt["box"]
    if pred:
        columns["prediction"] = pred["label"]
        columns["confidence"] = pred["confidence"]
        if pred["kind"] == "detection":
            columns["prediction_boxes"] = pred["box"]
    numeric = [p for p in _numeric_paths(view) if p not in columns.values()]
    page = view.skip(skip).limit(limit)
    values = page.values(list(columns.values()) + numeric)
    rows = pd.DataFrame(dict(zip(list(columns) + numeric, values)))
    if rows.empty:
        return pd.DataFrame(columns=list(columns) + numeric)
    rows = rows.drop(columns=[p for p in numeric if rows[p].isna().all()])  # e.g. metadata never computed
    rows["tags"] = rows["tags"].map(lambda t: list(t or []))
    if pred and gt["kind"] == pred["kind"] != "detection":
        rows.insert(rows.columns.get_loc("confidence") + 1, "correct",
                    [_is_correct(g, p) for g, p in zip(rows["label"], rows["prediction"])])
    return rows


def _is_correct(given, predicted) -> bool | None:
    if predicted is None or given is None:
        return None
    if isinstance(given, list):
        return set(given) == set(predicted)
    return given == predicted


@store.dataset_or_name
def query_samples(dataset, label_field: str = "ground_truth", prediction_field: str | None = None, *,
                  sort_by: str | None = None, descending: bool = False, skip: int = 0, limit: int = 48,
                  **filters) -> pd.DataFrame:
    """One page of filtered (see :func:`filter_samples`), sorted samples as a DataFrame.

    ``df.attrs["total"]`` holds how many samples pass the filters, over all pages.
    """
    filtered = filter_samples(dataset, label_field, prediction_field, **filters)
    rows = page_rows(sort_samples(filtered, sort_by, descending), label_field, prediction_field, skip, limit)
    rows.attrs["total"] = filtered.count()  # counted before the sort: a count needs no order
    return rows


@store.dataset_or_name
def field_range(dataset, path: str) -> tuple[float, float] | None:
    """(min, max) of numeric field ``path`` over ``dataset`` (a name, dataset or view); None when empty."""
    collection = store.as_dataset(dataset)
    low, high = collection.bounds(path)
    return None if low is None else (float(low), float(high))


@store.dataset_or_name
def sample_tags(dataset) -> list[str]:
    """The sample tags used in ``dataset``, sorted."""
    collection = store.as_dataset(dataset)
    store.ensure_index(collection._dataset, "tags")  # also serves match_tags on a view
    return store.distinct_values(collection, "tags")


@store.dataset_or_name
def sample_fields(dataset, sample_id: str) -> dict:
    """Every field of one sample, flattened to ``{"path": value}`` with plain Python values (ids as text)."""
    sample = store.as_dataset(dataset)._dataset[sample_id]
    doc = {"id": sample.id, **{name: _plain(value) for name, value in sample.iter_fields(include_timestamps=True)}}
    flat = pd.json_normalize(doc, sep=".").iloc[0].to_dict()
    return {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in flat.items()}


def _plain(value):
    """A FiftyOne value as plain Python: labels as dicts (without their internal ids), arrays as lists."""
    if isinstance(value, fo.core.odm.BaseEmbeddedDocument):
        return {k: _plain(v) for k, v in value.iter_fields() if k != "id" and v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return np.round(value.astype(float), 4).tolist()
    if isinstance(value, (datetime, ObjectId)):
        return str(value)
    return value


@store.dataset_or_name
def class_probabilities(dataset, sample_id: str, prediction_field: str,
                        label_field: str = "ground_truth") -> pd.Series:
    """The predicted class probabilities of one sample, highest first (empty when the field has none).

    Read from a stored probabilities array (sda2.arrays, key ``{field}_probabilities`` or
    ``probabilities``), else the softmax of the prediction's ``logits``, else the per-class confidences.
    """
    collection = store.as_dataset(dataset)
    ds = collection._dataset
    classes = _prediction_classes(ds, prediction_field, label_field)
    for key in (k.format(field=prediction_field) for k in PROBABILITY_KEYS):
        if arrays.exists(ds, key):
            _, rows = arrays.load(ds, key, ids=[sample_id])
            names = arrays.info(ds, key).get("classes") or classes
            if len(names) == rows.shape[1] and not np.isnan(rows[0]).all():
                return _series(rows[0], names)
    label = ds[sample_id][prediction_field]
    if label is None:
        return pd.Series(dtype=float)
    if isinstance(label, fo.Classification):
        if label.logits is not None and len(label.logits) == len(classes):
            return _series(softmax(np.asarray(label.logits, dtype=float)), classes)
        return _series([label.confidence], [label.label]) if label.confidence is not None else pd.Series(dtype=float)
    items = label.classifications if isinstance(label, fo.Classifications) else label.detections
    scored = {}
    for item in items:
        if item.confidence is not None:
            scored[item.label] = max(item.confidence, scored.get(item.label, 0.0))
    return _series(list(scored.values()), list(scored))


def _prediction_classes(ds: fo.Dataset, prediction_field: str, label_field: str) -> list[str]:
    declared = ds.classes.get(prediction_field) or ds.classes.get(label_field) or ds.default_classes
    return [str(c) for c in declared] if declared else store.classes(ds, label_field)


def _series(values, names) -> pd.Series:
    series = pd.Series(np.asarray(values, dtype=float), index=[str(n) for n in names], name="probability")
    return series.sort_values(ascending=False, kind="stable")
