"""Cross-validated fine-tuning of EfficientNet-Lite0: out-of-fold probabilities from a model trained on the images.

Each labeled sample is predicted by the fold model that never saw it (stratified K-fold, as
``analysis.oof``); unlabeled samples get the mean of the fold models. The CPU plan: the first
``frozen_blocks`` blocks of the ImageNet backbone stay frozen, their outputs are computed once per cached
view (the plain image, its mirror, random resized crops) and only the last blocks + head are trained on
those cached tensors, so an epoch costs a fraction of a full pass. ``time_budget_s`` picks the frozen depth
and the epochs from a short speed probe. On a GPU, all but the stem is trained on the fly with random flips and
resized crops in mixed precision.

``compute_predictions(dataset)`` runs :func:`recommended_model`: on CPU "frozen_knn" (frozen-feature classifier +
kNN label agreement; on a 3,000-image CIFAR-10N subset fine-tuning alone within a few CPU minutes matched, not beat,
the frozen-feature classifier), with a small CNN trained from scratch added for up to 20,000 small images
("frozen_knn_cnn"), "fused" with a GPU (fine-tuned + frozen-feature classifier + kNN label agreement, geometric mean:
+6 to 8 points of accuracy and +0.06 AP over either alone in the same benchmark, benchmarks/bench_finetune.py).

Every finished fold is saved under the dataset's arrays folder (``finetune/<plan>/fold_<k>.npz``) next to
the plan (fold assignments, parameters), so a killed run resumes at the next unfinished fold with the same
folds. Progress goes to a tqdm bar or to a callback (``FinetuneProgress``: fraction, ETA, text).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import math
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold
from tqdm.auto import tqdm

from sda2 import arrays, faults, store
from sda2.analysis.oof import out_of_fold_proba
from sda2.analysis.view_fusion import fuse_log_mean, knn_label_proba
from sda2.compute.effnet import NORMALISATION, input_normalisation, load_backbone, read_image

N_BLOCKS = 16  # MBConv blocks of EfficientNet-Lite0; frozen_blocks=16 trains the 1x1 head conv + classifier only
FROZEN_CHOICES = (8, 11, 13, 15, 16)  # after a stage boundary: 8 (80 ch, /16), 11 (112 ch, /16), 13/15 (/32)
DEFAULT_FOLDS = 3
MIN_EPOCHS = 3  # the budget picks the most trainable blocks that still get this many epochs
MAX_EPOCHS = 12
CPU_BUDGET_S = 300.0  # default time budget on CPU; a GPU run uses GPU_BUDGET_S
GPU_BUDGET_S = 120.0
CACHE_VIEWS = 4  # plain, mirrored, 2 random resized crops


@dataclass
class FinetuneProgress:
    """One progress report: share done, estimated seconds left (None before the first timed step), a text."""

    fraction: float
    eta_s: float | None
    text: str


@dataclass
class FinetuneResult:
    """Out-of-fold probabilities of a fine-tuning run and how they were made."""

    ids: list[str]
    proba: np.ndarray  # n x k, rows in ``ids`` order, columns in ``classes`` order (raw softmax, not calibrated)
    classes: list[str]
    folds: int
    input_size: int
    frozen_blocks: int
    epochs: int
    device: str
    seconds: float
    folds_reused: int = 0
    excluded: list[dict] = field(default_factory=list)  # {"sample_id", "filepath", "reason"}
    plan_dir: str = ""

    def info(self) -> dict:
        """JSON-able record of the run (stored with the probabilities)."""
        out = asdict(self)
        for k in ("ids", "proba", "classes", "excluded"):
            out.pop(k)
        out["seconds"] = round(self.seconds, 1)
        return out


def finetune_input_size(largest_side: int, device: str = "cpu") -> int:
    """Input size for fine-tuning images whose larger side is ``largest_side``: tiny images (CIFAR, MNIST) are
    upsampled 2x to 64 px (a multiple of 32, at least 64), photos get 224 on a GPU and 128 on CPU."""
    if largest_side <= 48:
        return 64
    return int(np.clip(-(-largest_side // 32) * 32, 64, 224 if device != "cpu" else 128))


def default_device() -> str:
    """``"cuda"`` when a CUDA GPU is present, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# ---------------------------------------------------------------- the model: a frozen prefix and a trainable rest

@functools.lru_cache(maxsize=2)
def _pretrained(input_size: int):
    return load_backbone(input_size)


def _backbone(input_size: int):
    """A fresh copy of the pretrained backbone (the weights are read from disk once per input size)."""
    return copy.deepcopy(_pretrained(input_size))


def _build(input_size: int, frozen_blocks: int, n_classes: int, device: str, trace: bool = False):
    """(prefix, trainable) modules: stem + blocks[:frozen_blocks] (eval, no grad) and the rest + a new classifier."""
    import torch
    from torch import nn

    net = _backbone(input_size)
    scale, shift = input_normalisation()

    class Prefix(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(net._conv_stem, net._bn0, net._swish)
            self.blocks = nn.ModuleList(net._blocks[:frozen_blocks])
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, x):  # float (N, 3, H, W) in 0..255
            x = self.stem(x * self.scale + self.shift)
            for block in self.blocks:
                x = block(x)
            return x

    class Rest(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(net._blocks[frozen_blocks:])
            self.head = nn.Sequential(net._conv_head, net._bn1, nn.ReLU6())
            self.dropout = nn.Dropout(0.2)
            self.fc = nn.Linear(net._fc.in_features, n_classes)

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return self.fc(self.dropout(self.head(x).mean((2, 3))))

    prefix = Prefix().eval().to(device=device, memory_format=torch.channels_last)
    for p in prefix.parameters():
        p.requires_grad_(False)
    if device == "cpu" and trace:  # trace + freeze folds the batch norms into the convolutions (faster features)
        with torch.no_grad():
            example = torch.zeros(2, 3, input_size, input_size).contiguous(memory_format=torch.channels_last)
            prefix = torch.jit.freeze(torch.jit.trace(prefix, example, check_trace=False))
    return prefix, Rest().to(device=device, memory_format=torch.channels_last)


def augment(x, generator, crop_area=(0.35, 1.0), flip: bool = True):
    """Random resized crops (area share ``crop_area``, aspect 3/4..4/3) and mirror flips of a batch (N, C, H, W),
    resampled to the same size: one batched affine warp."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    area = torch.empty(n).uniform_(*crop_area, generator=generator)
    log_ratio = torch.empty(n).uniform_(math.log(3 / 4), math.log(4 / 3), generator=generator)
    ratio = torch.exp(log_ratio)
    sx = torch.sqrt(area * ratio).clamp(max=1.0)
    sy = torch.sqrt(area / ratio).clamp(max=1.0)
    tx = (torch.rand(n, generator=generator) * 2 - 1) * (1 - sx)
    ty = (torch.rand(n, generator=generator) * 2 - 1) * (1 - sy)
    sign = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0) if flip else torch.ones(n)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = sx * sign, tx
    theta[:, 1, 1], theta[:, 1, 2] = sy, ty
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _as_input(batch_uint8, device: str):
    """uint8 (N, H, W, 3) numpy → float (N, 3, H, W) channels-last tensor on ``device``, still 0..255."""
    import torch

    t = torch.from_numpy(np.ascontiguousarray(batch_uint8)).to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)


# ---------------------------------------------------------------- the plan: what to train, fitted to a time budget

@dataclass
class Plan:
    """The choices of one run; ``folds_of`` (fold index per labeled row) is fixed before training starts."""

    input_size: int
    frozen_blocks: int
    epochs: int
    folds: int
    views: int
    batch_size: int
    lr: float
    seed: int
    device: str
    estimate_s: float | None = None

    def as_dict(self) -> dict:
        """JSON-able form."""
        return asdict(self)


def _time_step(fn, repeats: int = 2) -> float:
    fn()  # warm-up (allocations, kernel choice)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def probe_seconds(input_size: int, frozen_blocks: int, n_classes: int, device: str, batch_size: int = 32) -> dict:
    """Measured seconds per image here: frozen prefix forward (no grad), a training step of the rest, prediction."""
    import torch

    prefix, rest = _build(input_size, frozen_blocks, n_classes, device)
    x = torch.rand(batch_size, 3, input_size, input_size, device=device).mul(255).contiguous(
        memory_format=torch.channels_last)
    with torch.inference_mode():
        feats = prefix(x)
    feats = feats.clone()
    opt = torch.optim.AdamW([p for p in rest.parameters() if p.requires_grad], lr=1e-4)
    y = torch.randint(0, n_classes, (batch_size,), device=device)

    def prefix_step():
        with torch.inference_mode():
            prefix(x)

    def train_step():
        rest.train()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
            loss = torch.nn.functional.cross_entropy(rest(augment(feats, None) if frozen_blocks == 0 else feats), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()

    return {"prefix": _time_step(prefix_step) / batch_size, "train": _time_step(train_step) / batch_size}


def estimate_seconds(n: int, folds: int, epochs: int, views: int, frozen_blocks: int, speed: dict) -> float:
    """Estimated wall seconds of a run on ``n`` images from measured per-image ``speed`` (see probe_seconds)."""
    train_rows = n * (folds - 1) / folds
    cache = speed["prefix"] * n * (views if frozen_blocks else 0)
    per_epoch = speed["train"] * train_rows + (speed["prefix"] * train_rows if frozen_blocks == 0 else 0)
    predict = speed["prefix"] * n * 2  # each held-out row, plain + mirrored (the rest is cheap next to training)
    return cache + folds * epochs * per_epoch + predict


def plan_for_budget(n: int, n_classes: int, input_size: int, time_budget_s: float, folds: int = DEFAULT_FOLDS,
                    device: str = "cpu", epochs: int | None = None, frozen_blocks: int | None = None,
                    views: int = CACHE_VIEWS, seed: int = 0) -> Plan:
    """The frozen depth and epochs that fit ``time_budget_s`` on this machine, by a short speed probe.

    The shallowest freeze (most blocks trained) that still gets MIN_EPOCHS epochs wins; epochs then fill
    the budget up to MAX_EPOCHS. On a GPU nothing is frozen by default. Explicit ``epochs``/``frozen_blocks``
    are kept as given.
    """
    choices = [frozen_blocks] if frozen_blocks is not None else ([0] if device == "cuda" else list(FROZEN_CHOICES))
    plan = None
    for depth in choices:
        speed = probe_seconds(input_size, depth, n_classes, device)
        one = estimate_seconds(n, folds, 1, views, depth, speed)
        zero = estimate_seconds(n, folds, 0, views, depth, speed)
        fit = int((time_budget_s - zero) // max(one - zero, 1e-9))
        chosen = epochs if epochs is not None else int(np.clip(fit, 1, MAX_EPOCHS))
        plan = Plan(input_size, depth, chosen, folds, views if depth else 0, 64 if device == "cpu" else 256,
                    1e-3, seed, device, round(estimate_seconds(n, folds, chosen, views, depth, speed), 1))
        if fit >= MIN_EPOCHS or epochs is not None:
            break
    return plan


# ---------------------------------------------------------------- loading images

def load_images(paths: list[str], size: int, workers: int = 4) -> tuple[np.ndarray, list[int], list[str]]:
    """(uint8 (n_ok, size, size, 3), indices that loaded, reasons for those that did not (one per failure))."""
    def one(path):
        try:
            return read_image(path, size, "RGB")
        except Exception as exc:  # noqa: BLE001 (PIL raises many types for unreadable files)
            return f"not a readable image ({type(exc).__name__}: {exc}); replace or remove the file"

    with ThreadPoolExecutor(workers) as pool:
        loaded = list(pool.map(one, paths))
    ok = [i for i, im in enumerate(loaded) if not isinstance(im, str)]
    failed = [(i, im) for i, im in enumerate(loaded) if isinstance(im, str)]
    images = np.stack([loaded[i] for i in ok]) if ok else np.zeros((0, size, size, 3), np.uint8)
    return images, ok, failed


# ---------------------------------------------------------------- out-of-fold training on arrays

class _Progress:
    """Steps done out of a total, reported to tqdm or a callback with an ETA from the timed steps so far."""

    def __init__(self, total: int, progress, desc: str):
        self.total, self.done, self.timed, self.timed_s = max(total, 1), 0, 0, 0.0
        self.callback = progress if callable(progress) else None
        self.bar = tqdm(total=self.total, desc=desc, unit="step", disable=progress is not True)
        self.last = time.perf_counter()

    def skip(self, steps: int, text: str) -> None:
        self.done += steps
        self.bar.update(steps)
        self.last = time.perf_counter()
        self._report(text)

    def step(self, steps: int, text: str) -> None:
        now = time.perf_counter()
        self.timed_s += now - self.last
        self.timed += steps
        self.last = now
        self.done += steps
        self.bar.update(steps)
        self._report(text)

    def eta(self) -> float | None:
        return None if not self.timed else self.timed_s / self.timed * max(self.total - self.done, 0)

    def _report(self, text: str) -> None:
        if self.callback:
            eta = self.eta()
            left = f", about {eta:,.0f} s left" if eta is not None else ""
            self.callback(FinetuneProgress(min(self.done / self.total, 1.0), eta, f"{text}{left}"))

    def close(self) -> None:
        self.bar.close()


def assign_folds(codes: np.ndarray, folds: int, seed: int) -> tuple[np.ndarray, int]:
    """(fold index per labeled row (-1 for unlabeled), folds used): stratified, fewer when classes are tiny."""
    labeled = np.flatnonzero(codes >= 0)
    counts = np.bincount(codes[labeled])
    n_splits = max(2, min(folds, len(labeled), int(counts.max())))
    out = np.full(len(codes), -1, dtype=np.int64)
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
        for k, (_, test) in enumerate(cv.split(np.zeros(len(labeled)), codes[labeled])):
            out[labeled[test]] = k
    return out, n_splits


def _save_npz(path: Path, **arrays_) -> None:
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(tmp, **arrays_)
    tmp.replace(path)


def _cache_views(prefix, images: np.ndarray, plan: Plan, bar: _Progress, device: str):
    """Frozen-prefix outputs for each cached view (view 0 plain, 1 mirrored, others random crops): a list of tensors."""
    import torch

    gen = torch.Generator().manual_seed(plan.seed + 7)
    views = []
    with torch.inference_mode():
        for v in range(plan.views):
            chunks = []
            for start in range(0, len(images), 256):
                x = _as_input(images[start:start + 256], device)
                if v == 1:
                    x = torch.flip(x, dims=[3])
                elif v >= 2:
                    x = augment(x, gen)
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                    chunks.append(prefix(x).to(torch.float16 if device == "cpu" else torch.bfloat16))
                bar.step(1, f"caching frozen features (view {v + 1} of {plan.views})")
            views.append(torch.cat(chunks).contiguous(memory_format=torch.channels_last))
    return views


def finetune_out_of_fold(images: np.ndarray, codes: np.ndarray, n_classes: int, plan: Plan,
                         checkpoint_dir: str | Path | None = None, progress=True) -> tuple[np.ndarray, dict]:
    """(raw out-of-fold probabilities n x k, run facts) for uint8 ``images`` (n, s, s, 3) and class ``codes``
    (-1 = unlabeled) under ``plan``; finished folds are saved to and reused from ``checkpoint_dir``."""
    import torch
    import torch.nn.functional as F

    start = time.perf_counter()
    device = plan.device
    torch.manual_seed(plan.seed)
    fold_of, n_splits = assign_folds(codes, plan.folds, plan.seed)
    plan.folds = n_splits
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    if ckpt:
        ckpt.mkdir(parents=True, exist_ok=True)
        plan_file = ckpt / "plan.json"
        if plan_file.exists():
            stored = json.loads(plan_file.read_text())
            if stored["fold_of"] != fold_of.tolist():
                raise RuntimeError(f"The checkpoints in {ckpt} were made with other fold assignments. Fix: delete "
                                   "that folder (or pass resume=False) to start over.")
        else:
            plan_file.write_text(json.dumps({"plan": plan.as_dict(), "fold_of": fold_of.tolist()}))
    done = {k for k in range(n_splits) if ckpt and (ckpt / f"fold_{k}.npz").exists()}
    n = len(images)
    bs = plan.batch_size
    train_batches = [math.ceil(int(((fold_of != k) & (codes >= 0)).sum()) / bs) for k in range(n_splits)]
    predict_batches = [math.ceil(int(((fold_of == k) | (codes < 0)).sum()) / 256) for k in range(n_splits)]
    cache_steps = plan.views * math.ceil(n / 256) if plan.frozen_blocks and len(done) < n_splits else 0
    bar = _Progress(cache_steps + sum(plan.epochs * t + p for t, p in zip(train_batches, predict_batches)),
                    progress, "Fine-tuning")
    logits = np.zeros((n, n_classes), dtype=np.float32)
    unlabeled_sum = np.zeros((n, n_classes), dtype=np.float64)
    try:
        for k in sorted(done):
            saved = np.load(ckpt / f"fold_{k}.npz")
            logits[saved["rows"]] = saved["logits"]
            unlabeled_sum[saved["unlabeled_rows"]] += saved["unlabeled_proba"]
            bar.skip(plan.epochs * train_batches[k] + predict_batches[k], f"fold {k + 1} of {n_splits} reused")
        if len(done) < n_splits:
            prefix, _ = _build(plan.input_size, plan.frozen_blocks, n_classes, device, trace=n >= 2000)
            cached = _cache_views(prefix, images, plan, bar, device) if plan.frozen_blocks else None
        for k in range(n_splits):
            if k in done:
                continue
            _, rest = _build(plan.input_size, plan.frozen_blocks, n_classes, device)
            train = np.flatnonzero((fold_of != k) & (codes >= 0))
            params = [{"params": [p for n_, p in rest.named_parameters() if not n_.startswith("fc.")], "lr": plan.lr},
                      {"params": rest.fc.parameters(), "lr": plan.lr * 3}]
            opt = torch.optim.AdamW(params, weight_decay=1e-4)
            steps = max(plan.epochs * train_batches[k], 1)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[plan.lr, plan.lr * 3], total_steps=steps,
                                                        pct_start=0.15)
            gen = torch.Generator().manual_seed(plan.seed * 1000 + k)
            y_all = torch.from_numpy(np.array(codes, dtype=np.int64)).to(device)
            for epoch in range(plan.epochs):
                rest.train()
                order = train[torch.randperm(len(train), generator=gen).numpy()]
                for b in range(0, len(order), bs):
                    rows = order[b:b + bs]
                    if plan.frozen_blocks:
                        view = torch.randint(0, plan.views, (len(rows),), generator=gen).numpy()
                        x = torch.stack([cached[v][r] for v, r in zip(view, rows)]).float()
                        x = x.to(device).contiguous(memory_format=torch.channels_last)
                    else:
                        with torch.no_grad():
                            x = augment(_as_input(images[rows], device), gen)
                            x = prefix(x)
                    with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device == "cuda"):
                        loss = F.cross_entropy(rest(x), y_all[torch.from_numpy(rows).to(device)])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    bar.step(1, f"fold {k + 1} of {n_splits}, epoch {epoch + 1} of {plan.epochs}")
                faults.point("finetune.epoch")
            rest.eval()
            held = np.flatnonzero(fold_of == k)
            unl = np.flatnonzero(codes < 0)
            out = _predict(prefix, rest, images, cached, np.concatenate([held, unl]), plan, bar,
                           f"fold {k + 1} of {n_splits}, predicting")
            logits[held] = out[: len(held)]
            unl_proba = torch.softmax(torch.from_numpy(out[len(held):]), 1).numpy() if len(unl) else \
                np.zeros((0, n_classes), np.float32)
            unlabeled_sum[unl] += unl_proba
            if ckpt:
                _save_npz(ckpt / f"fold_{k}.npz", rows=held, logits=out[: len(held)], unlabeled_rows=unl,
                          unlabeled_proba=unl_proba)
            faults.point("finetune.fold_done")
    finally:
        bar.close()
    proba = torch.softmax(torch.from_numpy(logits), 1).numpy().astype(np.float64)
    unl = codes < 0
    proba[unl] = unlabeled_sum[unl] / n_splits
    return proba, {"folds_reused": len(done), "seconds": time.perf_counter() - start, "fold_of": fold_of}


def _predict(prefix, rest, images, cached, rows: np.ndarray, plan: Plan, bar: _Progress, text: str) -> np.ndarray:
    """Mean logits over the plain and mirrored image for ``rows`` (inference mode, batches of 256)."""
    import torch

    out = []
    with torch.inference_mode():
        for b in range(0, len(rows), 256):
            r = rows[b:b + 256]
            if cached is not None:
                views = [cached[0][r].float(), cached[1][r].float()]
            else:
                x = _as_input(images[r], plan.device)
                views = [prefix(x), prefix(torch.flip(x, dims=[3]))]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=plan.device == "cuda"):
                out.append(sum(rest(v.contiguous(memory_format=torch.channels_last)).float() for v in views) / 2)
            bar.step(1, text)
    return torch.cat(out).cpu().numpy() if out else np.zeros((0, rest.fc.out_features), np.float32)


# ---------------------------------------------------------------- on a dataset

def checkpoint_folder(dataset, request: dict, ids: list[str], codes: np.ndarray) -> Path:
    """The checkpoint folder of a run: under the dataset's arrays folder, keyed by the request, samples and labels."""
    digest = hashlib.sha1(json.dumps([request, ids, codes.tolist()], sort_keys=True).encode()).hexdigest()[:16]
    return arrays.folder(dataset) / "finetune" / digest


def stored_plan(folder: Path) -> Plan | None:
    """The plan a run in ``folder`` started with (so a resumed run keeps its epochs, depth and folds), or None."""
    path = Path(folder) / "plan.json"
    return Plan(**json.loads(path.read_text())["plan"]) if path.exists() else None


def finetune_predictions(dataset_or_name, gt_field: str = "ground_truth", folds: int = DEFAULT_FOLDS,
                         time_budget_s: float | None = None, epochs: int | None = None,
                         frozen_blocks: int | None = None, input_size: int | None = None, device: str | None = None,
                         seed: int = 0, progress=True, resume: bool = True, views: int = CACHE_VIEWS) -> FinetuneResult:
    """Out-of-fold probabilities of a fine-tuned EfficientNet-Lite0 for a classification dataset (not stored).

    ``time_budget_s`` (default 300 s on CPU, 120 s on a GPU) picks the frozen depth and epochs unless given;
    ``views``: cached views of the frozen part (plain, mirrored, then random crops; 2 halves the caching time).
    A strong CPU run on 50,000 CIFAR-10N photos (``benchmarks/bench_crowd.py --finetune-prior``: 89.3 % right,
    trained on the crowd majority; about 70-85 min on 2 cores): ``input_size=160, frozen_blocks=11, epochs=3,
    views=2``.
    Unreadable images are left out and named in ``excluded``. ``progress``: True for a tqdm bar, a callable for
    :class:`FinetuneProgress` reports, False for none. A killed run resumes at the next unfinished fold.
    """
    start = time.perf_counter()
    dataset = store.as_dataset(dataset_or_name)
    if store.label_kind(dataset, gt_field) != "classification":
        raise ValueError(f"Fine-tuning here is for single-label classification; {gt_field!r} of {dataset.name!r} "
                         "is not. Fix: use model='frozen' (embeddings + classifier).")
    device = device or default_device()
    all_ids, paths, labels = dataset.values(["id", "filepath", f"{gt_field}.label"])
    classes = store.classes(dataset, gt_field)
    size = input_size or finetune_input_size(_largest_side(paths), device)
    images, ok, failed = load_images(paths, size)
    excluded = [{"sample_id": all_ids[i], "filepath": paths[i], "reason": why} for i, why in failed]
    if not ok:
        raise ValueError(f"No image of {dataset.name!r} could be read. Fix: check the files (first: {paths[0]!r}).")
    ids = [all_ids[i] for i in ok]
    index = {c: j for j, c in enumerate(classes)}
    codes = np.array([index.get(labels[i], -1) if labels[i] is not None else -1 for i in ok], dtype=np.int64)
    if len(set(codes[codes >= 0].tolist())) < 2:
        raise ValueError(f"Need labeled samples of at least 2 classes in {dataset.name!r} to fine-tune. "
                         "Fix: label more samples.")
    budget = time_budget_s if time_budget_s is not None else (CPU_BUDGET_S if device == "cpu" else GPU_BUDGET_S)
    if views not in range(2, 9):  # predictions average the plain and the mirrored view
        raise ValueError(f"views must be 2 to 8 cached views, not {views!r}. Fix: use 2 (plain and mirrored) or 4.")
    request = {"input_size": size, "budget": budget, "folds": folds, "device": device, "epochs": epochs,
               "frozen_blocks": frozen_blocks, "seed": seed, "normalisation": NORMALISATION}
    if views != CACHE_VIEWS:  # a key of its own (and the folders of earlier runs keep theirs)
        request["views"] = views
    where = checkpoint_folder(dataset, request, ids, codes)
    if not resume and where.exists():
        import shutil

        shutil.rmtree(where)
    plan = stored_plan(where) or plan_for_budget(len(ids), len(classes), size, budget, folds, device, epochs,
                                                 frozen_blocks, views=views, seed=seed)
    proba, facts = finetune_out_of_fold(images, codes, len(classes), plan, where, progress)
    return FinetuneResult(ids, proba, classes, plan.folds, size, plan.frozen_blocks, plan.epochs, device,
                          time.perf_counter() - start, facts["folds_reused"], excluded, str(where))


def _largest_side(paths: list[str]) -> int:
    from PIL import Image

    for path in paths[:20]:
        try:
            with Image.open(path) as im:
                return max(im.size)
        except Exception:  # noqa: BLE001 (unreadable files are reported when loaded)
            continue
    return 224


PIPELINES = ("frozen", "finetune", "fused", "frozen_knn", "frozen_knn_cnn", "two_backbones")
SMALL_CNN_SIDES = (17, 32)  # images whose larger side is in this range get the small CNN view on CPU
SMALL_CNN_MAX_SAMPLES = 20_000  # above: the CNN's ~1.5-3 min per 10,000 images would break the CPU time budget


def recommended_model(largest_side: int | None = None, samples: int | None = None) -> tuple[str, str]:
    """(pipeline, why) that ``compute_predictions`` runs by default on this machine for ``samples`` images whose
    larger side is ``largest_side``: "fused" (fine-tuned + frozen-feature classifier + kNN) with a CUDA GPU; on CPU
    "frozen_knn_cnn" (those two views and a small CNN trained from scratch) for up to 20,000 small images
    (17-32 px), else "frozen_knn" (frozen-feature classifier + kNN label agreement; benchmarks/bench_real_noise.py,
    benchmarks/bench_label_issues.py)."""
    if default_device() == "cuda":
        return "fused", ("recommended here: a CUDA GPU is present, so the backbone is fine-tuned and fused with the "
                         "frozen-feature classifier and kNN label agreement (better than either alone)")
    small = largest_side is not None and SMALL_CNN_SIDES[0] <= largest_side <= SMALL_CNN_SIDES[1]
    if small and (samples or 0) <= SMALL_CNN_MAX_SAMPLES:
        return "frozen_knn_cnn", (f"recommended here: CPU only and small images ({largest_side} px), so a small CNN "
                                  "trained from scratch out of fold joins the frozen-feature classifier and kNN label "
                                  "agreement (MNIST with 5 % flipped labels: AP 0.997 against 0.982 without it; "
                                  "CIFAR-10N photos: 0.758 against 0.742; about 1.5-3 min more per 10,000 images; "
                                  "benchmarks/bench_label_issues.py)")
    if small:
        return "frozen_knn", (f"recommended here: CPU only; the images are small ({largest_side} px) but there are "
                              f"{samples:,} of them, so the small CNN view (model='frozen_knn_cnn') is left out to "
                              "keep the run within minutes; the frozen-feature classifier fused with kNN label "
                              "agreement runs")
    return "frozen_knn", ("recommended here: CPU only, so the frozen-feature classifier fused with kNN label agreement "
                          "on the same embeddings (more accurate than the classifier alone, 80.7 % against 79.6 % on "
                          "CIFAR-10N's 50,000 photos in 3 min; benchmarks/bench_real_noise.py)")


def fused_proba(tuned: FinetuneResult, ids: list[str], X: np.ndarray, truth: list, classes: list[str], folds: int,
                seed: int = 0) -> np.ndarray:
    """Geometric mean of the fine-tuned probabilities, the frozen-feature classifier's and the kNN label
    agreement on embeddings ``X`` (rows in ``ids`` order, labels ``truth``), all out of fold."""
    row = {sid: i for i, sid in enumerate(tuned.ids)}
    fine = tuned.proba[[row[sid] for sid in ids]]
    index = {c: j for j, c in enumerate(classes)}
    codes = np.array([index[t] if t is not None else -1 for t in truth], dtype=np.int64)
    frozen, _ = out_of_fold_proba(X, truth, classes, folds=folds, seed=seed)
    return fuse_log_mean(fine, frozen, knn_label_proba(X, codes, len(classes)))


def choose_model(model: str | None, kind: str = "classification", largest_side: int | None = None,
                 samples: int | None = None) -> tuple[str, str]:
    """(pipeline, why) for a ``model=`` argument: None picks :func:`recommended_model` for ``samples`` images whose
    larger side is ``largest_side`` (frozen for multi-label)."""
    if model is None:
        if kind != "classification":
            return "frozen", "multi-label datasets use the frozen-feature classifier"
        return recommended_model(largest_side, samples)
    if model not in PIPELINES:
        raise ValueError(f"Unknown model {model!r} for predictions. Fix: use one of {', '.join(PIPELINES)} "
                         "(or leave it out for the recommended one on this machine).")
    return model, "chosen explicitly"
