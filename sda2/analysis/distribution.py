"""Label distribution statistics: class counts per split, imbalance, tag co-occurrence, box geometry.

Pure pandas / numpy: counts in, tables out. The store layer does the counting in the database and hands
the (small) counted results here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.preprocessing import MultiLabelBinarizer

# ratio (largest / smallest class) at or above which each severity starts
SEVERITIES = ((10.0, "severe"), (3.0, "moderate"), (1.5, "mild"), (0.0, "balanced"))
SMALL_BOX_PX = 32  # COCO's "small object": area below 32 x 32 pixels


def distribution_table(counts: pd.DataFrame, classes: Sequence[str] | None = None,
                       totals: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Columns split, label, count, percent; declared ``classes`` absent from a split get count 0.

    ``counts`` has columns split, label, count. ``percent`` is the share of ``totals[split]`` (e.g. the
    split's number of samples) when given, else of the split's summed counts.
    """
    counts = counts[["split", "label", "count"]].astype({"count": "int64"})
    splits = list(dict.fromkeys(counts["split"])) or list(totals or [])
    labels = list(dict.fromkeys([*(classes or []), *sorted(counts["label"].unique(), key=str)]))
    full = pd.MultiIndex.from_product([splits, labels], names=["split", "label"])
    table = (counts.groupby(["split", "label"], sort=False)["count"].sum()
             .reindex(full, fill_value=0).reset_index())
    if totals is not None and table["split"].isin(list(totals)).all():
        denominators = table["split"].map(totals).astype("float64")
    else:
        denominators = table.groupby("split")["count"].transform("sum").astype("float64")
    table["percent"] = np.where(denominators > 0, 100.0 * table["count"] / denominators.clip(lower=1), 0.0)
    return table.sort_values(["split", "count", "label"], ascending=[True, False, True], ignore_index=True)


def combine_splits(table: pd.DataFrame, total: int | None = None, name: str = "all") -> pd.DataFrame:
    """The distribution summed over splits, as one split called ``name`` (percent of ``total`` if given)."""
    summed = table.groupby("label", sort=False)["count"].sum().reset_index().assign(split=name)
    return distribution_table(summed, classes=list(table["label"].unique()),
                              totals=None if total is None else {name: total})


def compare_distributions(truth: pd.DataFrame, predicted: pd.DataFrame) -> pd.DataFrame:
    """Per class: truth and predicted count and percent, and how many points of share predictions gain.

    Both inputs are one-split distribution tables (label, count, percent); ``shift`` is predicted percent
    minus truth percent (positive: the model predicts the class more often than it occurs), largest first.
    """
    both = (truth.set_index("label")[["count", "percent"]]
            .join(predicted.set_index("label")[["count", "percent"]], how="outer", lsuffix="_truth",
                  rsuffix="_predicted")
            .fillna(0.0))
    both = both.astype({"count_truth": "int64", "count_predicted": "int64"})
    both["shift"] = both["percent_predicted"] - both["percent_truth"]
    return both.reset_index().sort_values("shift", key=abs, ascending=False, ignore_index=True)


def describe_shift(comparison: pd.DataFrame, top: int = 3, min_points: float = 0.5) -> str:
    """Plain words for the classes predictions over- and under-represent most (from compare_distributions)."""
    def names(rows: pd.DataFrame) -> str:
        return ", ".join(f"{r.label!r} ({r.shift:+.1f} pts)" for r in rows.head(top).itertuples())

    over = comparison[comparison["shift"] >= min_points]
    under = comparison[comparison["shift"] <= -min_points]
    parts = ([f"over-predicts {names(over)}"] if len(over) else []) + (
        [f"under-predicts {names(under)}"] if len(under) else [])
    if not parts:
        return f"Predicted class shares match the ground truth within {min_points} percentage points."
    return f"The model {' and '.join(parts)} against the ground-truth share."


@dataclass(frozen=True)
class Imbalance:
    """How uneven the classes are: largest / smallest class count and a plain-words verdict."""

    ratio: float
    largest: str
    largest_count: int
    smallest: str
    smallest_count: int
    severity: str  # "balanced", "mild", "moderate" or "severe"
    message: str

    @property
    def is_severe(self) -> bool:
        """True when the ratio is 10:1 or worse (or a class has no samples at all)."""
        return self.severity == "severe"


def imbalance(counts: Mapping[str, int] | pd.Series, unit: str = "samples") -> Imbalance:
    """The imbalance ratio largest / smallest of per-class ``counts`` (of ``unit``), with its severity in words."""
    series = pd.Series(counts, dtype="int64")
    if len(series) < 2:
        only = str(series.index[0]) if len(series) else "none"
        n = int(series.iloc[0]) if len(series) else 0
        return Imbalance(1.0, only, n, only, n, "balanced",
                         "Only one class: there is no balance to measure." if len(series)
                         else "No labels yet: there is no balance to measure.")
    ordered = series.sort_values(kind="stable")
    smallest, largest = str(ordered.index[0]), str(ordered.index[-1])
    low, high = int(ordered.iloc[0]), int(ordered.iloc[-1])
    ratio = float("inf") if low == 0 else high / low
    severity = next(name for bound, name in SEVERITIES if ratio >= bound)
    advice = {"severe": f" A model will tend to ignore {smallest!r}: collect or label more of the rare classes, "
                        "or use class weights / resampling, and judge it by per-class recall.",
              "moderate": " Watch the rare classes' recall.", "mild": "", "balanced": ""}[severity]
    if low == 0:
        message = (f"Class {smallest!r} has no {unit} at all. Fix: label some {smallest!r} examples, or drop "
                   "the class from the dataset's classes.")
    else:
        message = (f"{severity.capitalize()}{' imbalance' if severity != 'balanced' else ''}: {largest!r} has "
                   f"{ratio:,.{1 if ratio >= 1.5 else 2}f}× as many {unit} as {smallest!r} ({high:,} vs {low:,})."
                   + advice)
    return Imbalance(ratio, largest, high, smallest, low, severity, message)


def tag_sets_table(tag_sets: Iterable[tuple[str, Iterable[str], int]]) -> pd.DataFrame:
    """Columns split, tags (a sorted tuple), count from (split, tags, count) triples, equal sets merged."""
    rows = [(split, tuple(sorted(set(tags))), int(count)) for split, tags, count in tag_sets]
    frame = pd.DataFrame(rows, columns=["split", "tags", "count"])
    return frame.groupby(["split", "tags"], sort=False)["count"].sum().reset_index()


def _indicators(tag_sets: pd.DataFrame, tags: Sequence[str] | None) -> tuple[np.ndarray, list[str]]:
    if not len(tag_sets):
        return np.zeros((0, len(tags or [])), dtype=np.int64), [str(t) for t in tags or []]
    binarizer = MultiLabelBinarizer(classes=list(tags)) if tags is not None else MultiLabelBinarizer()
    matrix = binarizer.fit_transform(tag_sets["tags"])
    return np.asarray(matrix, dtype=np.int64), [str(c) for c in binarizer.classes_]


def tag_counts(tag_sets: pd.DataFrame, classes: Sequence[str] | None = None) -> pd.DataFrame:
    """Per split, how many samples carry each tag: columns split, label, count, percent (of the split's samples).

    Declared ``classes`` that no sample carries are listed with count 0.
    """
    indicators, names = _indicators(tag_sets, None)
    weighted = pd.DataFrame(indicators * tag_sets["count"].to_numpy()[:, None], columns=names)
    counts = weighted.assign(split=tag_sets["split"].to_numpy()).groupby("split", sort=False).sum()
    long = counts.reset_index().melt(id_vars="split", var_name="label", value_name="count")
    totals = tag_sets.groupby("split", sort=False)["count"].sum().to_dict()
    return distribution_table(long, classes=[*(classes or []), *names], totals=totals)


def cooccurrence(tag_sets: pd.DataFrame, tags: Sequence[str] | None = None) -> pd.DataFrame:
    """Square tag x tag matrix: samples carrying both tags (the diagonal: samples carrying the tag)."""
    indicators, names = _indicators(tag_sets, tags)
    weights = tag_sets["count"].to_numpy()[:, None]
    return pd.DataFrame(indicators.T @ (indicators * weights), index=names, columns=names)


def tags_per_sample(tag_sets: pd.DataFrame) -> pd.Series:
    """Number of samples by how many tags they carry (index: tags per sample, 0 included)."""
    sizes = tag_sets["tags"].map(len)
    return tag_sets.groupby(sizes)["count"].sum().rename_axis("tags per sample").rename("samples")


def box_geometry(widths, heights, image_widths=None, image_heights=None) -> pd.DataFrame:
    """Per box: relative width/height/area, and size (√area) and aspect (w/h) in pixels where image sizes are known.

    Widths and heights are relative to the image (0..1) as FiftyOne stores them; unknown image sizes are
    0 or NaN, and for those boxes size_px is NaN and the aspect ratio is taken in relative units.
    """
    w, h = np.asarray(widths, dtype=float), np.asarray(heights, dtype=float)
    img_w = np.full_like(w, np.nan) if image_widths is None else np.asarray(image_widths, dtype=float)
    img_h = np.full_like(h, np.nan) if image_heights is None else np.asarray(image_heights, dtype=float)
    known = (img_w > 0) & (img_h > 0)
    px_w, px_h = np.where(known, w * img_w, np.nan), np.where(known, h * img_h, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.where(known, px_w / px_h, w / h)
    return pd.DataFrame({"rel_width": w, "rel_height": h, "rel_area": w * h,
                         "size_px": np.sqrt(px_w * px_h), "aspect": aspect})


@dataclass(frozen=True)
class BoxSummary:
    """Headline figures of a detection dataset's boxes."""

    images: int
    boxes: int
    boxes_per_image_mean: float
    boxes_per_image_max: int
    images_without_boxes: int
    median_rel_area: float
    median_size_px: float  # NaN when image sizes are unknown
    small_share: float  # share of boxes under SMALL_BOX_PX² pixels (NaN when sizes unknown)
    median_aspect: float


def box_summary(boxes_per_image: Mapping[int, int] | pd.Series, geometry: pd.DataFrame) -> BoxSummary:
    """Summary of ``boxes_per_image`` (boxes -> number of images) and per-box ``geometry`` (see box_geometry)."""
    per_image = pd.Series(boxes_per_image, dtype="int64")
    images = int(per_image.sum())
    boxes = int((per_image.index.to_numpy() * per_image.to_numpy()).sum())
    size = geometry["size_px"].dropna()
    return BoxSummary(
        images=images, boxes=boxes,
        boxes_per_image_mean=boxes / images if images else 0.0,
        boxes_per_image_max=int(per_image[per_image > 0].index.max()) if images else 0,
        images_without_boxes=int(per_image.get(0, 0)),
        median_rel_area=float(geometry["rel_area"].median()) if len(geometry) else float("nan"),
        median_size_px=float(size.median()) if len(size) else float("nan"),
        small_share=float((size < SMALL_BOX_PX).mean()) if len(size) else float("nan"),
        median_aspect=float(geometry["aspect"].median()) if len(geometry) else float("nan"),
    )
