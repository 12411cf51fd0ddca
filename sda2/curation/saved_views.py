"""Keep a selection of samples (e.g. a lasso on the embedding map) as a sample tag or a named saved view.

Both are plain FiftyOne features, so the FiftyOne App shows them too: the tag in its tag filter, the
saved view in its view list. Nothing already stored is replaced unless asked: a saved view of the same
name is an error unless ``overwrite=True``, and tagging only adds the tag, through the audited edit path (who
tagged, when, undoable).
"""

from __future__ import annotations

from bson import ObjectId

from sda2 import store
from sda2.curation import edits



def _selection(dataset, sample_ids):
    """``dataset.select(sample_ids)``, after checking that the ids are well-formed and all present."""
    ids = list(dict.fromkeys(str(i) for i in ([sample_ids] if isinstance(sample_ids, str) else sample_ids)))
    if not ids:
        raise ValueError("The selection is empty. Fix: select at least one sample (box or lasso on the map).")
    malformed = [i for i in ids if not ObjectId.is_valid(i)]
    if malformed:
        raise ValueError(f"{len(malformed)} selected id(s) are not sample ids (e.g. {malformed[0]!r}). "
                         "Fix: pass the `id` values of samples.")
    view = dataset.select(ids)
    found = len(view)
    if found != len(ids):
        raise ValueError(f"{len(ids) - found} of {len(ids)} selected samples are not in {dataset.name!r} "
                         "(deleted since the selection was made?). Fix: recompute the map and select again.")
    return view


def _name(name: str, what: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValueError(f"The {what} name is empty. Fix: type a name, e.g. 'cluster-7-check'.")
    return name


def tag_samples(dataset_or_name, sample_ids, tag: str, annotator: str, reason: str = "") -> int:
    """Add sample tag ``tag`` to the samples ``sample_ids`` as one audited, undoable batch; how many are selected."""
    dataset = store.as_dataset(dataset_or_name)
    tag = _name(tag, "tag")
    view = _selection(dataset, sample_ids)
    ids = view.values("id")
    edits.tag(dataset, ids, tag, annotator, reason or f"selection tagged {tag}")
    return len(ids)


def save_view(dataset_or_name, name: str, sample_ids, description: str | None = None,
              overwrite: bool = False):
    """Save the samples ``sample_ids`` as FiftyOne saved view ``name`` (shown in the App); the view."""
    dataset = store.as_dataset(dataset_or_name)
    name = _name(name, "view")
    if dataset.has_saved_view(name) and not overwrite:
        raise ValueError(f"{dataset.name!r} already has a saved view named {name!r}. "
                         "Fix: choose another name, or pass overwrite=True to replace it.")
    view = _selection(dataset, sample_ids)
    dataset.save_view(name, view, description=description, overwrite=overwrite)
    return view


def saved_views(dataset_or_name) -> list[str]:
    """Names of the dataset's saved views, sorted."""
    return sorted(store.as_dataset(dataset_or_name).list_saved_views())


def _check_view(dataset, name: str) -> None:
    if not dataset.has_saved_view(name):
        raise KeyError(f"{dataset.name!r} has no saved view {name!r} (saved: "
                       f"{', '.join(saved_views(dataset)) or 'none'}).")


def load_view(dataset_or_name, name: str):
    """The saved view ``name`` of the dataset."""
    dataset = store.as_dataset(dataset_or_name)
    _check_view(dataset, name)
    return dataset.load_saved_view(name)


def delete_view(dataset_or_name, name: str) -> None:
    """Delete the saved view ``name`` (its samples are untouched)."""
    dataset = store.as_dataset(dataset_or_name)
    _check_view(dataset, name)
    dataset.delete_saved_view(name)
