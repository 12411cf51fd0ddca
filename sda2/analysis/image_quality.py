"""Image-quality checks from pixels: blurry, dark, light, low information, odd size, odd aspect ratio, grayscale.

Modelled on cleanvision's image-property checks (github.com/cleanlab/cleanvision), with three changes:
- **contrast-normalised sharpness**: the spread of the Laplacian divided by the spread of the gray levels, so
  a dark or low-contrast photo is not called blurry for being dark;
- **unusual here, and bad in absolute terms**: size, aspect ratio and information are flagged only when a
  sample is both past an absolute cut and outside the dataset's own spread (Tukey fences, on the log scale
  for size and shape), and sharpness is measured against the dataset's median, so a dataset of small images
  (8 x 8 digits) or panoramas is not flagged wholesale;
- **grayscale among colour** looks at the pixels, not the file mode (a gray photo saved as RGB counts), and
  flags only where most of the dataset is in colour (a grayscale dataset has no grayscale issue).

Pure numeric: arrays and DataFrames in and out. Every score is in [0, 1], lower = more likely an issue (as in
cleanlab and cleanvision), NaN where it cannot be measured (an unreadable image; sharpness of a flat image).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHECKS = ("blurry", "dark", "light", "low_information", "odd_size", "odd_aspect_ratio", "grayscale")
PROPERTIES = ("width", "height", "channels", "brightness_mean", "brightness_p5", "brightness_p99", "entropy",
              "sharpness", "chroma")
BLUR_SIZE = 64  # sharpness is measured with the longer side reduced to at most this many pixels (as cleanvision)
FLAT = 0.02  # gray-level spread below which an image is flat: no sharpness to measure
THRESHOLDS = {
    "dark": 0.32,  # score = 99th-percentile brightness (cleanvision's cut)
    "light": 0.3,  # score = 1 - 5th-percentile brightness: the darkest 5 % of pixels are brighter than 70 %
    "low_information": 0.3,  # score = gray-level entropy / 10 bits (cleanvision's normalisation and cut)
    "blurry": 0.5,  # score = sharpness / the dataset's median sharpness
    "odd_size": 0.5,  # score = min(s / median, median / s) of sqrt(area): half or double the usual size
    "odd_aspect_ratio": 0.5,  # score = min(w / h, h / w): one side twice the other
    "grayscale": 0.2,  # score = chroma / 0.25 (see chroma()): below 0.05 is gray
}
FENCE = 1.5  # Tukey's fence, in interquartile ranges, for "unusual in this dataset"
COLOUR_MAJORITY = 0.5  # grayscale is an issue only where more than this share of images is in colour


def brightness(pixels: np.ndarray) -> np.ndarray:
    """Perceived brightness of each pixel in [0, 1] (cleanvision's weights: sqrt(.241 R² + .691 G² + .068 B²))."""
    values = np.asarray(pixels, dtype=np.float64)
    if values.ndim == 2:
        return values / 255
    r, g, b = values[..., 0], values[..., 1], values[..., 2]
    return np.sqrt(0.241 * r * r + 0.691 * g * g + 0.068 * b * b) / 255


def _gray(pixels: np.ndarray) -> np.ndarray:
    values = np.asarray(pixels, dtype=np.float64) / 255
    return values if values.ndim == 2 else values[..., :3] @ np.array([0.299, 0.587, 0.114])


def _reduce(gray: np.ndarray, size: int) -> np.ndarray:
    """Block means so that the longer side is at most ``size`` (an integer factor; the ragged edge is dropped)."""
    factor = int(np.ceil(max(gray.shape) / size))
    if factor <= 1:
        return gray
    h, w = (gray.shape[0] // factor) * factor, (gray.shape[1] // factor) * factor
    if h == 0 or w == 0:
        return gray
    return gray[:h, :w].reshape(h // factor, factor, w // factor, factor).mean(axis=(1, 3))


def sharpness(pixels: np.ndarray, size: int = BLUR_SIZE) -> float:
    """Spread of the Laplacian over the spread of gray levels (NaN for flat or tiny images): low = blurry."""
    gray = _reduce(_gray(pixels), size)
    if min(gray.shape) < 3 or gray.std() < FLAT:
        return float("nan")
    lap = (4 * gray[1:-1, 1:-1] - gray[:-2, 1:-1] - gray[2:, 1:-1] - gray[1:-1, :-2] - gray[1:-1, 2:])
    return float(lap.std() / gray.std())


def gray_levels(pixels: np.ndarray) -> np.ndarray:
    """0-255 integer gray levels, as PIL's ``convert("L")`` computes them (ITU-R 601-2 luma, fixed point)."""
    values = np.asarray(pixels)
    if values.ndim == 2:
        return values.astype(np.int64)
    rgb = values[..., :3].astype(np.int64)
    return (rgb[..., 0] * 19595 + rgb[..., 1] * 38470 + rgb[..., 2] * 7471 + 0x8000) >> 16


def entropy(pixels: np.ndarray) -> float:
    """Shannon entropy (bits, 0 to 8) of the 256-level gray histogram (PIL's ``Image.entropy`` of the gray image)."""
    counts = np.bincount(np.clip(gray_levels(pixels), 0, 255).ravel(), minlength=256).astype(np.float64)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def chroma(pixels: np.ndarray) -> float:
    """Colourfulness relative to contrast: mean (largest - smallest channel) over the gray-level spread.

    0 for gray pixels (whatever the file mode); about 0.5 for a typical colour photo. Dividing by the
    spread keeps a darkened or washed-out colour photo as colourful as before.
    """
    values = np.asarray(pixels)
    if values.ndim == 2 or values.shape[-1] < 3:
        return 0.0
    rgb = values[..., :3].astype(np.int16)
    spread = float((rgb.max(axis=-1) - rgb.min(axis=-1)).mean() / 255)
    return spread / max(float(_gray(values).std()), FLAT)


def image_properties(pixels: np.ndarray) -> dict[str, float]:
    """The raw properties of one image (H x W gray or H x W x 3 RGB, uint8) that the checks score."""
    values = np.asarray(pixels)
    if values.ndim not in (2, 3) or values.size == 0:
        raise ValueError(f"Expected an H x W or H x W x 3 pixel array; got shape {values.shape}.")
    level = brightness(values)
    p5, p99 = np.percentile(level, [5, 99])
    return {"width": float(values.shape[1]), "height": float(values.shape[0]),
            "channels": float(1 if values.ndim == 2 else values.shape[-1]), "brightness_mean": float(level.mean()),
            "brightness_p5": float(p5), "brightness_p99": float(p99), "entropy": entropy(values),
            "sharpness": sharpness(values), "chroma": chroma(values)}


def unusual_low(values: np.ndarray, fence: float = FENCE) -> np.ndarray:
    """True where a value lies below the lower Tukey fence (q1 - fence * IQR) of the finite values."""
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(len(values), dtype=bool)
    q1, q3 = np.percentile(values[finite], [25, 75])
    return finite & (values < q1 - fence * (q3 - q1))


def _unusual_either(values: np.ndarray, fence: float) -> np.ndarray:
    return unusual_low(values, fence) | unusual_low(-values, fence)


def quality_scores(properties: pd.DataFrame, thresholds: dict | None = None, fence: float = FENCE) -> pd.DataFrame:
    """``is_<check>_issue`` and ``<check>_score`` for every check in :data:`CHECKS`, rows as ``properties``.

    ``properties``: one row per image with the columns of :func:`image_properties` (NaN rows: unreadable).
    ``thresholds`` overrides entries of :data:`THRESHOLDS`. ``frame.attrs`` holds the dataset figures used.
    """
    missing = [c for c in PROPERTIES if c not in properties.columns]
    if missing:
        raise ValueError(f"properties lack the columns {missing}: compute them with image_properties().")
    cut = {**THRESHOLDS, **(thresholds or {})}
    unknown = sorted(set(cut) - set(CHECKS))
    if unknown:
        raise ValueError(f"Unknown image-quality checks {unknown}; the checks are {list(CHECKS)}.")
    p = properties
    readable = p["width"].notna().to_numpy()
    scores = {
        "dark": p["brightness_p99"].to_numpy(dtype=float),
        "light": 1 - p["brightness_p5"].to_numpy(dtype=float),
        "low_information": p["entropy"].to_numpy(dtype=float) / 10,
    }
    sharp = p["sharpness"].to_numpy(dtype=float)
    typical_sharpness = np.nanmedian(sharp) if np.isfinite(sharp).any() else np.nan
    scores["blurry"] = sharp / typical_sharpness
    side = np.sqrt(p["width"].to_numpy(dtype=float) * p["height"].to_numpy(dtype=float))
    typical_side = np.nanmedian(side) if readable.any() else np.nan
    scores["odd_size"] = np.minimum(side / typical_side, typical_side / side)
    ratio = p["width"].to_numpy(dtype=float) / p["height"].to_numpy(dtype=float)
    scores["odd_aspect_ratio"] = np.minimum(ratio, 1 / ratio)
    colour = p["chroma"].to_numpy(dtype=float)
    scores["grayscale"] = colour / 0.25
    colour_share = float(np.mean(colour[readable] >= 0.1 * cut["grayscale"] * 1.0)) if readable.any() else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        unusual = {
            "dark": np.ones(len(p), dtype=bool), "light": np.ones(len(p), dtype=bool),
            "low_information": unusual_low(p["entropy"].to_numpy(dtype=float), fence),
            "blurry": np.ones(len(p), dtype=bool),  # the score is already relative to this dataset
            "odd_size": _unusual_either(np.log(side), fence),
            "odd_aspect_ratio": _unusual_either(np.log(ratio), fence),
            "grayscale": np.full(len(p), colour_share > COLOUR_MAJORITY),
        }
    frame = pd.DataFrame(index=properties.index)
    for check in CHECKS:
        score = np.clip(scores[check], 0, 1)
        score[~readable] = np.nan
        frame[f"is_{check}_issue"] = np.isfinite(score) & (score < cut[check]) & unusual[check]
        frame[f"{check}_score"] = score
    frame.attrs.update(median_sharpness=float(typical_sharpness), median_side=float(typical_side),
                       colour_share=colour_share, thresholds=cut, fence=fence)
    return frame
