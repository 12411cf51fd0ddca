"""Thumbnails with the labels drawn on them, cached on disk so a page of 50 shows at once.

Tiny images (8x8 digits, 28x28 MNIST) are scaled up with nearest-neighbour so every pixel stays sharp.
Classes become text badges: the ground truth in blue at the top, the prediction at the bottom in green
when it matches and red when it does not. Detections become boxes: ground truth blue, predictions green
when they overlap a same-class ground-truth box (IoU ≥ 0.5) and red otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from sda2 import config

THUMB_SIZE = 224
DETAIL_SIZE = 512
GIVEN = (37, 99, 235)  # blue
RIGHT = (22, 163, 74)  # green
WRONG = (220, 38, 38)  # red
BACKGROUND = (17, 17, 17)
_VERSION = 4  # bump when the drawing changes, so old cached thumbnails are not reused
# Fonts with Hangul, kana and CJK ideographs (DejaVu has none), tried in order for text that needs them
WIDE_FONTS = ("NanumGothicBold.ttf", "NanumGothic.ttf", "NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc",
              "NotoSansCJKkr-Bold.otf", "AppleSDGothicNeo.ttc", "malgunbd.ttf", "malgun.ttf")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/System/Library/Fonts", "/Library/Fonts",
             "C:/Windows/Fonts")


@dataclass(frozen=True)
class Box:
    """A box to draw: class name, [x, y, w, h] relative to the image (0..1), optional confidence."""

    label: str
    xywh: tuple[float, float, float, float]
    confidence: float | None = None


@dataclass(frozen=True)
class Overlay:
    """What to draw on a thumbnail: given and predicted classes (or boxes) and the prediction's confidence."""

    labels: tuple[str, ...] = ()
    predictions: tuple[str, ...] = ()
    confidence: float | None = None
    boxes: tuple[Box, ...] = ()
    predicted_boxes: tuple[Box, ...] = ()
    has_prediction: bool = False


def _as_tuple(value) -> tuple:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ()
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def overlay_from_row(row: pd.Series | dict) -> Overlay:
    """The overlay for one row of :func:`sda2.explore.browse.page_rows`."""
    row = dict(row)
    labels = tuple(str(v) for v in _as_tuple(row.get("label")) if v is not None)
    has_prediction = "prediction" in row
    predictions = tuple(str(v) for v in _as_tuple(row.get("prediction")) if v is not None)
    confidences = _as_tuple(row.get("confidence"))
    boxes = tuple(Box(lbl, tuple(b)) for lbl, b in zip(labels, _as_tuple(row.get("label_boxes"))))
    predicted = tuple(Box(lbl, tuple(b), c) for lbl, b, c in zip(
        predictions, _as_tuple(row.get("prediction_boxes")), confidences or (None,) * len(predictions)))
    confidence = confidences[0] if len(confidences) == 1 and not isinstance(row.get("label"), list) else None
    if boxes or "label_boxes" in row:
        labels = ()
    if predicted or "prediction_boxes" in row:
        predictions = ()
    return Overlay(labels, predictions, confidence, boxes, predicted, has_prediction)


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:  # no system font: Pillow's bundled one
        return ImageFont.load_default(size=size)


def needs_wide_font(text: str) -> bool:
    """True when ``text`` has Hangul, kana, CJK ideographs or full-width forms (not in DejaVu Sans)."""
    return any(0x1100 <= ord(ch) <= 0x11FF or 0x2E80 <= ord(ch) <= 0xD7FF or 0xF900 <= ord(ch) <= 0xFAFF
               or 0xFF00 <= ord(ch) <= 0xFFEF for ch in text)


@lru_cache(maxsize=1)
def wide_font_path() -> str | None:
    """Path of an installed font with Korean, Japanese and Chinese glyphs (e.g. Debian's fonts-nanum), or None."""
    for folder in FONT_DIRS:
        root = Path(folder)
        if not root.is_dir():
            continue
        for name in WIDE_FONTS:
            found = next(root.rglob(name), None)
            if found is not None:
                return str(found)
    return None


@lru_cache(maxsize=16)
def _wide_font(size: int) -> ImageFont.FreeTypeFont:
    path = wide_font_path()
    return ImageFont.truetype(path, size) if path else _font(size)


def font_for(text: str, size: int) -> ImageFont.FreeTypeFont:
    """The badge font of ``size`` pixels for ``text``: DejaVu Sans Bold, or a CJK font when the text needs one."""
    return _wide_font(size) if needs_wide_font(text) else _font(size)


def _iou(a: tuple, b: tuple) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


WIDE_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N", "I", "F"})  # 16-bit, 32-bit and float grey


def displayable(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB; wide grey images (16-bit PNG, 32-bit or float TIFF) are stretched to 0..255.

    Pillow's own conversion clips them at 255, so a 16-bit image (values up to 65,535) shows almost white.
    Here the darkest value becomes black and the brightest white (a flat image keeps its level in the
    16-bit range), so 12-bit scans stored in 16 bits show their contrast too.
    """
    if image.mode not in WIDE_MODES:
        return image.convert("RGB")
    values = np.asarray(image, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if high > low:
        scaled = (values - low) * (255.0 / (high - low))
    else:
        scaled = np.full(values.shape, low / 257.0 if image.mode.startswith("I;16") else low)
    grey = np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).round().astype(np.uint8)
    return Image.fromarray(grey).convert("RGB")


def _fit(image: Image.Image, size: int) -> Image.Image:
    """The image scaled to fit a ``size`` square, nearest-neighbour when enlarging ≥ 2× (pixels stay sharp)."""
    scale = size / max(image.size)
    new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if scale >= 2:
        return image.resize(new, Image.Resampling.NEAREST)
    return image.resize(new, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _badge(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str, color, font, anchor_bottom=False) -> int:
    """Draw one rounded text badge at ``xy`` (its top-left, or bottom-left); return its width."""
    font = font_for(text, font.size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(3, font.size // 4)
    w, h = right - left + 2 * pad, bottom - top + 2 * pad
    x, y = xy
    if anchor_bottom:
        y -= h
    draw.rounded_rectangle((x, y, x + w, y + h), radius=pad, fill=color + (235,))
    draw.text((x + pad - left, y + pad - top), text, font=font, fill=(255, 255, 255, 255))
    return w


def _badge_row(draw, texts_colors, size: int, font, bottom: bool) -> None:
    margin = max(3, size // 60)
    x = margin
    y = size - margin if bottom else margin
    for text, color in texts_colors:
        width = draw.textbbox((0, 0), text, font=font_for(text, font.size))[2] + 2 * max(3, font.size // 4)
        if x + width > size - margin and x > margin:  # wrap onto the next line
            x = margin
            y = y - font.size - 3 * max(3, font.size // 4) if bottom else y + font.size + 3 * max(3, font.size // 4)
        x += _badge(draw, (x, y), text, color, font, anchor_bottom=bottom) + margin


def _draw_boxes(draw, boxes, color_of, offset, shown, size: int, font, below: bool) -> None:
    """Draw boxes with their class badge above the box (``below``: under it, for predictions)."""
    width = max(2, size // 110)
    ox, oy = offset
    sw, sh = shown
    height = font.size + 2 * max(3, font.size // 4)
    for box in boxes:
        x, y, w, h = box.xywh
        rect = (ox + x * sw, oy + y * sh, ox + (x + w) * sw, oy + (y + h) * sh)
        color = color_of(box)
        draw.rectangle(rect, outline=color + (255,), width=width)
        text = box.label if box.confidence is None else f"{box.label} {box.confidence:.2f}"
        if below:
            y_text, up = (rect[3], False) if rect[3] + height <= size else (rect[3], True)
        else:
            y_text, up = (rect[1], True) if rect[1] >= height else (rect[1], False)
        _badge(draw, (int(rect[0]), int(y_text)), text, color, font, anchor_bottom=up)


def render(filepath: str, overlay: Overlay = Overlay(), size: int = THUMB_SIZE) -> Image.Image:
    """The image fitted into a ``size`` square with ``overlay`` drawn on it (a grey "missing" tile if unreadable)."""
    canvas = Image.new("RGB", (size, size), BACKGROUND)
    font = _font(max(11, min(size // 12, 24)))
    try:
        with Image.open(filepath) as image:
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced size, much faster for photos
            fitted = _fit(displayable(image), size)
    except (OSError, ValueError) as exc:
        fitted = None
        ImageDraw.Draw(canvas).text((8, size // 2 - 10), f"unreadable image\n{type(exc).__name__}",
                                    font=_font(max(10, size // 18)), fill=(200, 200, 200))
    offset = (0, 0)
    if fitted is not None:
        offset = ((size - fitted.width) // 2, (size - fitted.height) // 2)
        canvas.paste(fitted, offset)
    layer = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if fitted is not None and (overlay.boxes or overlay.predicted_boxes):
        shown = (fitted.width, fitted.height)
        _draw_boxes(draw, overlay.boxes, lambda b: GIVEN, offset, shown, size, font, below=False)
        given = overlay.boxes

        def matched(box: Box):
            hit = any(g.label == box.label and _iou(g.xywh, box.xywh) >= 0.5 for g in given)
            return RIGHT if hit else WRONG

        _draw_boxes(draw, overlay.predicted_boxes, matched, offset, shown, size, font, below=True)
    _badge_row(draw, [(label, GIVEN) for label in overlay.labels], size, font, bottom=False)
    if overlay.predictions:
        given = set(overlay.labels)
        conf = f" {overlay.confidence:.2f}" if overlay.confidence is not None else ""
        single = len(overlay.predictions) == 1 and len(overlay.labels) <= 1
        bottom = [(f"→ {p}{conf if single else ''}", RIGHT if p in given else WRONG) for p in overlay.predictions]
        _badge_row(draw, bottom, size, font, bottom=True)
    elif overlay.has_prediction and not (overlay.boxes or overlay.predicted_boxes):
        _badge_row(draw, [("no prediction", (75, 85, 99))], size, font, bottom=True)
    canvas.paste(layer, (0, 0), layer)
    return canvas


def cache_dir() -> Path:
    """Where rendered thumbnails are kept (``<sda2 home>/thumbs``)."""
    return config.home() / "thumbs"


def _cache_path(filepath: str, overlay: Overlay, size: int) -> Path:
    try:
        mtime = os.stat(filepath).st_mtime_ns
    except OSError:  # a missing file gets its own key, replaced once the file appears (new mtime)
        mtime = None
    key = json.dumps([_VERSION, filepath, mtime, size, repr(overlay)])
    digest = hashlib.sha1(key.encode()).hexdigest()
    return cache_dir() / digest[:2] / f"{digest}.png"


def thumbnail(filepath: str, overlay: Overlay = Overlay(), size: int = THUMB_SIZE) -> Path:
    """Path of the cached thumbnail of ``filepath`` with ``overlay`` (rendered now if not cached yet)."""
    path = _cache_path(filepath, overlay, size)
    if not path.exists():
        image = render(filepath, overlay, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.tmp")
        image.save(tmp, format="PNG", compress_level=1)
        tmp.replace(path)  # atomic: a reader never sees half a file
    return path


def thumbnails(rows: pd.DataFrame, size: int = THUMB_SIZE, workers: int = 8) -> list[Path]:
    """Cached thumbnail paths for the rows of :func:`sda2.explore.browse.page_rows`, rendered in a thread pool."""
    jobs = [(row["filepath"], overlay_from_row(row)) for _, row in rows.iterrows()]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: thumbnail(job[0], job[1], size), jobs))
