"""Choose what to label next on a stored dataset: the notebook API behind the Selection page.

    ids = sda2.select_samples("digits", "hybrid", 200, tag="unlabeled")   # sample ids, in the order picked
    sda2.compare_selection("digits", ids, sda2.pool_ids("digits", tag="unlabeled")).classes
    sda2.save_selection("digits", ids, tag="batch-3", annotator="alice")  # or saved_view="batch-3"
    sda2.export_selection("digits", ids, "batch-3.csv")                   # filepath and id per row

Inputs are read in bulk: embeddings from ``sda2.arrays`` (the best stored key unless one is named),
probabilities (and their class order) from the ``probabilities`` array that ``compute_predictions`` writes,
near-duplicate groups from the ``duplicate_group`` field that ``detect_duplicates`` writes (when present,
the selection never takes two members of one group). Samples outside the pool that already carry a label
count as labeled: diversity covers what they leave uncovered, class balance counts them, and a pool sample
in a duplicate group with one of them is never picked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sda2 import arrays, store
from sda2.analysis import active_learning as strategies
from sda2.compute.embeddings import embedding_keys
from sda2.compute.predictions import probabilities_key
from sda2.curation import saved_views

DUPLICATE_FIELD = "duplicate_group"
NO_LABEL = "(no label)"
DESCRIPTIONS = {
    "random": "a seeded random sample of the pool (the baseline)",
    "class_balanced": "even class counts (labels where given, else predicted ones)",
    "least_confidence": "the samples whose top predicted probability is lowest",
    "margin": "the samples with the smallest gap between the two likeliest classes",
    "entropy": "the samples with the most spread-out predicted probabilities",
    "diversity": "a k-center coreset: each pick the sample farthest from all picked and labeled ones",
    "hybrid": "uncertain and spread out: margin candidates clustered by k-means, one per cluster",
}


def _dataset_and_view(dataset_or_name):
    """(the dataset, the view to select from) for a name, a dataset or a view."""
    if isinstance(dataset_or_name, str):
        dataset = store.open_dataset(dataset_or_name)
        return dataset, dataset
    return dataset_or_name._root_dataset, dataset_or_name


def pool_choices(dataset_or_name) -> dict[str, list[str]]:
    """What a pool can be narrowed to: the dataset's splits, sample tags and saved views."""
    dataset, _ = _dataset_and_view(dataset_or_name)
    return {"split": store.splits(dataset), "tag": sorted(dataset.distinct("tags")),
            "saved view": saved_views.saved_views(dataset)}


def pool_view(dataset_or_name, *, split: str | None = None, tag: str | None = None, saved_view: str | None = None):
    """The pool to select from: a dataset or view, narrowed to a split, a sample tag and/or a saved view."""
    from fiftyone import ViewField as F

    dataset, view = _dataset_and_view(dataset_or_name)
    if saved_view:
        view = view.select(saved_views.load_view(dataset, saved_view).values("id"))
    if split:
        view = view.match(F("split") == split)
    if tag:
        view = view.match_tags(tag)
    return view


def pool_ids(dataset_or_name, *, split: str | None = None, tag: str | None = None,
             saved_view: str | None = None) -> list[str]:
    """Sample ids of the pool (see :func:`pool_view`)."""
    return pool_view(dataset_or_name, split=split, tag=tag, saved_view=saved_view).values("id")


def _embeddings_key(dataset, key: str | None) -> str:
    keys = embedding_keys(dataset.name)
    if key is None and keys:
        return keys[0]
    if key is None or key not in keys:
        stored = f" (stored: {', '.join(keys)})" if keys else ""
        raise KeyError(f"Dataset {dataset.name!r} has no embeddings{f' {key!r}' if key else ''}{stored}. Fix: "
                       f"compute them on the Embedding map page or with sda2.compute_embeddings({dataset.name!r}, "
                       "model='pixels') (or 'effnet_lite0' / 'effnet_lite2').")
    return key


def missing_inputs(dataset_or_name, strategy: str, embeddings_key: str | None = None,
                   pred_field: str = "predictions", label_field: str = "ground_truth") -> list[str]:
    """What ``strategy`` needs and the dataset lacks, each as a sentence naming how to compute it ([] = ready)."""
    if strategy not in strategies.STRATEGIES:
        raise ValueError(f"Unknown selection strategy {strategy!r}. Fix: use one of {', '.join(strategies.STRATEGIES)}.")
    dataset, _ = _dataset_and_view(dataset_or_name)
    needs = strategies.STRATEGIES[strategy]
    has_probabilities = arrays.exists(dataset, probabilities_key(pred_field))
    missing = []
    if "embeddings" in needs:
        try:
            _embeddings_key(dataset, embeddings_key)
        except KeyError as error:
            missing.append(f"{strategy!r} needs embeddings. {error.args[0]}")
    if "probabilities" in needs and not has_probabilities:
        missing.append(f"{strategy!r} needs predicted probabilities ({pred_field!r}). Fix: compute out-of-fold "
                       f"predictions with sda2.compute_predictions({dataset.name!r}) (from the embeddings), or "
                       "bring yours with sda2.import_predictions.")
    if "labels" in needs and not has_probabilities and store.label_kind(dataset, label_field) != "classification":
        missing.append(f"{strategy!r} balances single-label classes: {label_field!r} is not a single-label field. "
                       f"Fix: compute predictions with sda2.compute_predictions({dataset.name!r}) to balance by them.")
    return missing


def _aligned(dataset, key: str, ids: list[str], what: str, fix: str) -> np.ndarray:
    """Rows of array ``key`` for ``ids``; an error naming how many samples lack a row, and the fix."""
    _, values = arrays.load(dataset, key, ids=ids)
    values = np.asarray(values, dtype=np.float64)
    missing = int((~np.isfinite(values).all(axis=tuple(range(1, values.ndim)))).sum())
    if missing:
        raise ValueError(f"{missing:,} of {len(ids):,} samples have no {what} ({key!r}). Fix: {fix}")
    return values


def _labels(dataset, field: str, ids: list[str]) -> np.ndarray:
    """Single-label classes of ``ids`` in ``field`` (None where absent or not a single-label field)."""
    if field not in dataset.get_field_schema() or store.label_kind(dataset, field) != "classification":
        return np.full(len(ids), None, dtype=object)
    view = dataset.select(ids, ordered=True)
    return np.array(view.values(f"{field}.label"), dtype=object)


def select_samples(dataset_or_name, strategy: str = "random", budget: int = 100, *, split: str | None = None,
                   tag: str | None = None, saved_view: str | None = None, embeddings_key: str | None = None,
                   pred_field: str = "predictions", label_field: str = "ground_truth", seed: int = 0,
                   duplicate_aware: bool = True, seed_with_labeled: bool = True) -> list[str]:
    """Sample ids chosen by ``strategy`` from the pool (a dataset or view, narrowed by split / tag / saved view)."""
    missing = missing_inputs(dataset_or_name, strategy, embeddings_key, pred_field, label_field)
    if missing:
        raise ValueError(" ".join(missing))
    dataset, _ = _dataset_and_view(dataset_or_name)
    pool = pool_ids(dataset_or_name, split=split, tag=tag, saved_view=saved_view)
    if not pool:
        raise ValueError("The pool is empty: no sample matches the chosen split / tag / saved view. "
                         "Fix: pick another pool.")
    in_pool = set(pool)
    outside = [i for i in dataset.exists(label_field).values("id") if i not in in_pool] if seed_with_labeled else []
    uses_labeled = strategy in ("diversity", "class_balanced")
    ids = pool + (outside if uses_labeled else [])
    labeled = np.arange(len(ids)) >= len(pool)
    inputs = {}
    if "embeddings" in strategies.STRATEGIES[strategy]:
        key = _embeddings_key(dataset, embeddings_key)
        inputs["embeddings"] = _aligned(dataset, key, ids, "embeddings", f"run sda2.compute_embeddings("
                                        f"{dataset.name!r}) again: it fills only the missing samples.")
    prob_key = probabilities_key(pred_field)
    if strategy in strategies.UNCERTAINTY_METHODS or strategy == "hybrid":
        inputs["probabilities"] = _aligned(dataset, prob_key, ids, "predicted probabilities",
                                           f"run sda2.compute_predictions({dataset.name!r}) again.")
    elif strategy == "class_balanced":  # given labels; predicted ones for pool samples without a label
        labels = _labels(dataset, label_field, ids)
        unlabeled = strategies.missing_labels(labels)
        if unlabeled.any() and arrays.exists(dataset, prob_key):
            rows = [ids[k] for k in np.flatnonzero(unlabeled)]
            proba = _aligned(dataset, prob_key, rows, "predicted probabilities",
                             f"run sda2.compute_predictions({dataset.name!r}) again.")
            classes = np.asarray(arrays.info(dataset, prob_key)["classes"], dtype=object)
            labels[unlabeled] = classes[proba.argmax(axis=1)]
        inputs["labels"] = labels
    elif strategy == "random":
        inputs["labels"] = np.full(len(ids), None, dtype=object)  # only the pool size matters
    exclude = None
    groups = None
    if duplicate_aware and DUPLICATE_FIELD in dataset.get_field_schema():
        group_of = dict(zip(*dataset.values(["id", DUPLICATE_FIELD])))
        groups = np.array([-1 if group_of.get(i) is None else int(group_of[i]) for i in ids], dtype=np.int64)
        taken = {int(group_of[i]) for i in outside if group_of.get(i) is not None and group_of[i] >= 0}
        exclude = np.isin(groups, list(taken)) & (groups >= 0)
    rows = strategies.select(strategy, budget, seed=seed, labeled=labeled, exclude=exclude,
                             duplicate_groups=groups, **inputs)
    return [ids[r] for r in rows]


@store.dataset_or_name
def save_selection(dataset_or_name, ids, *, tag: str | None = None, saved_view: str | None = None,
                   description: str | None = None, overwrite: bool = False, annotator: str | None = None) -> int:
    """Keep a selection as a sample tag and/or a FiftyOne saved view; the number of samples kept."""
    if not tag and not saved_view:
        raise ValueError("Say how to keep the selection: pass tag='…' and/or saved_view='…'.")
    dataset, _ = _dataset_and_view(dataset_or_name)
    count = 0
    if tag:
        count = saved_views.tag_samples(dataset, ids, tag, annotator)
    if saved_view:
        count = len(saved_views.save_view(dataset, saved_view, ids, description=description, overwrite=overwrite))
    return count


def _label_or_prediction(dataset, ids: list[str], label_field: str, pred_field: str) -> np.ndarray:
    """Each sample's label; its predicted label where it has none; NO_LABEL where it has neither."""
    labels = _labels(dataset, label_field, ids)
    predicted = _labels(dataset, pred_field, ids)
    labels = np.where(strategies.missing_labels(labels), predicted, labels)
    return np.where(strategies.missing_labels(labels), NO_LABEL, labels).astype(str)


def selection_table(dataset_or_name, ids, label_field: str = "ground_truth") -> pd.DataFrame:
    """The selection in order: rank, id, filepath and label (empty where unlabeled)."""
    dataset, _ = _dataset_and_view(dataset_or_name)
    ids = [str(i) for i in ids]
    view = dataset.select(ids, ordered=True)
    found = view.values("id")
    if len(found) != len(ids):
        raise ValueError(f"{len(ids) - len(found)} of {len(ids)} selected ids are not samples of {dataset.name!r}. "
                         "Fix: select again (samples were deleted since).")
    labels = _labels(dataset, label_field, ids)
    return pd.DataFrame({"rank": np.arange(1, len(ids) + 1), "id": found, "filepath": view.values("filepath"),
                         "label": [("" if v is None else v) for v in labels]})


@store.dataset_or_name
def export_selection(dataset_or_name, ids, path) -> Path:
    """Write the selection as CSV (rank, id, filepath, label) to ``path``; the path written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    selection_table(dataset_or_name, ids).to_csv(path, index=False)
    return path


@dataclass
class SelectionComparison:
    """A selection against its pool: class distribution, coverage and (when a map exists) the map points."""

    classes: pd.DataFrame  # class, pool, pool_pct, selected, selected_pct
    coverage: dict | None  # see sda2.analysis.active_learning.coverage; None without embeddings
    space: str | None  # "2-D map of <key>" or "embeddings <key>"
    points: pd.DataFrame | None  # id, x, y, label, selected (None without a stored map)

    def summary(self) -> str:
        """Coverage in one sentence, against a random subset of the same size."""
        if self.coverage is None:
            return "No embeddings: coverage cannot be measured. Compute embeddings to see it."
        c = self.coverage
        return (f"{c['share_within_radius']:.0%} of the {c['pool']:,} pool samples lie within {c['radius']:.3g} "
                f"(in the {self.space}) of a selected sample, against {c['random_share_within_radius']:.0%} for a "
                f"random subset of the same size; mean distance to the nearest selected sample "
                f"{c['mean_distance']:.3g} (random {c['random_mean_distance']:.3g}), farthest "
                f"{c['covering_radius']:.3g} (random {c['random_covering_radius']:.3g}).")


def _class_table(pool_labels: np.ndarray, selected: np.ndarray) -> pd.DataFrame:
    pool = pd.Series(pool_labels).value_counts()
    chosen = pd.Series(pool_labels[selected]).value_counts().reindex(pool.index, fill_value=0)
    frame = pd.DataFrame({"class": pool.index.astype(str), "pool": pool.to_numpy(), "selected": chosen.to_numpy()})
    frame["pool_pct"] = 100 * frame["pool"] / max(int(frame["pool"].sum()), 1)
    frame["selected_pct"] = 100 * frame["selected"] / max(int(frame["selected"].sum()), 1)
    order = sorted(frame["class"], key=lambda c: (c == NO_LABEL, len(c), c))  # 2 before 10; "(no label)" last
    return frame.set_index("class").loc[order].reset_index()[["class", "pool", "pool_pct", "selected", "selected_pct"]]


def compare_selection(dataset_or_name, ids, pool, *, label_field: str = "ground_truth",
                      pred_field: str = "predictions", embeddings_key: str | None = None,
                      radius: float | None = None, seed: int = 0) -> SelectionComparison:
    """Class distribution of the selection vs its pool (ids or a view) and how well it covers the pool,
    measured in the stored 2-D map when there is one, else in the embeddings."""
    from sda2.compute import projection

    dataset, _ = _dataset_and_view(dataset_or_name)
    pool = list(pool.values("id")) if hasattr(pool, "values") and not isinstance(pool, (list, np.ndarray)) \
        else [str(i) for i in pool]
    ids = [str(i) for i in ids]
    outside = set(ids) - set(pool)
    if outside:
        raise ValueError(f"{len(outside)} selected samples are not in the pool. Fix: pass the pool they were "
                         "selected from.")
    labels = _label_or_prediction(dataset, pool, label_field, pred_field)
    selected = np.isin(np.asarray(pool), ids)
    classes = _class_table(labels, selected)
    keys = embedding_keys(dataset.name)
    if not keys or not ids:
        return SelectionComparison(classes, None, None, None)
    key = _embeddings_key(dataset, embeddings_key)
    points = None
    if arrays.exists(dataset, projection.map_key(key)):
        _, xy = arrays.load(dataset, projection.map_key(key), ids=pool)
        xy = np.asarray(xy, dtype=np.float64)
        if np.isfinite(xy).all():
            points = pd.DataFrame({"id": pool, "x": xy[:, 0], "y": xy[:, 1], "label": labels, "selected": selected})
    if points is not None:
        space, values = f"2-D map of {key}", points[["x", "y"]].to_numpy()
    else:
        space = f"embeddings {key}"
        values = _aligned(dataset, key, pool, "embeddings", f"run sda2.compute_embeddings({dataset.name!r}) again.")
    return SelectionComparison(classes, strategies.coverage(values, selected, radius, seed=seed), space, points)


SAVINGS_STRATEGIES = ("random", "class_balanced", "diversity", "least_confidence", "hybrid")


def strategy_savings(dataset_or_name, embeddings_key: str | None = None, label_field: str = "ground_truth",
                     budgets=None, strategies_to_try=SAVINGS_STRATEGIES, seeds=(0, 1)) -> pd.DataFrame:
    """Replay selection strategies on the labeled samples (held-out accuracy vs labels spent): which one saves
    labels on this dataset; columns strategy, budget, seed, accuracy (see sda2.analysis.data_efficiency)."""
    from sda2.analysis.data_efficiency import data_efficiency

    dataset, _ = _dataset_and_view(dataset_or_name)
    key = _embeddings_key(dataset, embeddings_key)
    ids = dataset.exists(f"{label_field}.label").values("id") if label_field in dataset.get_field_schema() else []
    if len(ids) < 50:
        raise ValueError(f"Only {len(ids)} samples of {dataset.name!r} have a single label in {label_field!r}; a "
                         "replay needs at least 50. Fix: label more samples first (Labeling page).")
    X = _aligned(dataset, key, ids, "embeddings", f"run sda2.compute_embeddings({dataset.name!r}) again.")
    y = _labels(dataset, label_field, ids)
    pool = int(len(ids) * 0.8)
    if budgets is None:  # from a few labels per class to half the pool
        budgets = sorted({max(10, int(pool * share)) for share in (0.05, 0.1, 0.2, 0.35, 0.5)})
    return data_efficiency(X.reshape(len(ids), -1), y.astype(str), budgets=budgets, strategies=strategies_to_try,
                           seeds=seeds, initial=min(50, budgets[0]), progress=False)
