"""Out-of-fold class probabilities of a small CNN trained from scratch on small images (MNIST-like, up to ~32 px).

The reference model of issue 8's MNIST goal: "AP at least that of cleanlab given a small CNN trained out-of-fold
in the same run". Each labeled image is predicted by the fold model that never saw it (stratified K-fold,
:func:`sda2.compute.finetune.assign_folds`); unlabeled images get the mean of the fold models' probabilities.

The net: three conv blocks (conv 3x3 + batch norm + ReLU, max-pooled twice), global average + max pooling,
dropout and a linear head; trained with AdamW under a one-cycle schedule on random shifts of up to 2 px (no flips:
digits are not mirror-symmetric). Runs on a GPU when one is present, else on the CPU (one thread: THREADS).
Deterministic on CPU for a seed and thread count. Figures (OOF accuracy, seconds on this machine) are in
benchmarks/bench_label_issues.py's results.
"""

from __future__ import annotations

import math
import time

import numpy as np
from tqdm.auto import tqdm

from sda2.compute.finetune import assign_folds

DEFAULT_FOLDS = 5
DEFAULT_EPOCHS = 4  # on MNIST 10k (8,000 training images per fold): 98.3 % out of fold
MIN_STEPS = 120  # small sets train for more epochs (and smaller batches) to reach at least this many steps
WIDTH = 16  # channels of the first conv block (then 2x and 4x)
BATCH_SIZE = 128  # the largest batch; small sets use down to 32 so that an epoch has at least 12 steps
MAX_LR = 1e-2
WEIGHT_DECAY = 5e-4
SHIFT_PX = 2
# One thread on CPU: this net's convolutions are too small to gain from more, and on 2 shared cores two threads
# contending with another process were 5-10x slower per image than one (measured here with a benchmark beside it).
THREADS = 1
MAX_SIDE = 64  # larger images are refused: this net is for tiny images


def small_cnn(in_channels: int, n_classes: int, width: int = WIDTH):
    """The net: conv blocks of ``width``, 2x and 4x ``width`` channels, global avg+max pooling, dropout, linear."""
    from torch import nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class Pool(nn.Module):
        def forward(self, x):
            return avg_max_pool(x)

    return nn.Sequential(
        *block(in_channels, width), nn.MaxPool2d(2),
        *block(width, 2 * width), nn.MaxPool2d(2),
        *block(2 * width, 4 * width),
        Pool(), nn.Dropout(0.3), nn.Linear(8 * width, n_classes))


def avg_max_pool(x):
    """Global average and max pooling of (N, C, H, W), concatenated to (N, 2C)."""
    import torch

    return torch.cat([x.mean((2, 3)), x.amax((2, 3))], dim=1)


def random_shift(x, generator, pixels: int = SHIFT_PX):
    """Each image of a batch (N, C, H, W) shifted by its own random offset of up to ``pixels`` in x and y (0 fill)."""
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    padded = F.pad(x, (pixels, pixels, pixels, pixels))
    dy = torch.randint(0, 2 * pixels + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * pixels + 1, (n,), generator=generator).to(x.device)
    rows = (torch.arange(h, device=x.device)[None, :] + dy[:, None])[:, None, :, None]  # n,1,h,1
    cols = (torch.arange(w, device=x.device)[None, :] + dx[:, None])[:, None, None, :]  # n,1,1,w
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, chans, rows, cols]


def as_tensor(images_uint8: np.ndarray):
    """uint8 (N, H, W) or (N, H, W, C) → float32 tensor (N, C, H, W), standardised per channel over the whole set."""
    import torch

    x = np.asarray(images_uint8)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.dtype != np.uint8:
        raise ValueError(f"Images must be uint8 (N, H, W) or (N, H, W, C); got {x.dtype} {x.shape}. "
                         "Fix: pass the raw pixels as uint8.")
    if max(x.shape[1:3]) > MAX_SIDE:
        raise ValueError(f"The small CNN is for images of at most {MAX_SIDE} px; got {x.shape[1]}x{x.shape[2]}. "
                         "Fix: resize them, or use sda2.finetune_predictions for larger images.")
    t = torch.from_numpy(np.array(x, copy=True)).permute(0, 3, 1, 2).float().div_(255)
    mean = t.mean((0, 2, 3), keepdim=True)
    std = t.std((0, 2, 3), keepdim=True).clamp_min(1e-3)
    return ((t - mean) / std).contiguous()


class _Progress:
    """Steps done out of a total, reported to tqdm (``True``) or a callable ``(fraction, eta_s, text)``."""

    def __init__(self, total: int, progress):
        self.total, self.done = max(total, 1), 0
        self.callback = progress if callable(progress) else None
        self.bar = tqdm(total=self.total, desc="Small CNN out of fold", unit="step", disable=progress is not True)
        self.start = time.perf_counter()

    def step(self, text: str) -> None:
        self.done += 1
        self.bar.update(1)
        if self.callback:
            spent = time.perf_counter() - self.start
            eta = spent / self.done * (self.total - self.done)
            self.callback(min(self.done / self.total, 1.0), eta, f"{text}, about {eta:,.0f} s left")

    def close(self) -> None:
        self.bar.close()


def training_schedule(n_train: int, epochs: int | None = None) -> tuple[int, int]:
    """(batch size, epochs) for ``n_train`` training images: batches of 32..128 with at least 12 per epoch;
    ``epochs`` None → DEFAULT_EPOCHS, more when that would be fewer than MIN_STEPS steps."""
    batch = int(np.clip(2 ** int(np.log2(max(n_train, 1) / 12)), 32, BATCH_SIZE)) if n_train >= 24 else 32
    if epochs is None:
        epochs = max(DEFAULT_EPOCHS, math.ceil(MIN_STEPS / max(math.ceil(n_train / batch), 1)))
    return batch, int(epochs)


def _predict(net, x, rows: np.ndarray, device: str) -> np.ndarray:
    import torch

    out = []
    with torch.inference_mode():
        for b in range(0, len(rows), 1024):
            out.append(torch.softmax(net(x[torch.from_numpy(rows[b:b + 1024]).to(device)]).float(), 1).cpu())
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros((0, net[-1].out_features))


def small_cnn_out_of_fold(images_uint8: np.ndarray, codes, n_classes: int, folds: int = DEFAULT_FOLDS,
                          epochs: int | None = None, seed: int = 0, progress=True, width: int = WIDTH,
                          device: str | None = None, threads: int | None = THREADS) -> np.ndarray:
    """Out-of-fold probabilities (N, n_classes) of a small CNN trained from scratch on uint8 images (N, H, W[, C]).

    ``codes``: class index per image, -1 = unlabeled (predicted by the mean of the fold models). Stratified folds
    (fewer when the largest class is smaller than ``folds``). ``epochs`` None: DEFAULT_EPOCHS, more for small sets
    (:func:`training_schedule`). ``progress``: True for a tqdm bar, a callable
    ``(fraction, eta_s, text)``, or False. On CPU, the same seed and thread count give the same probabilities.
    ``threads``: CPU threads for torch while training (None keeps torch's setting; see THREADS).
    """
    import torch
    import torch.nn.functional as F

    codes = np.asarray(codes, dtype=np.int64)
    x = as_tensor(images_uint8)
    if len(codes) != len(x):
        raise ValueError(f"{len(x)} images but {len(codes)} labels. Fix: pass one code per image (-1 = unlabeled).")
    if codes.max(initial=-1) >= n_classes:
        raise ValueError(f"Label code {codes.max()} is out of range for {n_classes} classes. "
                         f"Fix: pass codes 0..{n_classes - 1} (-1 = unlabeled).")
    if len(np.unique(codes[codes >= 0])) < 2:
        raise ValueError("Need labeled images of at least 2 classes to train the small CNN. Fix: label more images.")
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    fold_of, n_splits = assign_folds(codes, folds, seed)
    unlabeled = np.flatnonzero(codes < 0)
    train_rows = [np.flatnonzero((fold_of != k) & (codes >= 0)) for k in range(n_splits)]
    batch, epochs = training_schedule(min(len(r) for r in train_rows), epochs)
    steps = [epochs * math.ceil(len(r) / batch) for r in train_rows]
    bar = _Progress(sum(steps) + n_splits, progress)
    threads_before = torch.get_num_threads()
    if threads and device == "cpu":
        torch.set_num_threads(threads)
    x = x.to(device)  # the whole set fits: 10,000 MNIST digits are 31 MB as float32
    y_all = torch.from_numpy(np.maximum(codes, 0)).to(device)
    proba = np.zeros((len(codes), n_classes), dtype=np.float64)
    try:
        for k in range(n_splits):
            torch.manual_seed(seed * 1000 + k)
            gen = torch.Generator().manual_seed(seed * 1000 + k)
            net = small_cnn(x.shape[1], n_classes, width).to(device)
            opt = torch.optim.AdamW(net.parameters(), lr=MAX_LR, weight_decay=WEIGHT_DECAY)
            sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=MAX_LR, total_steps=max(steps[k], 10),
                                                        pct_start=0.25)
            train = train_rows[k]
            for epoch in range(epochs):
                net.train()
                order = train[torch.randperm(len(train), generator=gen).numpy()]
                for b in range(0, len(order), batch):
                    rows = torch.from_numpy(order[b:b + batch]).to(device)
                    loss = F.cross_entropy(net(random_shift(x[rows], gen)), y_all[rows])
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    sched.step()
                    bar.step(f"fold {k + 1} of {n_splits}, epoch {epoch + 1} of {epochs}")
            net.eval()
            held = np.flatnonzero(fold_of == k)
            out = _predict(net, x, np.concatenate([held, unlabeled]), device)
            proba[held] = out[: len(held)]
            proba[unlabeled] += out[len(held):] / n_splits
            bar.step(f"fold {k + 1} of {n_splits}, predicting")
    finally:
        bar.close()
        torch.set_num_threads(threads_before)
    return proba
