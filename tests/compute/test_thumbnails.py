"""Thumbnails drawn from real images: size, sharp upscaling, badge and box colours, the disk cache."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pandas as pd
import pytest
import sklearn
from PIL import Image

from sda2.ui import thumbnails as th

SAMPLE_IMAGES = pathlib.Path(sklearn.__file__).parent / "datasets" / "images"


@pytest.fixture
def digit_png(tmp_path):
    """A real 8x8 digit from scikit-learn, written as a PNG."""
    from sklearn.datasets import load_digits

    image = (load_digits().images[0] * (255 / 16)).astype(np.uint8)
    path = tmp_path / "digit0.png"
    Image.fromarray(image, mode="L").save(path)
    return path, image


def _share(region: np.ndarray, color) -> float:
    """Fraction of the region's pixels within 40 of ``color`` on every channel (badges are 92% opaque)."""
    return float((np.abs(region.astype(int) - np.array(color)).max(axis=-1) <= 40).mean())


def _vertical_edge(image: np.ndarray, x: float, y0: int, y1: int, color) -> bool:
    """True when a column near ``x`` is ``color`` from row y0 to y1 (a box's vertical side)."""
    return any(_share(image[y0:y1, c:c + 1], color) == 1 for c in range(int(x) - 1, int(x) + 3))


def test_tiny_image_is_upscaled_sharp_and_square(digit_png):
    path, source = digit_png
    image = np.asarray(th.render(str(path), th.Overlay(), size=224))
    assert image.shape == (224, 224, 3)
    block = 224 // 8
    for r, c in [(3, 3), (4, 4), (2, 5), (5, 2)]:  # inner cells, away from any badge: one flat grey each
        cell = image[r * block:(r + 1) * block, c * block:(c + 1) * block]
        assert np.all(cell == source[r, c]), (r, c)


def test_badges_blue_given_green_right_red_wrong(digit_png):
    path, _ = digit_png
    right = np.asarray(th.render(str(path), th.Overlay(("0",), ("0",), 0.93, has_prediction=True), 224))
    wrong = np.asarray(th.render(str(path), th.Overlay(("0",), ("8",), 0.61, has_prediction=True), 224))
    top_left, bottom_left = (slice(0, 30), slice(0, 30)), (slice(194, 224), slice(0, 100))
    assert _share(right[top_left], th.GIVEN) > 0.3 and _share(wrong[top_left], th.GIVEN) > 0.3
    assert _share(right[bottom_left], th.RIGHT) > 0.3 and _share(right[bottom_left], th.WRONG) == 0
    assert _share(wrong[bottom_left], th.WRONG) > 0.3 and _share(wrong[bottom_left], th.RIGHT) == 0
    plain = np.asarray(th.render(str(path), th.Overlay(), 224))
    assert _share(plain[top_left], th.GIVEN) == 0 and _share(plain[bottom_left], th.RIGHT) == 0


def test_boxes_drawn_where_they_are_and_coloured_by_match():
    photo = SAMPLE_IMAGES / "flower.jpg"  # 640x427: fitted to 224x150, 37 px bands above and below
    overlay = th.Overlay(boxes=(th.Box("flower", (0.25, 0.3, 0.5, 0.5)),),
                         predicted_boxes=(th.Box("flower", (0.26, 0.31, 0.5, 0.5), 0.9),
                                          th.Box("bee", (0.02, 0.05, 0.2, 0.2), 0.4)))
    image = np.asarray(th.render(str(photo), overlay, 224))
    assert image.shape == (224, 224, 3)
    shown_h, top = round(427 * 224 / 640), (224 - round(427 * 224 / 640)) // 2
    y0, y1 = top + int(0.5 * shown_h), top + int(0.7 * shown_h)  # rows along the boxes' left sides
    assert _vertical_edge(image, 0.25 * 224, y0, y1, th.GIVEN)
    assert _vertical_edge(image, 0.26 * 224, y0, y1, th.RIGHT)  # overlaps the given box (IoU > 0.5): green
    assert not _vertical_edge(image, 0.26 * 224, y0, y1, th.WRONG)
    b0, b1 = top + int(0.1 * shown_h), top + int(0.2 * shown_h)
    assert _vertical_edge(image, 0.22 * 224, b0, b1, th.WRONG)  # "bee" matches nothing: red (right side)


def test_cache_by_file_mtime_and_labels(digit_png, tmp_path, monkeypatch):
    monkeypatch.setenv("SDA2_HOME", str(tmp_path / "home"))
    path, _ = digit_png
    first = th.thumbnail(str(path), th.Overlay(("0",)))
    assert first.exists() and first.is_relative_to(tmp_path / "home" / "thumbs")
    assert Image.open(first).size == (th.THUMB_SIZE, th.THUMB_SIZE)
    stamp = first.stat().st_mtime_ns
    assert th.thumbnail(str(path), th.Overlay(("0",))) == first and first.stat().st_mtime_ns == stamp  # reused
    assert th.thumbnail(str(path), th.Overlay(("6",))) != first  # another label: another thumbnail
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert th.thumbnail(str(path), th.Overlay(("0",))) != first  # the file changed: drawn again


def test_unreadable_image_still_gets_a_tile(tmp_path, monkeypatch):
    monkeypatch.setenv("SDA2_HOME", str(tmp_path / "home"))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    for path in (bad, tmp_path / "missing.png"):
        tile = Image.open(th.thumbnail(str(path), th.Overlay(("3",))))
        assert tile.size == (th.THUMB_SIZE, th.THUMB_SIZE)


def test_rows_to_thumbnails_in_order(digit_png, tmp_path, monkeypatch):
    monkeypatch.setenv("SDA2_HOME", str(tmp_path / "home"))
    path, _ = digit_png
    flower = str(SAMPLE_IMAGES / "flower.jpg")
    rows = pd.DataFrame({"id": ["a", "b", "c"], "filepath": [str(path), flower, str(path)],
                         "label": ["0", "flower", "0"], "prediction": ["0", "flower", "9"],
                         "confidence": [0.9, 0.8, 0.7]})
    paths = th.thumbnails(rows, size=96)
    assert len(paths) == 3 and len(set(paths)) == 3
    assert all(Image.open(p).size == (96, 96) for p in paths)
    overlay = th.overlay_from_row(rows.iloc[2])
    assert overlay.labels == ("0",) and overlay.predictions == ("9",) and overlay.confidence == 0.7


def test_a_16_bit_png_is_shown_with_its_contrast_not_white(tmp_path):
    """A 12-bit scan stored in a 16-bit PNG (values 1,000..4,000): darkest black, brightest white, in order."""
    values = np.repeat(np.linspace(1000, 4000, 8).astype(np.uint16)[None, :], 8, axis=0)  # 8 columns, dark to light
    path = tmp_path / "scan16.png"
    Image.fromarray(values).save(path)
    assert Image.open(path).mode == "I;16"  # a real 16-bit greyscale PNG
    assert np.asarray(Image.open(path).convert("RGB")).min() == 255  # Pillow's own conversion: all white
    image = np.asarray(th.render(str(path), th.Overlay(), size=224))
    block = 224 // 8
    columns = [image[3 * block:5 * block, c * block:(c + 1) * block] for c in range(8)]
    assert all(np.all(col == col[0, 0]) for col in columns)  # flat grey per column (nearest-neighbour, no badge)
    greys = [int(col[0, 0, 0]) for col in columns]
    assert greys == [round((int(v) - 1000) * 255 / 3000) for v in values[0]]  # stretched from 0 to 255, in order
    assert greys[0] == 0 and greys[-1] == 255


def test_a_flat_16_bit_png_keeps_its_level(tmp_path):
    path = tmp_path / "flat16.png"
    Image.fromarray(np.full((6, 6), 32896, dtype=np.uint16)).save(path)  # mid-level of the 16-bit range
    image = np.asarray(th.render(str(path), th.Overlay(), size=60))
    assert image[30, 30].tolist() == [128, 128, 128]
