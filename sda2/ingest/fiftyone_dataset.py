"""An existing FiftyOne image dataset (in the same database), copied into an sda2 dataset.

What is decided here:
- The source is never changed: its samples are cloned (every field kept: predictions, other label
  fields, custom fields, tags), so sda2's edits never touch it. Its name must differ from ``name``.
- ``label_field`` (a ``Classification``, ``Classifications`` or ``Detections`` field) becomes ``ground_truth``;
  a different field already called ``ground_truth`` in the source is kept as ``source_ground_truth``.
- Samples whose image is missing or unreadable, or whose label is empty (None, no tags), are skipped
  with the reason, as in every other importer.
- Without a ``split`` field, the split is taken from sample tags named train / test / val / validation
  (as FiftyOne's zoo datasets mark it); missing ``metadata`` is filled from the image headers.
"""

from __future__ import annotations

from dataclasses import asdict

import fiftyone as fo
from fiftyone import ViewField as F
from sda2 import hints, store
from sda2.ingest.base import IngestError, IngestReport, Mode, Skipped, natural_sorted
from sda2.ingest.writer import (LABEL_TYPES, ImageInfo, append_documents, check_appendable, check_target, commit,
                                discard_temp, image_infos, new_temp_dataset)

SPLIT_TAGS = ("train", "test", "val", "validation")
KINDS = {label_type: kind for kind, label_type in LABEL_TYPES.items()}


def _source(source_name: str, label_field: str) -> tuple[fo.Dataset, str]:
    """The source dataset and the kind of its label field, or a clear error."""
    if not fo.dataset_exists(source_name):
        names = ", ".join(sorted(fo.list_datasets())) or "none"
        raise IngestError(f"No FiftyOne dataset named {source_name!r} (existing: {names}). Fix: give one of those.")
    source = fo.load_dataset(source_name)
    if source.media_type != "image":
        raise IngestError(f"{source_name!r} holds {source.media_type} samples; sda2 imports image datasets only.")
    schema = source.get_field_schema()
    usable = [n for n, f in schema.items() if getattr(f, "document_type", None) in KINDS]
    kind = KINDS.get(getattr(schema.get(label_field), "document_type", None))
    if kind is None:
        raise IngestError(f"{source_name!r} has no Classification, Classifications or Detections field "
                          f"{label_field!r} (such fields: {', '.join(usable) or 'none'}). Fix: pass one of them "
                          "as " + hints.hint(cli="--label-field FIELD.", api="label_field='FIELD'."))
    return source, kind


def _problems(source: fo.Dataset, label_field: str, kind: str) -> tuple[list[Skipped], list[str], dict]:
    """Samples to skip (unreadable image, empty label) with their ids, and header facts for missing metadata."""
    ids, paths, has_metadata = source.values(["id", "filepath", F("metadata").exists()])
    empty = F(label_field).exists() if kind != "multilabel" else F(f"{label_field}.classifications").length() > 0
    labelled = dict(zip(ids, source.values(empty)))
    skipped, bad_ids, infos = [], [], {}
    for sample_id, path, info, metadata in zip(ids, paths, image_infos(paths), has_metadata):
        item = f"sample {sample_id} ({path})"
        problem = info if isinstance(info, str) else None if labelled[sample_id] else (
            f"empty {label_field!r}; label it in the source or choose another label_field")
        if problem:
            skipped.append(Skipped(item, problem))
            bad_ids.append(sample_id)
        elif not metadata:
            infos[sample_id] = info
    return skipped, bad_ids, infos


def _adapt(dataset: fo.Dataset, label_field: str, infos: dict[str, ImageInfo], notes: list[str]) -> None:
    """Rename the label field to ground_truth, derive split from tags, fill missing metadata (all in bulk)."""
    if label_field != "ground_truth":
        if "ground_truth" in dataset.get_field_schema():
            dataset.rename_sample_field("ground_truth", "source_ground_truth")
            notes.append("the source's own 'ground_truth' field is kept as 'source_ground_truth'")
        dataset.rename_sample_field(label_field, "ground_truth")
        notes.append(f"{label_field!r} became 'ground_truth'")
    schema = dataset.get_field_schema()
    if "split" not in schema:
        dataset.add_sample_field("split", fo.StringField)
        for tag in SPLIT_TAGS:
            tagged = dataset.match_tags(tag)
            if len(tagged):
                tagged.set_field("split", tag).save()
                notes.append(f"{len(tagged):,} samples tagged {tag!r} got split {tag!r}")
    elif not isinstance(schema["split"], fo.StringField):
        raise IngestError(f"The source's 'split' field holds {type(schema['split']).__name__} values, not text. "
                          "Fix: rename or convert that field in the source.")
    if infos:
        dataset.set_values("metadata", {i: fo.ImageMetadata(**asdict(info)) for i, info in infos.items()},
                           key_field="id")
        notes.append(f"metadata filled from image headers for {len(infos):,} samples")


def import_fiftyone(source_name: str, name: str, label_field: str = "ground_truth",
                    mode: Mode = "error") -> IngestReport:
    """Copy the FiftyOne image dataset ``source_name`` into dataset ``name``, ``label_field`` as ground_truth."""
    if source_name == name:
        raise IngestError(f"The source and the new dataset are both {name!r}. Fix: give the copy another name.")
    exists = check_target(name, mode)
    source, kind = _source(source_name, label_field)
    skipped, bad_ids, infos = _problems(source, label_field, kind)
    good = source.exclude(bad_ids)
    if not len(good):
        reasons = "; ".join(f"{s.item}: {s.reason}" for s in skipped[:3]) or f"{source_name!r} has no samples"
        raise IngestError(f"Nothing to import into {name!r}: {reasons}. Nothing was written.")
    target = fo.load_dataset(name) if exists and mode == "append" else None
    if target is not None:
        check_appendable(target, kind)
    notes = [f"copied from FiftyOne dataset {source_name!r} (all its fields kept)"]
    temp = new_temp_dataset(name)
    try:
        temp.add_collection(good, include_info=False)
        _adapt(temp, label_field, infos, notes)
        declared = source.classes.get(label_field) or source.default_classes
        classes = list(declared) or natural_sorted(
            str(c) for c in temp.distinct(store.label_path(temp, "ground_truth")))
        temp.classes = {"ground_truth": classes}
        temp.info = {**source.info, "sda2_label_kind": kind, "sda2_source": source_name}
        temp.save()
        if target is not None:
            append_documents(target, temp)
            target.classes = {**target.classes, "ground_truth": list(dict.fromkeys(
                (target.classes.get("ground_truth") or []) + classes))}
            shared = [m for m in store.owned_media(source) if m not in store.owned_media(target)]
            if shared:  # the copied samples' sda2-written images: kept while the target refers to them
                target.info = {**target.info, store.OWNED_MEDIA: store.owned_media(target) + shared}
            target.save()
            discard_temp(temp)
        else:
            commit(temp, name, replace=mode == "overwrite")
    except BaseException:
        if temp.name != name:
            discard_temp(temp)
        raise
    return IngestReport(name, kind, len(good), skipped, mode if exists else "new", notes)
