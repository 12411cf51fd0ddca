"""Image-quality checks on real photos (scikit-learn's sample images, cropped) with injected defects of known
truth: blur, darkness, brightness, odd sizes and shapes, grayscale; measures checked against cleanvision's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from cleanvision.issue_managers.image_property import calc_aspect_ratio, calc_percentile_brightness
from PIL import Image, ImageFilter
from sklearn.datasets import load_sample_images

import sda2
from sda2 import store
from sda2.analysis.image_quality import CHECKS, PROPERTIES, image_properties, quality_scores
from sda2.compute.image_quality import file_properties, image_properties_frame
from sda2.ingest import import_folder
from tests.conftest import private_copy

CROP = 96
# defect -> the checks that must flag it (and only it)
TRUTH = {"blur": "blurry", "dark": "dark", "light": "light", "tiny": "odd_size", "big": "odd_size",
         "strip": "odd_aspect_ratio", "gray_l": "grayscale", "gray_rgb": "grayscale"}


def crops() -> list[Image.Image]:
    """Well-exposed, detailed 96 x 96 colour crops of scikit-learn's sample photo china.jpg (mean gray level
    between 30 % and 70 %, spread at least 15 %: no sky). flower.jpg is left out: its petals are out of focus,
    so its crops are rightly softer than the rest (see benchmarks/bench_image_quality.py for real photos)."""
    out = []
    for photo in load_sample_images().images[:1]:
        h, w = photo.shape[:2]
        for y in np.linspace(0, h - CROP, 7).astype(int):
            for x in np.linspace(0, w - CROP, 9).astype(int):
                crop = photo[y:y + CROP, x:x + CROP]
                gray = crop.mean(axis=-1) / 255
                if 0.3 <= gray.mean() <= 0.7 and gray.std() >= 0.15:
                    out.append(Image.fromarray(crop))
    return out


def injected(image: Image.Image, defect: str, photo: np.ndarray) -> Image.Image:
    """``image`` with ``defect`` (``photo`` supplies a larger crop for "big" and "strip")."""
    pixels = np.asarray(image, dtype=np.float64)
    if defect == "blur":
        return image.filter(ImageFilter.GaussianBlur(2.5))
    if defect == "dark":
        return Image.fromarray((pixels * 0.2).astype(np.uint8))
    if defect == "light":
        return Image.fromarray((255 - (255 - pixels) * 0.2).astype(np.uint8))
    if defect == "tiny":
        return image.resize((24, 24), Image.BOX)
    if defect == "big":
        return Image.fromarray(photo[:384, :384])
    if defect == "strip":
        return Image.fromarray(photo[100:100 + CROP, :3 * CROP])
    if defect == "gray_l":
        return image.convert("L")
    return image.convert("L").convert("RGB")  # gray_rgb: gray pixels in an RGB file


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A class folder of the clean crops (class "clean") and one injected image per defect (class = defect)."""
    root = tmp_path_factory.mktemp("quality")
    images = crops()
    photo = load_sample_images().images[0]
    (root / "clean").mkdir()
    for i, image in enumerate(images):
        image.save(root / "clean" / f"{i:02d}.png")
    for j, defect in enumerate(TRUTH):
        (root / defect).mkdir()
        injected(images[2 * j + 1], defect, photo).save(root / defect / "0.png")
    return root


def _frame(folder) -> tuple[pd.DataFrame, list[str]]:
    paths = sorted(str(p) for p in folder.glob("*/*.png"))
    frame = pd.DataFrame([file_properties(p) for p in paths], index=paths)
    return frame, [p.split("/")[-2] for p in paths]


def test_measures_agree_with_cleanvision_on_real_photos(folder):
    for path in sorted(folder.glob("*/*.png")):
        with Image.open(path) as image:
            props = image_properties(np.asarray(image))
            p5, p99 = calc_percentile_brightness(image, [5, 99])
            assert props["brightness_p5"] == pytest.approx(p5, abs=1e-9)
            assert props["brightness_p99"] == pytest.approx(p99, abs=1e-9)
            assert min(props["width"] / props["height"], props["height"] / props["width"]) == pytest.approx(
                calc_aspect_ratio(image))
            assert props["entropy"] == pytest.approx(image.convert("L").entropy(), abs=1e-6)


def test_each_injected_defect_is_flagged_by_its_check_only(folder):
    properties, kinds = _frame(folder)
    scores = quality_scores(properties)
    flagged = {check: sorted(np.array(kinds)[scores[f"is_{check}_issue"].to_numpy()]) for check in CHECKS}
    expected = {check: sorted(d for d, c in TRUTH.items() if c == check) for check in CHECKS}
    assert flagged == expected
    assert scores.filter(like="_score").stack().between(0, 1).all()


def test_gray_and_small_datasets_are_not_flagged_wholesale(folder):
    """A grayscale dataset has no grayscale issue; a dataset of small images has no odd size."""
    gray = pd.DataFrame([image_properties(np.asarray(c.convert("L"))) for c in crops()])
    assert not quality_scores(gray)["is_grayscale_issue"].any()
    small = pd.DataFrame([image_properties(np.asarray(c.resize((8, 8), Image.BOX))) for c in crops()])
    assert not quality_scores(small)["is_odd_size_issue"].any()


def test_unreadable_or_flat_images_are_not_scored(tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    assert np.isnan(list(file_properties(str(broken)).values())).all()
    flat = image_properties(np.full((32, 32, 3), 128, np.uint8))
    assert np.isnan(flat["sharpness"]) and flat["chroma"] == 0
    frame = pd.DataFrame([file_properties(str(broken)), flat, *[image_properties(np.asarray(c)) for c in crops()]])
    scores = quality_scores(frame)
    assert scores.iloc[0].filter(like="_score").isna().all() and not scores.iloc[0].filter(like="is_").any()
    assert np.isnan(scores.loc[1, "blurry_score"]) and not scores.loc[1, "is_blurry_issue"]
    with pytest.raises(ValueError, match="H x W"):
        image_properties(np.zeros((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="Unknown image-quality checks"):
        quality_scores(frame, {"blury": 0.5})
    with pytest.raises(ValueError, match="lack the columns"):
        quality_scores(frame.drop(columns=["chroma"]))


def test_find_issues_writes_the_image_checks(folder, dataset_name):
    import_folder(folder, dataset_name)
    summary = sda2.find_issues(dataset_name, list(CHECKS), progress=False)
    assert (summary["status"] == "found").all()
    ds = store.open_dataset(dataset_name)
    kinds = [p.split("/")[-2] for p in ds.values("filepath")]
    for check in CHECKS:
        flagged = sorted(k for k, f in zip(kinds, ds.values(f"is_{check}_issue")) if f)
        assert flagged == sorted(d for d, c in TRUTH.items() if c == check), check
    cached = image_properties_frame(ds, progress=False)  # read again: from the cache, same rows
    assert list(cached.index) == ds.values("id") and list(cached.columns) == list(PROPERTIES)
    assert np.allclose(cached["width"], [Image.open(p).size[0] for p in ds.values("filepath")])


def test_digits_have_no_grayscale_or_size_issues(digits, dataset_name):
    private_copy(digits, dataset_name, 100)
    summary = sda2.find_issues(dataset_name, ["grayscale", "odd_size", "odd_aspect_ratio", "dark"], progress=False)
    assert summary["issues"].tolist() == [0, 0, 0, 0]
