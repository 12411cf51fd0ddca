"""Per-sample image embeddings: computed (EfficientNet-Lite0 or -Lite2, or raw pixels), imported, or loaded.

Embeddings live in ``sda2.arrays`` (a .npy beside the database, aligned by sample id, with a JSON record
of the model and input size), so pages read them fast and never recompute. Computing is resumable: a
second run embeds only the samples that have no row yet and merges, and work in progress is saved every
``checkpoint_seconds``. Unreadable images are skipped and reported; the rest of the batch goes on.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import fiftyone as fo  # the sda2 package has exported the database environment before this runs
import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from sda2 import arrays, runs, store
from sda2.compute.effnet import PREPROCESSING, EffNetEmbedder, PixelEmbedder, auto_input_size
from sda2.compute.finetune import default_device
from sda2.ingest.base import Skipped

log = logging.getLogger(__name__)

MODELS = ("effnet_lite0", "effnet_lite2", "pixels")
KIND = "embeddings"
USER_MODEL = "user"
# load_embeddings' preference when no key is given: the user's own, then the larger backbone (computed on purpose)
_RANK = {USER_MODEL: 0, "effnet_lite2": 1, "effnet_lite0": 2, "pixels": 3}
PIXELS_SIZE_RANGE = (8, 32)
LITE2_CPU_MAX_SAMPLES = 30_000  # more colour images than this get Lite0 on CPU (see default_backbone)
TINY_IMAGE_SIDE = 16  # images up to this larger side (8 px digits) are embedded as raw pixels by default


@dataclass
class Embeddings:
    """Stored embeddings of a dataset after a compute or import: rows aligned with ``ids``."""

    dataset: str
    key: str
    model: str
    ids: np.ndarray
    values: np.ndarray
    computed: int = 0
    reused: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        """A plain-words account: how many rows, how many new, which images were skipped and why."""
        rate = f" ({self.computed / self.seconds:,.0f} images/s)" if self.computed and self.seconds > 0 else ""
        lines = [f"{self.dataset}/{self.key}: {len(self.ids):,} samples x {self.values.shape[1]:,} dims "
                 f"({self.model}); {self.computed:,} new in {self.seconds:.1f} s{rate}, {self.reused:,} kept, "
                 f"{len(self.skipped):,} skipped."]
        lines += [f"  skipped {s.item}: {s.reason}" for s in self.skipped[:20]]
        if len(self.skipped) > 20:
            lines.append(f"  … and {len(self.skipped) - 20:,} more")
        return "\n".join(lines)



def _name(collection) -> str:
    """The name of the dataset behind a dataset or view."""
    return collection.name if isinstance(collection, fo.Dataset) else collection.dataset_name


def _dataset_ids(collection) -> list[str]:
    """Ids of every sample of the whole dataset behind ``collection``, in dataset order."""
    if isinstance(collection, fo.Dataset):
        return collection.values("id")
    return store.open_dataset(collection.dataset_name).values("id")


def _unreadable(path: str, exc: Exception) -> str:
    """Why an image could not be read, naming the fix."""
    if isinstance(exc, FileNotFoundError):
        return "file not found; fix the path or add the file"
    return f"not a readable image ({type(exc).__name__}: {exc}); replace or remove the file"


def _merge(dataset_ids: list[str], parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of all ``parts`` (disjoint ids) that belong to the dataset, in dataset order."""
    position = {sid: k for k, sid in enumerate(dataset_ids)}
    ids = np.concatenate([np.asarray(p[0], dtype=str) for p in parts])
    values = np.concatenate([np.asarray(p[1], dtype=np.float32) for p in parts])
    pos = np.array([position.get(sid, -1) for sid in ids], dtype=np.int64)
    last = np.full(len(dataset_ids), -1, dtype=np.int64)
    last[pos[pos >= 0]] = np.flatnonzero(pos >= 0)  # row of the latest part for each dataset position
    rows = last[last >= 0]
    return ids[rows], values[rows]


def _probe(paths: list[str]) -> tuple[int, int]:
    """(larger side, channels) of the first readable image, for the default input size and channels."""
    for path in paths:
        try:
            with Image.open(path) as im:
                gray = im.mode in {"1", "L", "LA", "I", "I;16", "F"}
                return max(im.size), 1 if gray else 3
        except Exception:  # noqa: BLE001 (unreadable ones are reported by the main loop)
            continue
    return 0, 3


def default_backbone(dataset_or_name) -> str:
    """The pretrained network sda2 embeds these images with: EfficientNet-Lite2 for colour images when it fits the
    time budget (a CUDA GPU, or up to LITE2_CPU_MAX_SAMPLES images on CPU), EfficientNet-Lite0 otherwise.

    Measured, frozen classifier (+ kNN), 5 folds, accuracy against the true labels: on CIFAR-10N's colour photos
    trained on one crowd worker's labels (10,000 photos, 160 px) Lite2 79.1 % (79.5 %) against Lite0's 77.3 %
    (77.7 %), label-error AP 0.799 against 0.787 (benchmarks/bench_time_quality.py); on MNIST's 10,000 gray test
    digits Lite0 96.2 % (95.9 %) against Lite2's 95.0 % (94.7 %), AP with 5 % flipped labels 0.983 against 0.970.
    On this 2-core CPU Lite2 embeds 45 photos/s at 160 px against Lite0's 71: all 50,000 CIFAR-10N photos take 18.5
    min to embed and 20.6 min with the predictions, past issue 8's 20-minute budget, so larger sets get Lite0.
    """
    dataset = store.as_dataset(dataset_or_name)
    return _backbone(dataset, _probe(dataset.limit(20).values("filepath"))[1])


def _backbone(dataset, channels: int) -> str:
    """default_backbone for a dataset whose images have ``channels`` channels (already probed)."""
    if channels != 3:
        return "effnet_lite0"
    return "effnet_lite2" if default_device() == "cuda" or dataset.count() <= LITE2_CPU_MAX_SAMPLES else "effnet_lite0"


def default_model(dataset_or_name) -> str:
    """The embedding model used when none is asked for: raw pixels for tiny images (larger side up to 16 px, such
    as 8 px digits: as good and instant), else :func:`default_backbone` (EfficientNet-Lite2 for colour images,
    -Lite0 for gray ones).

    Measured on the first 3,000 MNIST test digits (28 px), frozen classifier + kNN, 5 folds: EfficientNet-Lite0
    at 160 px 93.3 % right, raw pixels 91.5 %; on photos (CIFAR-10N) raw pixels are far behind.
    """
    dataset = store.as_dataset(dataset_or_name)
    largest, channels = _probe(dataset.limit(20).values("filepath"))  # one probe for both choices
    return "pixels" if 0 < largest <= TINY_IMAGE_SIDE else _backbone(dataset, channels)


def largest_side(dataset_or_name) -> int:
    """The larger side, in pixels, of the dataset's first readable image (among its first 20; 0 when none is)."""
    return _probe(store.as_dataset(dataset_or_name).limit(20).values("filepath"))[0]


def _embedder(model: str, input_size, device, stored_info: dict | None, paths: list[str]):
    """The embedder for ``model``, with the stored run's parameters when resuming."""
    if model not in MODELS:
        raise ValueError(f"Unknown embedding model {model!r}. Fix: use one of {', '.join(MODELS)}, "
                         "or bring your own with import_embeddings().")
    if stored_info:
        if stored_info.get("model") != model or (input_size and int(input_size) != stored_info.get("input_size")):
            raise ValueError(
                f"Embeddings {stored_info['key']!r} were made with model={stored_info.get('model')!r}, "
                f"input_size={stored_info.get('input_size')}; you asked for model={model!r}, input_size={input_size}. "
                "Fix: pass another key= to keep both, or overwrite=True to recompute all of them.")
        input_size = stored_info.get("input_size")
    if model.startswith("effnet_"):
        return EffNetEmbedder(input_size or auto_input_size(_probe(paths)[0]), device, model.removeprefix("effnet_"))
    if stored_info:
        return PixelEmbedder(input_size, stored_info["channels"])
    largest, channels = _probe(paths)
    return PixelEmbedder(input_size or int(np.clip(largest, *PIXELS_SIZE_RANGE)), channels)


def _outdated(stored_info: dict) -> bool:
    """Whether stored EfficientNet embeddings were made with preprocessing other than today's (never mixed in)."""
    return str(stored_info.get("model")).startswith("effnet_") and stored_info.get("preprocessing") != PREPROCESSING


def _load(prepare, path: str):
    """``prepare(path)``, or the reason it failed (so one bad file never stops a batch)."""
    try:
        return prepare(path)
    except Exception as exc:  # noqa: BLE001 (PIL raises many types for unreadable files)
        return _unreadable(path, exc)


def compute_embeddings(dataset_or_name, model: str | None = None, key: str | None = None,
                       input_size: int | None = None, batch_size: int | None = None, device: str | None = None,
                       overwrite: bool = False, progress=True, num_workers: int | None = None,
                       checkpoint_seconds: float = 60.0) -> Embeddings:
    """Embed every sample without embeddings under ``key`` (default ``embeddings_<model>``), store and return all.

    ``model``: "effnet_lite0", "effnet_lite2" or "pixels"; None is sda2's choice for these images
    (:func:`default_model`).

    ``progress``: True for a tqdm bar, False for none, or a callable ``progress(fraction, eta_s, text)``
    called after every batch (the app's bar, ``sda2.ui.progress.ProgressBar``).
    """
    collection = store.as_dataset(dataset_or_name)
    name = _name(collection)
    model = model or default_model(collection)
    key = key or f"embeddings_{model}"
    sample_ids, paths = collection.values(["id", "filepath"])
    if not sample_ids:
        raise ValueError(f"{name!r} has no samples to embed. Fix: import images first (sda2 ingest).")
    resumable = arrays.exists(name, key) and not overwrite and key not in runs.incomplete_arrays(collection)
    stored_info = arrays.info(name, key) if resumable else None
    if stored_info and _outdated(stored_info):
        log.warning("Embeddings %r of %r were made with older preprocessing (%s); recomputing all of them with %s.",
                    key, name, stored_info.get("preprocessing"), PREPROCESSING)
        stored_info = None  # and the input size is chosen afresh, unless given
    embedder = _embedder(model, input_size, device, stored_info, paths)
    if stored_info:
        stored_ids, stored = arrays.load(name, key)
    else:
        stored_ids, stored = np.array([], dtype=str), np.zeros((0, embedder.dim), np.float32)
    done = set(stored_ids.tolist())
    todo = [(sid, path) for sid, path in zip(sample_ids, paths) if sid not in done]
    dataset_ids = _dataset_ids(collection)
    reused = len(sample_ids) - len(todo)
    batch_size = batch_size or embedder.batch_size
    skipped: list[Skipped] = []
    new_ids: list[str] = []
    new_rows: list[np.ndarray] = []
    start = last_save = time.perf_counter()

    def save() -> None:
        nonlocal stored_ids, stored, last_save
        if new_ids:
            fresh = (np.array(new_ids), np.concatenate(new_rows))
            stored_ids, stored = _merge(dataset_ids, [(stored_ids, stored), fresh])
            new_ids.clear()
            new_rows.clear()
        with runs.recording(collection, runs.array_run_key(key), KIND, arrays=[key], params=embedder.info(),
                            summary={"samples": len(stored_ids), "skipped": len(skipped)}):
            arrays.save(name, key, stored_ids, stored, kind=KIND, **embedder.info(),
                        device=getattr(embedder, "device", "cpu"),
                        last_run_seconds=round(time.perf_counter() - start, 2),
                        skipped=[{"filepath": s.item, "reason": s.reason} for s in skipped[:100]])
        last_save = time.perf_counter()

    batches = [todo[i:i + batch_size] for i in range(0, len(todo), batch_size)]
    workers = num_workers or min(8, os.cpu_count() or 1)
    report = progress if callable(progress) else None  # the app's bar: (fraction, eta_s, text)
    quiet = report is not None or not progress
    with ThreadPoolExecutor(workers) as pool, tqdm(total=len(todo), unit="img", disable=quiet,
                                                    desc=f"Embedding {name} ({model})") as bar:
        def submit(batch: list[tuple[str, str]]) -> list:
            return [pool.submit(_load, embedder.prepare, path) for _, path in batch]

        pending = submit(batches[0]) if batches else []
        for k, batch in enumerate(batches):
            loaded = [f.result() for f in pending]
            pending = submit(batches[k + 1]) if k + 1 < len(batches) else []  # decode the next while this runs
            good = []
            for (sid, path), image in zip(batch, loaded):
                if isinstance(image, str):
                    skipped.append(Skipped(path, image))
                else:
                    good.append((sid, image))
            if good:
                new_rows.append(embedder.embed(np.stack([image for _, image in good])))
                new_ids.extend(sid for sid, _ in good)
            bar.update(len(batch))
            if report is not None:
                done_n = min(len(todo), (k + 1) * batch_size)
                elapsed = time.perf_counter() - start
                report(done_n / len(todo), elapsed / done_n * (len(todo) - done_n),
                       f"{k + 1:,} of {len(batches):,} batches · {done_n:,} of {len(todo):,} images")
            if time.perf_counter() - last_save > checkpoint_seconds:
                save()
    if report is not None and not todo:
        report(1.0, 0.0, f"all {reused:,} images had embeddings already")
    computed = len(todo) - len(skipped)
    if computed == 0 and not len(stored_ids):
        reasons = "; ".join(f"{s.item}: {s.reason}" for s in skipped[:3])
        raise ValueError(f"No image of {name!r} could be read ({reasons}). Nothing was stored.")
    if computed or skipped:
        save()
    result = Embeddings(name, key, model, stored_ids, stored, computed, reused, skipped,
                        time.perf_counter() - start)
    if skipped:
        log.warning(result.summary())
    return result


def _as_matrix(rows, where: str) -> np.ndarray:
    """A 2-D finite float32 matrix from ``rows``, or a clear error about ragged, non-numeric or missing values."""
    if isinstance(rows, (list, tuple)) or (isinstance(rows, np.ndarray) and rows.dtype == object):
        lengths = {}
        for k, row in enumerate(rows):
            lengths.setdefault(np.size(row), k)
        if len(lengths) > 1:
            (n0, k0), (n1, k1) = list(lengths.items())[:2]
            raise ValueError(f"Ragged embeddings in {where}: row {k0} has {n0} values but row {k1} has {n1}. "
                             "Fix: give every sample a vector of the same length.")
    try:
        matrix = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Embeddings in {where} are not numeric ({exc}). Fix: pass numbers only.") from None
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"Embeddings in {where} must be 2-D (one row per sample), got shape {matrix.shape}. "
                         "Fix: reshape to (samples, dims), e.g. values.reshape(len(values), -1).")
    bad = np.flatnonzero(~np.isfinite(matrix).all(axis=1))
    if len(bad):
        raise ValueError(f"{len(bad):,} rows of the embeddings in {where} hold NaN or inf (first rows: "
                         f"{bad[:5].tolist()}). Fix: drop or recompute those rows; nothing was stored.")
    return matrix.astype(np.float32)


def _read_source(source, collection) -> tuple[np.ndarray, np.ndarray | None, str]:
    """(matrix, ids or None, description) from an array, a .npy/.npz file or a field of the dataset."""
    if isinstance(source, (str, Path)) and Path(source).suffix in {".npy", ".npz"}:
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"No embeddings file {str(path)!r}. Fix: check the path.")
        try:
            loaded = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"Cannot read {path.name}: {exc}. Fix: save a plain numeric array "
                             "(np.save / np.savez with arrays 'embeddings' and 'ids').") from None
        if path.suffix == ".npy":
            return _as_matrix(loaded, path.name), None, str(path)
        names = [n for n in loaded.files if n != "ids"]
        main = "embeddings" if "embeddings" in names else names[0] if len(names) == 1 else None
        if main is None:
            raise ValueError(f"{path.name} holds arrays {loaded.files}; which are the embeddings? "
                             "Fix: name them 'embeddings' (and the sample ids 'ids').")
        ids = loaded["ids"].astype(str) if "ids" in loaded.files else None
        return _as_matrix(loaded[main], path.name), ids, str(path)
    if isinstance(source, str):
        schema = collection.get_field_schema()
        if source not in schema:
            raise ValueError(f"{source!r} is neither a .npy/.npz file nor a field of {_name(collection)!r} "
                             f"(fields: {', '.join(schema)}). Fix: pass an array, a file path or a vector field.")
        ids, rows = collection.values(["id", source])
        present = [k for k, row in enumerate(rows) if row is not None]
        if not present:
            raise ValueError(f"Field {source!r} holds no vectors. Fix: fill it, or import from an array or file.")
        matrix = _as_matrix([rows[k] for k in present], f"field {source!r}")
        return matrix, np.array([ids[k] for k in present]), f"field {source}"
    return _as_matrix(source, "the array"), None, "array"


def import_embeddings(dataset_or_name, source, key: str = "embeddings_user", ids=None,
                      overwrite: bool = False) -> Embeddings:
    """Store a user's own embeddings (array, .npy/.npz file or vector field) under ``key``, aligned by sample id."""
    collection = store.as_dataset(dataset_or_name)
    name = _name(collection)
    if arrays.exists(name, key) and not overwrite:
        raise ValueError(f"Embeddings {key!r} exist already for {name!r}. "
                         "Fix: pass another key=, or overwrite=True to replace them.")
    start = time.perf_counter()
    matrix, file_ids, description = _read_source(source, collection)
    ids = file_ids if ids is None else np.asarray(ids, dtype=str)
    sample_ids = collection.values("id")
    if ids is None:
        if len(matrix) != len(sample_ids):
            raise ValueError(f"{len(matrix):,} rows of embeddings but {name!r} has {len(sample_ids):,} samples. "
                             "Fix: give one row per sample in dataset order, or pass ids= (sample ids, one per row).")
        ids = np.asarray(sample_ids)
    if len(ids) != len(matrix):
        raise ValueError(f"{len(ids):,} sample ids but {len(matrix):,} rows. Fix: give one id per row.")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"Sample ids repeat ({unique[counts > 1][:3].tolist()}). Fix: one row per sample.")
    unknown = np.setdiff1d(ids, sample_ids)
    if len(unknown):
        raise ValueError(f"{len(unknown):,} ids are not samples of {name!r} (e.g. {unknown[:3].tolist()}). "
                         "Fix: use the ids from dataset.values('id').")
    ids, values = _merge(_dataset_ids(collection), [(ids, matrix)])
    with runs.recording(collection, runs.array_run_key(key), KIND, arrays=[key],
                        params={"model": USER_MODEL, "dim": values.shape[1], "source": description},
                        summary={"samples": len(ids)}):
        arrays.save(name, key, ids, values, kind=KIND, model=USER_MODEL, dim=values.shape[1], source=description)
    return Embeddings(name, key, USER_MODEL, ids, values, computed=len(ids), seconds=time.perf_counter() - start)


def embedding_keys(dataset_or_name) -> list[str]:
    """Keys of the dataset's stored embeddings, best first (user's own, EfficientNet, pixels; newest first)."""
    name = dataset_or_name if isinstance(dataset_or_name, str) else _name(dataset_or_name)
    infos = [arrays.info(name, k) for k in arrays.list_keys(name)]
    pending = runs.incomplete_arrays(store.as_dataset(name))  # a run being written (or killed) is absent
    infos = [i for i in infos if i.get("kind") == KIND and i["key"] not in pending]
    infos.sort(key=lambda i: i.get("created_at", ""), reverse=True)
    infos.sort(key=lambda i: _RANK.get(i.get("model"), len(_RANK)))
    return [i["key"] for i in infos]


def load_embeddings(dataset_or_name, key: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(sample ids, float32 embeddings) under ``key`` (default: the best stored); a view gets its own rows."""
    collection = dataset_or_name if not isinstance(dataset_or_name, str) else None
    name = dataset_or_name if collection is None else _name(collection)
    if key is None:
        keys = embedding_keys(name)
        if not keys:
            raise KeyError(f"No embeddings stored for {name!r}. "
                           "Fix: run sda2.compute_embeddings(name) or bring yours with sda2.import_embeddings.")
        key = keys[0]
    ids, values = arrays.load(name, key)
    if collection is not None and not isinstance(collection, fo.Dataset):
        position = {sid: row for row, sid in enumerate(ids.tolist())}
        rows = np.array([position[s] for s in collection.values("id") if s in position], dtype=np.int64)
        ids, values = ids[rows], values[rows]
    return ids, np.asarray(values, dtype=np.float32)
