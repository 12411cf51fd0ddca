"""Predictions on a dataset: out-of-fold probabilities from its embeddings, or a user's own imported.

Predictions never go into a field holding human labels (:func:`check_prediction_field` refuses it and
names the fix: :func:`sda2.replace_labels_from_predictions`, the audited, undoable way). Either way the
result is written the same way: the ``predictions`` field (``fo.Classification`` with
label, confidence and log-probabilities as logits; ``fo.Classifications`` for multi-label datasets) in
one bulk ``set_values``, and the full probability matrix with its class order in ``sda2.arrays`` under
``probabilities``. Everything is checked before anything is written, so bad input changes nothing.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, softmax

import fiftyone as fo
from sda2 import arrays, runs, store
from sda2.analysis.calibration import Trust, calibrate_out_of_fold, trust_summary
from sda2.analysis.oof import out_of_fold_multilabel_proba, out_of_fold_proba, small_class_notes
from sda2.analysis.view_fusion import frozen_knn_proba, fuse_log_mean, knn_label_proba
from sda2.compute.embeddings import (compute_embeddings, default_backbone, default_model, embedding_keys,
                                     largest_side)
from sda2.compute.finetune import (DEFAULT_FOLDS, FinetuneProgress, choose_model, finetune_predictions, fused_proba,
                                   load_images)
from sda2.compute.small_cnn import small_cnn_out_of_fold
from sda2.compute.run_params import prediction_run_params
from sda2.label_versions import label_version

MULTILABEL_CUTOFF = 0.5
EMBEDDING_PIPELINES = ("frozen", "frozen_knn", "frozen_knn_cnn", "two_backbones")  # pipelines without fine-tuning
ID_COLUMNS = ("id", "sample_id", "filepath")


@dataclass
class PredictionReport:
    """What was predicted or imported: how many samples, which classes, the accuracy on labeled ones."""

    dataset: str
    field: str
    source: str
    samples: int
    classes: list[str]
    accuracy: float | None
    seconds: float
    excluded: list[dict] = field(default_factory=list)  # {"sample_id", "filepath", "reason"}: not predicted
    notes: list[str] = field(default_factory=list)  # per-class notes (classes smaller than the folds)
    calibration: dict | None = None  # temperature, ECE before/after, per-class accuracy (see analysis.calibration)
    model: str = ""  # the pipeline that ran ("frozen", "finetune", "fused"), for out-of-fold runs

    def summary(self) -> str:
        """The result in one plain sentence (plus one line per excluded sample group and note)."""
        acc = f", accuracy {self.accuracy:.1%} on labeled samples" if self.accuracy is not None else ""
        cal = (f", calibration error {self.calibration['ece_before']:.3f} → {self.calibration['ece_after']:.3f} "
               f"(temperature {self.calibration['temperature']:.2f})" if self.calibration else "")
        text = (f"{self.dataset}: wrote {self.field!r} for {self.samples:,} samples from {self.source} "
                f"({len(self.classes)} classes{acc}{cal}) in {self.seconds:.1f} s.")
        if self.excluded:
            shown = "; ".join(f"{e['filepath']} ({e['reason']})" for e in self.excluded[:5])
            text += (f" {len(self.excluded):,} samples without embeddings were left out (not predicted): {shown}"
                     f"{' …' if len(self.excluded) > 5 else ''}.")
        return text + "".join(f" Note: {n}" for n in self.notes)



def probabilities_key(pred_field: str) -> str:
    """The ``sda2.arrays`` key of the probability matrix behind prediction field ``pred_field``."""
    return "probabilities" if pred_field == "predictions" else f"probabilities_{pred_field}"


def _step_progress(progress, what: str):
    """``compute_predictions``' progress (True, False or a FinetuneProgress callback) as a step taking
    ``(fraction, eta_s, text)`` reports it (compute_embeddings, the small CNN), its texts prefixed with ``what``."""
    if not callable(progress):
        return bool(progress)
    return lambda fraction, eta_s, text: progress(FinetuneProgress(fraction, eta_s, f"{what}: {text}"))


def _small_cnn_view(dataset, ids: list[str], codes: np.ndarray, n_classes: int, side: int, folds: int, seed: int,
                    progress) -> np.ndarray:
    """Out-of-fold probabilities of a small CNN on the images of ``ids`` at ``side`` px (uniform where unreadable)."""
    path_of = dict(zip(*dataset.values(["id", "filepath"])))
    images, ok, _ = load_images([path_of[sid] for sid in ids], side)
    out = np.full((len(ids), n_classes), 1.0 / n_classes)
    if ok:
        out[ok] = small_cnn_out_of_fold(images, codes[ok], n_classes, folds=folds, seed=seed,
                                        progress=_step_progress(progress, "Training the small CNN"))
    return out


def _embedding_key(dataset, key: str | None, compute_missing: bool, progress=True) -> str:
    if key is not None:
        return key
    keys = embedding_keys(dataset.name)
    if keys:
        return keys[0]
    if not compute_missing:
        raise KeyError(f"Dataset {dataset.name!r} has no embeddings yet. Fix: run sda2.compute_embeddings(dataset) "
                       "(or model='pixels' / 'effnet_lite0' / 'effnet_lite2') first, or pass compute_missing=True.")
    return compute_embeddings(dataset, model=default_model(dataset),
                              progress=_step_progress(progress, "Embedding the images")).key


def _ground_truth(dataset, gt_field: str, kind: str) -> list:
    if kind == "classification":
        return dataset.values(f"{gt_field}.label")
    return [list(t or []) for t in dataset.values(f"{gt_field}.classifications.label")]


def _labels_doc(proba: np.ndarray, classes: list[str], kind: str) -> list:
    if kind == "classification":
        best = proba.argmax(axis=1)
        logs = np.log(np.clip(proba, 1e-12, None))
        return [fo.Classification(label=classes[b], confidence=float(p[b]), logits=lg)
                for b, p, lg in zip(best, proba, logs)]
    return [fo.Classifications(classifications=[
        fo.Classification(label=classes[j], confidence=float(p[j])) for j in np.flatnonzero(p >= MULTILABEL_CUTOFF)])
        for p in proba]


def _write(dataset, pred_field: str, ids: list[str], proba: np.ndarray, classes: list[str], kind: str,
           **info) -> None:
    """Write the prediction field for ``ids`` (others cleared) and the probability matrix, in bulk."""
    docs = dict(zip(ids, _labels_doc(proba, classes, kind)))
    all_ids = dataset.values("id")
    key = probabilities_key(pred_field)
    with runs.recording(dataset, runs.array_run_key(key), "predictions", [pred_field], [key],
                        prediction_run_params(dataset, info), info.get("label_version"),
                        {"accuracy": info.get("accuracy"), "samples": len(ids)}):
        dataset.set_values(pred_field, [docs.get(i) for i in all_ids])
        arrays.save(dataset.name, key, ids, proba.astype(np.float32),
                    classes=list(classes), field=pred_field, kind=kind, **info)


def _accuracy(truth: list, proba: np.ndarray, classes: list[str], kind: str) -> float | None:
    if kind == "classification":
        labeled = np.array([t is not None for t in truth])
        if not labeled.any():
            return None
        predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
        return float((predicted[labeled] == np.asarray(truth, dtype=object)[labeled]).mean())
    predicted = [{classes[j] for j in np.flatnonzero(p >= MULTILABEL_CUTOFF)} for p in proba]
    return float(np.mean([set(t) == p for t, p in zip(truth, predicted)]))


def made_by_prediction_run(dataset, pred_field: str) -> bool:
    """True when ``pred_field`` was written by :func:`compute_predictions` or :func:`import_predictions`."""
    key = probabilities_key(pred_field)
    return arrays.exists(dataset.name, key) and arrays.info(dataset.name, key).get("field") == pred_field


def check_prediction_field(dataset, pred_field: str, gt_field: str = "ground_truth") -> None:
    """Refuse to write predictions into ``pred_field`` when it holds human labels (``gt_field``, or any label
    field no prediction run wrote) or other data; the message names the field and the fix."""
    fix = ("Fix: write predictions to a prediction field of their own (e.g. pred_field='predictions'), then copy "
           "the ones you trust into the labels as an audited, undoable batch with "
           "sda2.replace_labels_from_predictions(dataset, annotator='your name', pred_field=...).")
    schema = dataset.get_field_schema()
    labels = {f.name for f in store.label_fields(dataset)}
    if pred_field == gt_field or (pred_field in labels and not made_by_prediction_run(dataset, pred_field)):
        what = "the labels (the label field in use)" if pred_field == gt_field else "labels no prediction run wrote"
        raise ValueError(f"Refusing to write predictions into {pred_field!r} of {dataset.name!r}: it holds {what}, "
                         f"which change only through the audited edit path. {fix} If {pred_field!r} holds nothing "
                         f"you need, delete it first (dataset.delete_sample_field({pred_field!r})).")
    if pred_field in schema and pred_field not in labels:
        raise ValueError(f"Refusing to write predictions into {pred_field!r} of {dataset.name!r}: it holds other "
                         f"data ({type(schema[pred_field]).__name__}). Fix: pick a new field name, e.g. "
                         "pred_field='predictions'.")


def _kind(dataset, gt_field: str) -> str:
    kind = store.label_kind(dataset, gt_field)
    if kind == "detection":
        raise ValueError(f"{gt_field!r} of {dataset.name!r} holds detections; predictions here are for "
                         "classification and multi-label datasets. Fix: bring detections with your detector.")
    return kind


def _excluded(dataset, key: str, ids: list[str], missing: np.ndarray) -> list[dict]:
    """The samples without embeddings under ``key``: id, filepath and why (from the embedding run's skip list)."""
    reasons = {s["filepath"]: s["reason"] for s in arrays.info(dataset.name, key).get("skipped", [])}
    paths = dataset.values("filepath")
    return [{"sample_id": ids[i], "filepath": paths[i],
             "reason": reasons.get(paths[i], "no embedding stored (compute embeddings again to retry it)")}
            for i in np.flatnonzero(missing)]


def _codes(truth: list, classes: list[str]) -> np.ndarray:
    """Each label's column in ``classes`` (-1 for unlabeled)."""
    index = {c: j for j, c in enumerate(classes)}
    return np.array([index[t] if t is not None else -1 for t in truth], dtype=np.int64)


def compute_predictions(dataset_or_name, embeddings_key: str | None = None, folds: int | None = None,
                        gt_field: str = "ground_truth", pred_field: str = "predictions", classifier=None,
                        compute_missing: bool = True, seed: int = 0, calibrate: bool = True, model: str | None = None,
                        time_budget_s: float | None = None, progress=True,
                        finetune_options: dict | None = None) -> PredictionReport:
    """Out-of-fold predictions by the recommended pipeline for this machine, or ``model=`` "frozen" / "frozen_knn" /
    "finetune" / "fused" / "frozen_knn_cnn" (:func:`recommended_pipeline`: fused with a CUDA GPU; on CPU
    frozen_knn_cnn for 17-32 px images, frozen_knn otherwise).

    "frozen": a classifier on stored embeddings (the best stored; if none, :func:`sda2.compute.embeddings.default_model`'s
    are computed first: raw pixels for tiny images, EfficientNet-Lite2 for colour images, -Lite0 for gray ones),
    5 folds.
    "frozen_knn": that classifier fused (geometric mean) with kNN label agreement on the same embeddings; on
    CIFAR-10N it beats the classifier alone (benchmarks/bench_real_noise.py: 80.7 % against 79.6 % on all 50,000
    photos), and its neighbour search, growing with the square of the samples, is most of the 3 min there. Passing
    ``embeddings_key`` without ``model`` runs it. "frozen_knn_cnn": those two and a small CNN trained from scratch
    out of fold on the images (:mod:`sda2.compute.small_cnn`; small images). "two_backbones": a frozen-feature
    classifier on EfficientNet-Lite0 and one on -Lite2 embeddings (each computed if missing) and kNN label agreement
    on the Lite2 ones, fused: the most accurate CPU pipeline on CIFAR-10N's 50,000 photos (83.2 % against the
    default's 80.7 %, label-error AP 0.827 against 0.792) for about twice the time (34 min against 16 on 2 cores;
    benchmarks/bench_time_quality.py).
    "finetune": EfficientNet-Lite0 fine-tuned per fold on the images (:mod:`sda2.compute.finetune`), 3 folds,
    fitted to ``time_budget_s``. "fused": the geometric mean of finetune, frozen and kNN label agreement on the
    embeddings (:func:`sda2.compute.embeddings.default_backbone`'s computed first if none exist). ``progress`` is
    True (tqdm), a callback taking ``FinetuneProgress`` or False; ``finetune_options`` go to
    ``finetune_predictions`` (epochs, frozen_blocks, input_size, device). The report and the stored record say which ran and why.

    Samples without embeddings (an image that could not be read) are left out, named in the report's
    ``excluded``, and the rest is predicted. Classes with fewer labeled samples than ``folds`` are kept,
    with a note each. Single-label probabilities are calibrated by temperature scaling fitted out of fold
    (``calibrate=False`` keeps the raw ones); the run's record (accuracy, ECE before/after, per-class
    accuracy, the excluded samples, the notes) is stored with the probabilities (:func:`prediction_record`).
    """
    start = time.perf_counter()
    dataset = store.as_dataset(dataset_or_name)
    kind = _kind(dataset, gt_field)
    check_prediction_field(dataset, pred_field, gt_field)
    side = largest_side(dataset) if model is None and embeddings_key is None else None
    chosen, why = choose_model(model if model is not None or embeddings_key is None else "frozen_knn", kind, side,
                               len(dataset))
    if model is None and embeddings_key is not None:
        why = "embeddings given, so the pipeline on them alone (frozen-feature classifier + kNN label agreement)"
    if kind != "classification" and chosen in ("frozen_knn", "frozen_knn_cnn", "two_backbones"):
        chosen, why = "frozen", "multi-label datasets use the frozen-feature classifier"
    folds = folds or (5 if chosen in EMBEDDING_PIPELINES else DEFAULT_FOLDS)
    all_ids = dataset.values("id")
    tuned, key, excluded = None, None, []
    keep = np.arange(len(all_ids))
    if chosen not in EMBEDDING_PIPELINES:  # finetune, or fused (finetune + frozen + kNN views)
        tuned = finetune_predictions(dataset, gt_field, folds, time_budget_s, seed=seed, progress=progress,
                                     **(finetune_options or {}))
        excluded, folds = tuned.excluded, tuned.folds
        position = {sid: i for i, sid in enumerate(all_ids)}
        keep = np.array([position[sid] for sid in tuned.ids], dtype=np.int64)
    if chosen != "finetune":
        if chosen == "fused" and embeddings_key is None and not embedding_keys(dataset.name):
            embeddings_key = compute_embeddings(dataset, model=default_backbone(dataset),
                                                progress=_step_progress(progress, "Embedding the images")).key
        second = None  # two_backbones: Lite0's embeddings beside Lite2's
        if chosen == "two_backbones":
            second, embeddings_key = (compute_embeddings(dataset, model=m, progress=_step_progress(
                progress, f"Embedding the images ({m})")).key for m in ("effnet_lite0", "effnet_lite2"))
        key = _embedding_key(dataset, embeddings_key, compute_missing, progress)
        _, X = arrays.load(dataset.name, key, ids=all_ids)
        X0 = arrays.load(dataset.name, second, ids=all_ids)[1] if second else None
        missing = np.isnan(X).any(axis=1) | ~np.isin(np.arange(len(all_ids)), keep)
        if X0 is not None:
            missing |= np.isnan(X0).any(axis=1)
        left_out = {e["sample_id"] for e in excluded}
        excluded += [e for e in (_excluded(dataset, key, all_ids, missing) if missing.any() else [])
                     if e["sample_id"] not in left_out]
        if missing.all():
            raise ValueError(f"None of the {len(all_ids):,} samples of {dataset.name!r} has {key!r} embeddings. Fix: "
                             "compute embeddings again (sda2.compute_embeddings) and check the images can be read.")
        keep = np.flatnonzero(~missing)
        X = X[keep]
        X0 = X0[keep] if X0 is not None else None
    ids = [all_ids[i] for i in keep]
    classes = store.classes(dataset, gt_field)
    version = label_version(dataset)  # read with the labels: edits from here on are "since" this run
    truth_all = _ground_truth(dataset, gt_field, kind)
    truth = [truth_all[i] for i in keep]
    notes: list[str] = []
    calibration = None
    frozen_model: dict = {}  # what out_of_fold_proba chose (components, C), recorded with the run
    if kind == "classification":
        notes = list(small_class_notes(truth, folds).values())
        if chosen == "fused":
            proba = fused_proba(tuned, ids, X, truth, classes, folds, seed)
        elif chosen == "two_backbones":
            frozen, classes = out_of_fold_proba(X, truth, classes, folds=folds, classifier=classifier, seed=seed,
                                                details=frozen_model)
            frozen0, _ = out_of_fold_proba(X0, truth, classes, folds=folds, classifier=classifier, seed=seed)
            proba = fuse_log_mean(frozen0, frozen, knn_label_proba(X, _codes(truth, classes), len(classes)))
        elif chosen in ("frozen_knn", "frozen_knn_cnn"):
            frozen, classes = out_of_fold_proba(X, truth, classes, folds=folds, classifier=classifier, seed=seed,
                                                details=frozen_model)
            codes = _codes(truth, classes)
            proba = frozen_knn_proba(frozen, X, codes, len(classes))
            if chosen == "frozen_knn_cnn":
                cnn_start = time.perf_counter()
                cnn_size = min(max(side or largest_side(dataset), 8), 64)  # the small CNN takes 8..64 px
                proba = fuse_log_mean(proba, _small_cnn_view(dataset, ids, codes, len(classes), cnn_size, folds,
                                                             seed, progress))
                made_cnn = {"small_cnn_input_size": cnn_size,
                            "small_cnn_seconds": round(time.perf_counter() - cnn_start, 1)}
        else:
            proba, classes = (tuned.proba, tuned.classes) if tuned else \
                out_of_fold_proba(X, truth, classes, folds=folds, classifier=classifier, seed=seed,
                                  details=frozen_model)
        if calibrate:
            proba, found = calibrate_out_of_fold(proba, _codes(truth, classes), classes, seed=seed)
            calibration = found.as_dict()
    else:
        Y = np.array([[c in set(t) for c in classes] for t in truth], dtype=int)
        proba = out_of_fold_multilabel_proba(X, Y, folds=folds, classifier=classifier, seed=seed)
    accuracy = _accuracy(truth, proba, classes, kind)
    seconds = time.perf_counter() - start
    made = ({"model": "finetune_effnet_lite0", **tuned.info(), "folds": folds} if tuned else {"folds": folds})
    if chosen == "frozen_knn_cnn":
        made.update(made_cnn)
    if frozen_model:
        made["frozen_classifier"] = frozen_model
    if chosen == "two_backbones":
        made["second_embeddings"] = second
    _write(dataset, pred_field, ids, proba, classes, kind, source="out-of-fold", embeddings=key,
           calibration=calibration, accuracy=accuracy, excluded=excluded[:1000], notes=notes, label_version=version,
           **{"pipeline": chosen, "chosen_because": why, **made, "seconds": round(seconds, 1)})
    source = (f"{folds}-fold fine-tuned EfficientNet-Lite0 ({tuned.input_size} px, {tuned.frozen_blocks} of 16 blocks "
              f"frozen, {tuned.epochs} epochs on {tuned.device})" if tuned else f"{folds}-fold out-of-fold on {key!r}")
    source += f" fused with a classifier and kNN on {key!r}" if chosen == "fused" else ""
    source += " fused with kNN label agreement on the same embeddings" if chosen == "frozen_knn" else ""
    source += (f" fused with a classifier on {second!r} and kNN label agreement on {key!r}"
               if chosen == "two_backbones" else "")
    source += (" fused with kNN label agreement on the same embeddings and a small CNN trained out of fold on the "
               "images") if chosen == "frozen_knn_cnn" else ""
    return PredictionReport(dataset.name, pred_field, f"{source}; model {chosen!r}, {why}", len(ids), classes,
                            accuracy, seconds, excluded, notes, calibration, model=chosen)


def recommended_pipeline(dataset_or_name, gt_field: str = "ground_truth") -> tuple[str, str]:
    """(pipeline, why) that :func:`compute_predictions` runs on this dataset when no ``model`` is given."""
    dataset = store.as_dataset(dataset_or_name)
    return choose_model(None, _kind(dataset, gt_field), largest_side(dataset), len(dataset))


def prediction_record(dataset_or_name, pred_field: str = "predictions") -> dict:
    """What produced the stored probabilities of ``pred_field`` (source, folds, accuracy, calibration, excluded
    samples, notes); empty when there are none."""
    dataset = store.as_dataset(dataset_or_name)
    key = probabilities_key(pred_field)
    return dict(arrays.info(dataset.name, key)) if arrays.exists(dataset.name, key) else {}


def flag_trust(dataset_or_name, gt_field: str = "ground_truth", pred_field: str = "predictions",
               flag_field: str = "is_label_issue") -> Trust | None:
    """How far to trust the label-issue flags: accuracy, calibration and expected real errors, from the stored
    probabilities of ``pred_field`` against the current labels; None without stored single-label probabilities."""
    dataset = store.as_dataset(dataset_or_name)
    key = probabilities_key(pred_field)
    if not arrays.exists(dataset.name, key) or arrays.info(dataset.name, key).get("kind", "classification") \
            != "classification" or store.label_kind(dataset, gt_field) != "classification":
        return None
    classes = [str(c) for c in arrays.info(dataset.name, key).get("classes", [])]
    has_flags = flag_field in dataset.get_field_schema()
    ids, labels, flags = dataset.values(["id", f"{gt_field}.label", flag_field if has_flags else "id"])
    _, probs = arrays.load(dataset.name, key, ids=ids)
    index = {c: j for j, c in enumerate(classes)}
    codes = np.array([index.get(v, -1) if v is not None else -1 for v in labels], dtype=np.int64)
    usable = (codes >= 0) & np.isfinite(probs).all(axis=1)
    flagged = np.array([bool(f is True) for f in flags]) if has_flags else np.zeros(len(ids), dtype=bool)
    return trust_summary(probs[usable], codes[usable], flagged[usable])


def _read_source(source, ids) -> tuple[list[str] | None, str | None, pd.DataFrame | np.ndarray]:
    """(ids or None, id column name or None, values) from a path, DataFrame or array."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"Prediction file {str(path)!r} not found. Fix: check the path.")
        suffix = path.suffix.lower()
        if suffix == ".npy":
            source = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            source = pd.read_csv(path, dtype={c: str for c in ID_COLUMNS})
        elif suffix in (".parquet", ".pq"):
            source = pd.read_parquet(path)
        else:
            raise ValueError(f"Cannot read {path.name!r}: use a .csv, .parquet or .npy file.")
    if isinstance(source, pd.DataFrame):
        id_col = next((c for c in ID_COLUMNS if c in source.columns), None)
        if id_col is None:
            raise ValueError(f"The predictions table has no id column (columns: {list(source.columns)[:12]}). "
                             "Fix: add a 'filepath' or 'id' (sample id) column.")
        return source[id_col].astype(str).tolist(), id_col, source.drop(columns=[id_col])
    if ids is None:
        raise ValueError("A bare array of predictions carries no sample ids. Fix: pass ids= (sample ids or "
                         "filepaths, one per row), or use a CSV/Parquet file with an 'id' or 'filepath' column.")
    return [str(i) for i in ids], None, np.asarray(source)


def _align(dataset, keys: list[str], id_col: str | None) -> list[str]:
    """Sample ids for ``keys`` (sample ids or filepaths); errors name duplicates and unknown keys."""
    sample_ids, filepaths = dataset.values("id"), dataset.values("filepath")
    dupes = pd.Index(keys)[pd.Index(keys).duplicated()].unique().tolist()
    if dupes:
        raise ValueError(f"{len(dupes)} ids appear more than once in the predictions, e.g. {dupes[:3]}. "
                         "Fix: keep one row per sample.")
    by_path = dict(zip(filepaths, sample_ids))
    by_path.update({str(Path(p).resolve()): i for p, i in by_path.items()})
    known = set(sample_ids)
    use_paths = id_col == "filepath" or (id_col is None and not all(k in known for k in keys))
    if use_paths:
        resolved = [by_path.get(k) or by_path.get(str(Path(k).resolve())) for k in keys]
    else:
        resolved = [k if k in known else None for k in keys]
    unknown = [k for k, r in zip(keys, resolved) if r is None]
    if unknown:
        what = "filepaths" if use_paths else "sample ids"
        raise ValueError(f"{len(unknown):,} of {len(keys):,} rows have {what} that are not in {dataset.name!r}, "
                         f"e.g. {unknown[:3]}. Fix: align the predictions with this dataset's "
                         f"{'sample ids' if not use_paths else 'filepaths'} (dataset.values('filepath') / "
                         "dataset.values('id')).")
    return resolved


def _probabilities(values, classes: list[str], kind: str, logits: bool) -> np.ndarray:
    """Checked n×k probabilities in ``classes`` order; errors on class count, NaN and bad rows."""
    if isinstance(values, pd.DataFrame):
        columns = [str(c) for c in values.columns]
        missing, extra = [c for c in classes if c not in columns], [c for c in columns if c not in classes]
        if missing or extra:
            raise ValueError(f"The predictions have {len(columns)} class columns but the dataset has "
                             f"{len(classes)} classes (missing: {missing[:10]}, not a class: {extra[:10]}). "
                             f"Fix: one column per class named {classes[:10]}.")
        values = values.set_axis(columns, axis=1)[classes].to_numpy()
    P = np.asarray(values, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != len(classes):
        raise ValueError(f"The predictions have shape {P.shape} but the dataset has {len(classes)} classes "
                         f"({classes[:10]}). Fix: one column per class, in that order.")
    bad = ~np.isfinite(P).all(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum()):,} rows contain NaN or infinite values (first at row "
                         f"{int(np.flatnonzero(bad)[0])}). Fix: recompute or drop those rows.")
    if logits:
        return softmax(P, axis=1) if kind == "classification" else expit(P)
    if (P < 0).any() or (P > 1).any():
        raise ValueError("Some values are outside [0, 1], so they are not probabilities. Fix: pass logits=True "
                         "if they are raw scores (logits).")
    if kind == "classification":
        sums = P.sum(axis=1)
        off = np.flatnonzero(np.abs(sums - 1) > 1e-3)
        if len(off):
            raise ValueError(f"{len(off):,} rows do not sum to 1 (row {int(off[0])} sums to {sums[off[0]]:.4f}). "
                             "Fix: pass logits=True for raw scores, or normalise each row.")
    return P


def import_predictions(dataset_or_name, source, ids=None, logits: bool = False, classes: list[str] | None = None,
                       gt_field: str = "ground_truth", pred_field: str = "predictions") -> PredictionReport:
    """Import a user's predictions (CSV/Parquet/npy path, DataFrame or array) aligned by filepath or sample id.

    A table has an 'id' or 'filepath' column and one column per class; an array needs ``ids`` (one sample
    id or filepath per row) and columns in the dataset's class order. Values are probabilities (rows
    summing to 1; per-tag in [0, 1] for multi-label) or, with ``logits=True``, raw scores. Samples absent
    from the source are left without predictions.
    """
    start = time.perf_counter()
    dataset = store.as_dataset(dataset_or_name)
    kind = _kind(dataset, gt_field)
    check_prediction_field(dataset, pred_field, gt_field)
    classes = list(classes) if classes is not None else store.classes(dataset, gt_field)
    keys, id_col, values = _read_source(source, ids)
    if len(keys) != len(values):
        raise ValueError(f"{len(keys):,} ids but {len(values):,} prediction rows: they must be aligned one to one.")
    sample_ids = _align(dataset, keys, id_col)
    proba = _probabilities(values, classes, kind, logits)
    name = Path(source).name if isinstance(source, (str, Path)) else type(source).__name__
    _write(dataset, pred_field, sample_ids, proba, classes, kind, source=f"imported from {name}", logits=logits)
    truth = dict(zip(dataset.values("id"), _ground_truth(dataset, gt_field, kind)))
    return PredictionReport(dataset.name, pred_field, f"imported {name}", len(sample_ids), classes,
                            _accuracy([truth[i] for i in sample_ids], proba, classes, kind),
                            time.perf_counter() - start)


def import_predictions_file(dataset_or_name, filename: str, data: bytes, logits: bool = False,
                            gt_field: str = "ground_truth", pred_field: str = "predictions") -> PredictionReport:
    """Import an uploaded file's bytes (``filename`` ends .csv or .npy) through :func:`import_predictions`.

    A .csv carries an 'id' or 'filepath' column; a .npy has one row per sample in the dataset's order
    (``dataset.values('id')``), so its rows are aligned to those ids.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".npy"):
        raise ValueError(f"Cannot import {filename!r}: upload a .csv (with an 'id' or 'filepath' column) or a .npy "
                         "(one row per sample in the dataset's order).")
    dataset = store.as_dataset(dataset_or_name)
    ids = None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        if suffix == ".npy":
            ids = dataset.values("id")
            rows = len(np.load(path, allow_pickle=False))
            if rows != len(ids):
                raise ValueError(f"{filename!r} has {rows:,} rows but {dataset.name!r} has {len(ids):,} samples. Fix: "
                                 "one row per sample in the dataset's order, or a .csv with an 'id' or 'filepath' "
                                 "column.")
        report = import_predictions(dataset, path, ids=ids, logits=logits, gt_field=gt_field, pred_field=pred_field)
    report.source = f"imported {filename}"
    return report
