"""The everyday edits a copied image goes through (crop, rotation, noise, blur, contrast, shift, JPEG).

Each edit takes a uint8 image (H x W grayscale or H x W x 3) and a numpy random generator and returns the
edited uint8 image of the same shape. They are the ground truth for the near-duplicate verifier: the
benchmark (benchmarks/bench_duplicates.py) and the tests inject these copies and check they are found.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def _clip(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a), 0, 255).astype(np.uint8)


def _warp(a: np.ndarray, angle: float, scale: float, shift=(0.0, 0.0)) -> np.ndarray:
    h, w = a.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), angle, scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(a, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def exact(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The same pixels."""
    return a.copy()


def crop_90(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The centre 90 % crop, resized back to the original size."""
    h, w = a.shape[:2]
    ch, cw = round(0.9 * h), round(0.9 * w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return cv2.resize(a[top:top + ch, left:left + cw], (w, h), interpolation=cv2.INTER_LINEAR)


def rotate_6(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated by 6 degrees either way about the centre (corners filled black)."""
    return _warp(a, float(rng.choice([-6.0, 6.0])), 1.0)


def rotate_scale(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rotated by 6 degrees either way and scaled by 5 % up or down."""
    return _warp(a, float(rng.choice([-6.0, 6.0])), float(rng.choice([0.95, 1.05])))


def noise_8(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of standard deviation 8 grey levels."""
    return _clip(a + rng.normal(0, 8, a.shape))


def blur(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Gaussian blur of radius 1 pixel (PIL's GaussianBlur(1))."""
    from PIL import ImageFilter

    return np.asarray(Image.fromarray(a).filter(ImageFilter.GaussianBlur(1)))


def contrast_08(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Contrast reduced to 80 % about the mean grey level."""
    mean = a.mean()
    return _clip((a.astype(np.float32) - mean) * 0.8 + mean)


def shift_2(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Shifted by 2 pixels in a random direction (the uncovered edge black)."""
    dx, dy = [(2, 0), (-2, 0), (0, 2), (0, -2), (2, 2), (-2, -2), (2, -2), (-2, 2)][rng.integers(8)]
    return _warp(a, 0.0, 1.0, (dx, dy))


def jpeg_75(a: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Re-encoded as JPEG at quality 75."""
    buffer = io.BytesIO()
    Image.fromarray(a).save(buffer, "JPEG", quality=75)
    return np.asarray(Image.open(buffer))


EDITS = {"exact": exact, "crop_90": crop_90, "rotate_6": rotate_6, "rotate_6_scale_5": rotate_scale,
         "noise_8": noise_8, "blur_1": blur, "contrast_0.8": contrast_08, "shift_2px": shift_2, "jpeg_75": jpeg_75}
