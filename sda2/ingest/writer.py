"""The one writer every importer uses: check the images, then write all samples in bulk, atomically.

A new dataset is built under a temporary name and renamed only when complete, so a failed import never
leaves a half-made dataset and an overwrite never loses the old one before the new one is whole; an
append that fails removes the samples it had added. Both are journaled (``sda2.recovery``) before they
start, so an import killed at any point is finished or removed the next time datasets are listed or opened.

Image checks decode every image fully, in threads (Pillow's decoders release the GIL): a missing, empty,
unrecognisable, truncated or damaged file is skipped with the reason and the fix, so no broken image
reaches predictions later (JPEGs are decoded at 1/8 scale: every byte is still read, far fewer pixels
are made). The sizes come from the header (PNG and JPEG parsed here, any other format through Pillow,
as FiftyOne does) and become each sample's ``metadata`` (``ImageMetadata``).
"""

from __future__ import annotations

import math
import mimetypes
import os
import random
import struct
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone

from bson import ObjectId
from tqdm.auto import tqdm

import fiftyone as fo
import fiftyone.core.metadata as fom
import fiftyone.core.utils as fou
from PIL import Image
from sda2 import faults, hints, label_documents, names, recovery, store
from sda2.ingest.base import Box, IngestError, IngestReport, Mode, Record, Skipped, paused_gc

BATCH = 2_000
DECODE_THREADS = min(8, os.cpu_count() or 2)
DECODE_CHUNK = 200  # images per task: small enough to spread over the threads, large enough to be cheap
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"})
TEMP_MARKER = recovery.TEMP_MARKER  # temporary datasets of an import in progress: "<name>.__incoming_<id>"
RESERVED_FIELDS = frozenset({"id", "_id", "filepath", "tags", "metadata", "created_at", "last_modified_at",
                             "media_type", "_media_type", "_rand", "_dataset_id", "ground_truth", "split"})
LABEL_TYPES = {"classification": fo.Classification, "multilabel": fo.Classifications,
               "detection": fo.Detections}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type, as Pillow counts bands ("P" is one)
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # SOF markers (not DHT, JPG, DAC)


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image file says: FiftyOne's ``ImageMetadata`` fields."""

    width: int
    height: int
    num_channels: int | None
    size_bytes: int
    mime_type: str | None

    def metadata_doc(self) -> dict:
        """The ``metadata`` sub-document FiftyOne stores for an image sample."""
        return {"_cls": "ImageMetadata", "size_bytes": self.size_bytes, "mime_type": self.mime_type,
                "width": self.width, "height": self.height, "num_channels": self.num_channels}


def _png_info(head: bytes, size: int) -> ImageInfo:
    if len(head) < 26 or head[12:16] != b"IHDR":
        raise ValueError("PNG header is damaged")
    width, height = struct.unpack(">II", head[16:24])
    return ImageInfo(width, height, _PNG_CHANNELS.get(head[25]), size, "image/png")


def _jpeg_info(f, size: int) -> ImageInfo | None:
    """Size from the frame header, or None when an EXIF block comes first (it may rotate the image)."""
    f.seek(2)
    while True:
        marker = f.read(2)
        while len(marker) == 2 and marker[1] == 0xFF:  # fill bytes
            marker = marker[1:] + f.read(1)
        if len(marker) < 2 or marker[0] != 0xFF or marker[1] in (0xD9, 0xDA):
            raise ValueError("JPEG has no frame header")
        if marker[1] == 0x01 or 0xD0 <= marker[1] <= 0xD8:  # markers without a length
            continue
        length = struct.unpack(">H", f.read(2))[0]
        if marker[1] == 0xE1:
            return None
        if marker[1] in _JPEG_FRAMES:
            _, height, width, channels = struct.unpack(">BHHB", f.read(6))
            return ImageInfo(width, height, channels, size, "image/jpeg")
        f.seek(length - 2, 1)


def decode_problem(path: str) -> str | None:
    """None when the whole image decodes, else why not (a truncated or damaged file), naming the fix."""
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft(image.mode, (1, 1))  # scaled down while decoding: all the data is still read
            image.load()
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, DecompressionBombError, …
        return (f"image data is truncated or damaged ({exc or type(exc).__name__}); replace the file with a "
                "complete copy or remove it")
    return None


def image_info(path: str, decode: bool = True) -> ImageInfo | str:
    """The image's header facts, or the reason it cannot be read (naming the fix); ``decode``: all of it."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            head = os.read(fd, 32)
        finally:
            os.close(fd)
        if head.startswith(_PNG_SIGNATURE):
            info = _png_info(head, size)
        elif not head:
            return "empty file (0 bytes); replace or remove it"
        else:
            with open(path, "rb") as f:
                info = _jpeg_info(f, size) if head.startswith(b"\xff\xd8") else None
                if info is None:
                    f.seek(0)
                    width, height, channels = fom.get_image_info(f)
                    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
                    info = ImageInfo(width, height, channels, size, mime)
    except FileNotFoundError:
        return "file not found; fix the path or add the file"
    except IsADirectoryError:
        return "is a folder, not an image file; fix the path"
    except PermissionError:
        return "permission denied; make the file readable"
    except Exception as exc:  # Pillow and the parsers above raise many types for unreadable files
        return f"not a readable image ({exc or type(exc).__name__}); replace or remove the file"
    if info.width <= 0 or info.height <= 0:
        return f"image header says {info.width}x{info.height} pixels; replace or remove the file"
    return (decode_problem(path) or info) if decode else info


def _unknown(names, known: frozenset[str]) -> str:
    bad = ", ".join(repr(n) for n in sorted({n for n in names if n not in known}))
    listed = ", ".join(sorted(known)[:12]) + (" …" if len(known) > 12 else "")
    return f"unknown class {bad} (classes: {listed}); fix the label or add the class"


def _label_problem(label, kind: str, known: frozenset[str] | None, unlabeled: bool = False) -> str | None:
    if label is None and unlabeled:
        return None  # imported without a label
    if kind == "classification":
        if type(label) is not str or not label.strip():
            return ("empty label; give the sample a class name, or import with "
                    + hints.hint(cli="--unlabeled", api="unlabeled=True") + " to keep it without a label")
        names = (label,)
    elif kind == "multilabel":
        if not isinstance(label, list) or not label:
            return "no tags; give the sample at least one tag"
        if not all(isinstance(t, str) and t.strip() for t in label):
            return "an empty tag; remove it or name it"
        names = label
    else:
        if not isinstance(label, list):
            return "no list of boxes; give an empty list for an image without objects"
        for box in label:
            if not (isinstance(box, Box) and isinstance(box.label, str) and box.label.strip()
                    and len(box.bounding_box) == 4 and all(math.isfinite(v) for v in box.bounding_box)):
                return "each box needs a class name and four finite numbers [x, y, w, h]"
        names = [b.label for b in label]
    if known is not None and not all(n in known for n in names):
        return _unknown(names, known)
    return None


def image_infos(paths: list[str], decode: bool = True) -> list[ImageInfo | str]:
    """``image_info`` of every path (each image decoded fully unless ``decode`` is False), in threads."""
    if len(paths) <= DECODE_CHUNK:
        return [image_info(p, decode) for p in paths]
    chunks = [paths[i:i + DECODE_CHUNK] for i in range(0, len(paths), DECODE_CHUNK)]
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        return [info for chunk in pool.map(lambda c: [image_info(p, decode) for p in c], chunks) for info in chunk]


def check_records(records: Iterable[Record], kind: str, check_images: bool = True,
                  classes: list[str] | None = None, checked: dict[str, ImageInfo | str] | None = None,
                  unlabeled: bool = False) -> tuple[list[tuple[Record, ImageInfo | None]], list[Skipped]]:
    """Split records into (good records with their image facts, skipped items with reasons).

    ``checked``: facts (or reasons) an importer has already read for some paths; those are not read again.
    ``unlabeled``: a record whose label is None is good (imported without a label).
    """
    records = list(records)
    known = frozenset(classes) if classes else None
    infos: list = [None] * len(records)
    if check_images:
        checked = checked or {}
        todo = [i for i, r in enumerate(records) if r.filepath not in checked]
        read = dict(zip(todo, image_infos([records[i].filepath for i in todo])))
        infos = [read[i] if i in read else checked[r.filepath] for i, r in enumerate(records)]
    good, skipped = [], []
    for record, info in zip(records, infos):
        problem = info if type(info) is str else _label_problem(record.label, kind, known, unlabeled)
        if problem:
            skipped.append(Skipped(record.source or record.filepath, problem))
        else:
            good.append((record, info))
    return good, skipped


def _object_ids(n: int) -> list[ObjectId]:
    """``n`` new ObjectIds (``ObjectId()`` takes a lock each): the time, 5 random bytes, a counter."""
    ids = []
    for start in range(0, n, 1 << 24):
        prefix = struct.pack(">I", int(time.time())) + os.urandom(5)
        ids += [ObjectId(prefix + i.to_bytes(3, "big")) for i in range(min(n - start, 1 << 24))]
    return ids


def _rand() -> float:
    """A sample's ``_rand`` as FiftyOne draws it for ``add_samples`` (used by ``take`` and ``shuffle``)."""
    return random.random() * 0.001 + 0.999


def _sample_docs(dataset_id: ObjectId, batch, kind: str, now: datetime, sample_ids: list[ObjectId]) -> list[dict]:
    """FiftyOne sample documents (as ``add_samples`` writes them) for (record, image facts) pairs."""
    count = sum(label_documents.label_count(r.label, kind) for r, _ in batch)
    new_id = iter(_object_ids(count)).__next__
    docs = []
    for (record, info), sample_id in zip(batch, sample_ids):
        doc = {"_id": sample_id, "filepath": record.filepath, "tags": [],
               "metadata": info.metadata_doc() if info else None, "created_at": now, "last_modified_at": now,
               "_media_type": "image", "_rand": _rand(), "_dataset_id": dataset_id,
               "ground_truth": label_documents.encode(record.label, kind, new_id=new_id),
               "split": record.split}
        if record.fields:
            doc.update(record.fields)
        docs.append(doc)
    return docs


def _field_type(value) -> fo.Field:
    if isinstance(value, bool):
        return fo.BooleanField()
    if isinstance(value, int):
        return fo.IntField()
    if isinstance(value, float):
        return fo.FloatField()
    if isinstance(value, datetime):
        return fo.DateTimeField()
    if isinstance(value, (list, tuple)):
        return fo.ListField()
    if isinstance(value, dict):
        return fo.DictField()
    return fo.StringField()


def _extra_fields(good) -> dict[str, fo.Field]:
    """The FiftyOne field of every extra field, typed by its first value that is not None."""
    fields: dict = {}
    for record, _ in good:
        for key, value in record.fields.items():
            if fields.get(key) is None:
                fields[key] = None if value is None else _field_type(value)
    bad = sorted(k for k in fields if k in RESERVED_FIELDS or k.startswith(("_", "$")) or "." in k or not k)
    if bad:
        raise IngestError(f"Field names {bad} are reserved or invalid in FiftyOne. Fix: rename them "
                          "(no leading '_' or '$', no '.', none of " + ", ".join(sorted(RESERVED_FIELDS)) + ").")
    return {k: f or fo.StringField() for k, f in fields.items()}


def _declare_fields(dataset: fo.Dataset, kind: str, extra: dict[str, fo.Field]) -> None:
    """Add the fields to the schema in one step; a field that exists must have the same type."""
    schema = dataset.get_field_schema()
    wanted = {"ground_truth": fo.EmbeddedDocumentField(LABEL_TYPES[kind]), "split": fo.StringField(), **extra}
    for name, field in wanted.items():
        if name in schema and type(schema[name]) is not type(field):
            raise IngestError(f"Field {name!r} holds {type(schema[name]).__name__} values in {dataset.name!r} but "
                              f"the input gives {type(field).__name__} values. Fix: rename the input's column/field.")
    new = {name: field for name, field in wanted.items() if name not in schema}
    if new:
        dataset.add_dynamic_sample_fields(new)


def check_target(name: str, mode: Mode) -> bool:
    """Whether dataset ``name`` exists; raises when it exists and ``mode`` is "error", or the name is unusable."""
    if mode not in ("error", "overwrite", "append"):
        raise IngestError(f"Unknown mode {mode!r}. Fix: use 'error', 'overwrite' or 'append'.")
    try:
        names.validate_dataset_name(name)
    except ValueError as exc:
        raise IngestError(str(exc)) from None
    recovery.recover_once()  # a killed import of this name is finished or removed before this one starts
    exists = fo.dataset_exists(name)
    if exists and mode == "error":
        raise IngestError(f"A dataset named {name!r} exists already. Fix: choose another name, or pass " + hints.hint(
            cli="--overwrite (replace it) or --append (add to it).",
            api="mode='overwrite' (replace it) or mode='append' (add to it)."))
    if not exists:
        clash = slug_clash(name)
        if clash is not None:
            raise IngestError(f"Dataset name {name!r} is not available: its URL name {fou.to_slug(name)!r} is that "
                              f"of dataset {clash!r}. Fix: choose another name.")
    return exists


def slug_clash(name: str) -> str | None:
    """The existing dataset whose URL name (FiftyOne's slug) ``name`` would take, or None when it is free."""
    slug = fou.to_slug(name)
    return next((other for other in fo.list_datasets() if fou.to_slug(other) == slug), None)


def new_temp_dataset(name: str) -> fo.Dataset:
    """An empty persistent image dataset under a temporary name (journaled), to become ``name`` by ``commit``."""
    dataset = fo.Dataset(recovery.begin_import(name), persistent=True)
    dataset.media_type = "image"
    return dataset


def discard_temp(dataset: fo.Dataset) -> None:
    """Delete a temporary dataset from ``new_temp_dataset`` and its journal entry (the import failed)."""
    recovery.abandon_import(dataset)


def _taken(name: str) -> IngestError:
    return IngestError(f"A dataset named {name!r} was made by someone else during this import; nothing was "
                       "changed. Fix: choose another name, or import again with "
                       + hints.hint(cli="--overwrite.", api="mode='overwrite'."))


def commit(dataset: fo.Dataset, name: str, replace: bool) -> None:
    """Rename the complete ``dataset`` to ``name``, replacing (only now) one so called when ``replace``.

    Once marked complete the import is carried to its end even if this process is killed: the next process
    that lists or opens datasets finishes the renames and deletes the old copy (``sda2.recovery``).
    """
    if not replace and fo.dataset_exists(name):
        raise _taken(name)
    recovery.mark_complete(dataset.name, replace)
    faults.point("writer.commit.complete")
    try:
        recovery.finish_import(dataset.name)
    except FileExistsError:
        raise _taken(name) from None


def check_appendable(dataset: fo.Dataset, kind: str) -> None:
    """Raise unless ``dataset`` has a ``ground_truth`` field of the same ``kind`` of label."""
    try:
        existing = store.label_kind(dataset, "ground_truth")
    except KeyError:
        existing = "no ground_truth"
    if existing != kind:
        raise IngestError(f"Cannot append {kind} labels to {dataset.name!r}, which holds {existing} labels. "
                          "Fix: import into a new dataset name.")


def _insert(dataset: fo.Dataset, good, kind: str, classes: list[str] | None, media: list[str] | None = None,
            journal: bool = False) -> None:
    """Insert the samples in batches (the next batch is built while MongoDB stores the last); all or none.

    The samples' ids share one prefix, so they form ``_id`` ranges; with ``journal`` (an append to a live
    dataset) the ranges are journaled first, so an append killed midway is removed by the next process.
    """
    _declare_fields(dataset, kind, _extra_fields(good))
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    collection = dataset._sample_collection
    sample_ids = _object_ids(len(good))
    entry = recovery.begin_append(dataset, sample_ids) if journal else None
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = []
            for start in tqdm(range(0, len(good), BATCH), desc=f"writing {dataset.name}", unit="batch",
                              disable=len(good) <= 20 * BATCH):
                docs = _sample_docs(dataset._doc.id, good[start:start + BATCH], kind, now,
                                    sample_ids[start:start + BATCH])
                pending.append(pool.submit(collection.insert_many, docs, ordered=False))
                if len(pending) > 2:
                    pending.pop(0).result()
                    faults.point("writer.insert.batch")
            for future in pending:
                future.result()
                faults.point("writer.insert.batch")
    except BaseException:
        if entry is not None:
            recovery.undo_append(entry)
        else:
            for first, last in recovery.id_ranges(sample_ids):
                collection.delete_many({"_id": {"$gte": first, "$lte": last}})
        raise
    if kind == "detection" and any(b.attributes for r, _ in good for b in r.label or ()):
        dataset.add_dynamic_sample_fields(fields="ground_truth")
    if classes:
        old = dataset.classes.get("ground_truth") or []
        dataset.classes = {**dataset.classes, "ground_truth": old + [c for c in classes if c not in set(old)]}
    info = {**dataset.info, "sda2_label_kind": kind}
    if media:  # media folders sda2 wrote for these samples: deleted with the last dataset that refers to them
        owned = store.owned_media(dataset)
        info[store.OWNED_MEDIA] = owned + [m for m in media if m not in owned]
    dataset.info = info
    dataset.save()
    index_filter_fields(dataset)
    faults.point("writer.insert.done")
    if entry is not None:
        recovery.end_append(entry)


def index_filter_fields(dataset: fo.Dataset) -> None:
    """Index the label classes, tags and splits at import: the sidebar, the Samples filters and their choices read
    them through the index, so a 1M-sample dataset's first filter does not wait for one to be built (~10 s)."""
    for path in (store.label_path(dataset, "ground_truth"), "tags", "split"):
        store.ensure_index(dataset, path)


def write_dataset(name: str, records: Iterable[Record], kind: str, mode: Mode = "error",
                  classes: list[str] | None = None, skipped: list[Skipped] | None = None,
                  check_images: bool = True, notes: list[str] | None = None,
                  media: list[str] | None = None, checked: dict[str, ImageInfo | str] | None = None,
                  unlabeled: bool = False) -> IngestReport:
    """Check and write ``records`` as dataset ``name``; labels outside ``classes`` (when given) are skipped.

    ``unlabeled``: records whose label is None are imported without a label (``ground_truth`` None), counted
    in the report's ``unlabeled``; otherwise they are skipped as having an empty label.

    Every image is decoded fully (in threads) unless the importer gives its facts in ``checked`` (by path).
    ``media``: ids of the ``config.media_dir`` folders sda2 wrote the images into (recorded in the dataset's
    info, so that deleting the last dataset that refers to them deletes them; user images are never listed).
    """
    exists = check_target(name, mode)
    records = list(records)
    temp = None
    try:
        with paused_gc(), ThreadPoolExecutor(1) as pool:  # decode the images while the dataset is being made
            checking = pool.submit(check_records, records, kind, check_images, classes, checked, unlabeled)
            if exists and mode == "append":
                dataset = store.open_dataset(name)
                check_appendable(dataset, kind)
            else:
                dataset = temp = new_temp_dataset(name)
            good, bad = checking.result()
        bad = list(skipped or []) + bad
        if not good:
            reasons = "; ".join(f"{s.item}: {s.reason}" for s in bad[:3]) or "the input holds no samples"
            raise IngestError(f"Nothing to import into {name!r}: {reasons}. Nothing was written.")
        with paused_gc():
            _insert(dataset, good, kind, classes, media, journal=temp is None)
        if temp is not None:
            commit(temp, name, replace=mode == "overwrite")
    except BaseException:
        if temp is not None and temp.name != name:
            discard_temp(temp)
        raise
    return IngestReport(name, kind, len(good), bad, mode if exists else "new", list(notes or []),
                        unlabeled=sum(r.label is None for r, _ in good))


def append_documents(dataset: fo.Dataset, source: fo.Dataset) -> int:
    """Copy every sample of ``source`` into ``dataset`` with new ids, journaled: an append is complete or gone.

    FiftyOne's ``add_collection(new_ids=True)`` lets the database pick the ids, so a killed copy could leave
    part of it behind; here the ids come from one prefix (``_id`` ranges) journaled before the first insert.
    """
    dataset.add_collection(source.limit(0))  # merges the schema only
    docs = list(source._sample_collection.find({}))
    sample_ids = _object_ids(len(docs))
    entry = recovery.begin_append(dataset, sample_ids)
    collection = store.durable(dataset._sample_collection)
    try:
        for start in tqdm(range(0, len(docs), BATCH), desc=f"appending to {dataset.name}", unit="batch",
                          disable=len(docs) <= 20 * BATCH):
            batch = [{**doc, "_id": sid, "_dataset_id": dataset._doc.id}
                     for doc, sid in zip(docs[start:start + BATCH], sample_ids[start:start + BATCH])]
            collection.insert_many(batch, ordered=False)
            faults.point("writer.append_documents.batch")
    except BaseException:
        recovery.undo_append(entry)
        raise
    recovery.end_append(entry)
    return len(docs)
