"""Is one image an edited copy of another? A pure-numeric pair verifier (numpy + opencv).

Both images are reduced to a small grayscale square (``SIZE`` x ``SIZE``). The second is aligned onto the
first by the enhanced correlation coefficient (opencv's ``findTransformECC``, an affine motion started
from a few rotations / scales around the phase-correlation shift) and the result is projected onto the
nearest similarity transform (rotation + uniform scale + shift, no shear: look-alikes must not be bent
into each other); transforms beyond ``MAX_ANGLE`` degrees or outside ``SCALE_RANGE`` are refused.
The aligned pair is then compared inside a central disc (the part a crop or a rotation keeps), after a
least-squares brightness / contrast fit, allowing for a blur on either side:

    similarity = 1 - max over local windows of (residual energy / image energy)

A true copy leaves a small, even residual (noise, JPEG, resampling); two different images that look
alike (two handwritten "1"s, two photos of a similar scene) differ strongly somewhere, and the worst window
catches it. A pair is a copy when ``similarity >= THRESHOLD``; both are in [0, 1]. Among many candidates
(find_duplicates) the verdict is relative instead: sda2.analysis.copy_groups.distinct_matches keeps a pair at
>= 0.95, or >= 0.8 when its residual (1 - similarity) is at most half that to both images' next-best candidate
(a ratio test). On their own, look-alike "1"s reach 0.935 here, as close as a rotated copy (0.88-0.98): only
the other images they resemble as much tell them apart (bench_duplicates, MNIST: 6 false pairs per 10k).
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 32
THRESHOLD = 0.86
MAX_ANGLE = 12.0
SCALE_RANGE = (0.8, 1.25)
ALIGN_BLUR = 1.0
REFINE_BLUR = 0.5
REFINE_STEPS = 12
# Pairs whose blurred correlation after the first (unscaled) alignment is below this are not searched further.
# On the bench candidates (MNIST / CIFAR-10N, 10k + 900 edited copies) every true copy was >= 0.81; 0.75 ends
# the search early for 3 % of the MNIST and 70 % of the CIFAR look-alike candidates (was 0.6: 2 % and 47 %).
HOPELESS = 0.75
DISC = 0.42  # radius of the compared disc, as a share of the side
WINDOW = 1.0  # sigma of the local windows, in pixels of the working square
BLURS = ((0.0, 0.0), (0.8, 0.0), (1.2, 0.0), (0.0, 0.8), (0.0, 1.2), (0.6, 0.6))
SCALES = (1.0, 0.9, 0.95, 1.05, 1.11)
_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 40, 1e-4)
_GRAY = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _disc(size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.hypot(yy - (size - 1) / 2, xx - (size - 1) / 2) <= DISC * size


_MASK = _disc(SIZE)
_MASK_U8 = _MASK.astype(np.uint8)


def prepare(image, size: int = SIZE) -> np.ndarray:
    """A grayscale float32 size x size copy of an image (H x W, H x W x 3 or H x W x 4 array, 0-255)."""
    a = np.asarray(image)
    if a.ndim == 3:
        a = a[..., :3].astype(np.float32) @ _GRAY if a.shape[2] >= 3 else a[..., 0]
    if a.ndim != 2 or min(a.shape) < 2:
        raise ValueError(f"An image must be a 2-D grayscale or H x W x 3 colour array of at least 2 x 2 pixels; "
                         f"got shape {np.shape(image)}. Fix: pass the decoded pixels (e.g. np.asarray(PIL image)).")
    a = a.astype(np.float32)
    if a.shape == (size, size):
        return a
    interpolation = cv2.INTER_AREA if max(a.shape) > size else cv2.INTER_LINEAR
    return cv2.resize(a, (size, size), interpolation=interpolation)


def _blurred(a: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(a, (0, 0), sigma) if sigma else a


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    x, y = a[_MASK], b[_MASK]
    x = x - x.mean()
    y = y - y.mean()
    d = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum()) / d if d > 0 else 0.0


def _similarity_transform(warp: np.ndarray) -> tuple[np.ndarray, float, float]:
    """The nearest rotation + uniform scale + shift to an affine warp, with its scale and angle (degrees)."""
    u, s, vt = np.linalg.svd(warp[:, :2].astype(np.float64))
    rotation = u @ vt
    if np.linalg.det(rotation) < 0:  # a reflection is no edit we look for
        return warp, 0.0, 180.0
    out = warp.copy()
    out[:, :2] = rotation * s.mean()
    return out.astype(np.float32), float(s.mean()), float(np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0])))


def _start(angle: float, scale: float, shift) -> np.ndarray:
    c = (SIZE - 1) / 2
    warp = cv2.getRotationMatrix2D((c, c), angle, scale).astype(np.float32)
    warp[:, 2] += shift
    return warp


def _local_score(a: np.ndarray, b: np.ndarray) -> float:
    """1 - the largest local share of residual energy after a brightness / contrast fit (inside the disc)."""
    x, y = a[_MASK].astype(np.float64), b[_MASK].astype(np.float64)
    x = x - x.mean()
    y = y - y.mean()
    energy = (x * x).mean()
    if energy <= 1e-6:
        return 1.0 if (y * y).mean() <= 1e-6 else 0.0
    gain = (x * y).sum() / max((y * y).sum(), 1e-12)
    residual = np.zeros((SIZE, SIZE), dtype=np.float32)
    residual[_MASK] = (x - gain * y) ** 2
    weight = cv2.GaussianBlur(_MASK.astype(np.float32), (0, 0), WINDOW)
    local = cv2.GaussianBlur(residual, (0, 0), WINDOW) / np.maximum(weight, 1e-3)
    return float(np.clip(1.0 - local[_MASK].max() / energy, 0.0, 1.0)) if gain > 0 else 0.0


def _score(a: np.ndarray, b: np.ndarray) -> float:
    return max(_local_score(_blurred(a, sa), _blurred(b, sb)) for sa, sb in BLURS)


def _scaling(scale: float) -> np.ndarray:
    c = (SIZE - 1) / 2
    return np.array([[scale, 0, c * (1 - scale)], [0, scale, c * (1 - scale)]], dtype=np.float32)


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2 x 3 warp x -> outer(inner(x))."""
    m = np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]])
    return m[:2].astype(np.float32)


def _align(a_blur: np.ndarray, b_blur: np.ndarray, angle: float, scale: float, shift):
    """Rigid ECC of ``b`` pre-scaled by ``scale`` onto ``a``; the full warp and its blurred correlation, or None."""
    pre = _scaling(scale)
    b_scaled = _warped(b_blur, pre)
    warp = _start(angle, 1.0, np.asarray(shift) / scale)
    try:
        _, warp = cv2.findTransformECC(a_blur, b_scaled, warp, cv2.MOTION_EUCLIDEAN, _CRITERIA, _MASK_U8, 1)
    except cv2.error:
        return None
    if abs(np.degrees(np.arctan2(warp[1, 0], warp[0, 0]))) > MAX_ANGLE:
        return None
    full = _compose(pre, warp)
    if np.abs(full[:, 2] - _scaling(scale)[:, 2]).max() > 0.25 * SIZE:
        return None
    return full, _ncc(a_blur, _warped(b_blur, full))


def _warped(b: np.ndarray, warp: np.ndarray) -> np.ndarray:
    return cv2.warpAffine(b, warp, (SIZE, SIZE), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _refine(a: np.ndarray, b: np.ndarray, warp: np.ndarray, iterations: int = REFINE_STEPS) -> np.ndarray:
    """Gauss-Newton on the four similarity parameters (with a gain and offset) from ``warp``, on lightly blurred images."""
    a, b = _blurred(a, REFINE_BLUR), _blurred(b, REFINE_BLUR)
    gx = cv2.Sobel(b, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(b, cv2.CV_32F, 0, 1, ksize=3) / 8
    c = (SIZE - 1) / 2
    ys, xs = np.nonzero(_MASK)
    x, y = xs - c, ys - c
    target = a[_MASK].astype(np.float64)
    p0, p1 = float(warp[0, 0]), float(warp[1, 0])
    u = float(warp[0, 2]) - c + p0 * c - p1 * c
    v = float(warp[1, 2]) - c + p1 * c + p0 * c

    def matrix(p0, p1, u, v):
        return np.array([[p0, -p1, c + u - p0 * c + p1 * c], [p1, p0, c + v - p1 * c - p0 * c]], dtype=np.float32)

    start = matrix(p0, p1, u, v)
    stack = np.dstack([b, gx, gy])  # one warp moves the image and both gradients
    target_c = target - target.mean()
    for _ in range(iterations):
        warped = _warped(stack, matrix(p0, p1, u, v))[_MASK].astype(np.float64)
        bw, wx, wy = warped[:, 0], warped[:, 1], warped[:, 2]
        bw_c = bw - bw.mean()
        var = float(bw_c @ bw_c)
        gain = float(bw_c @ target_c) / var if var > 1e-12 else 0.0
        offset = target.mean() - gain * bw.mean()
        jac = np.empty((len(bw), 6))
        jac[:, 0] = gain * (wx * x + wy * y)
        jac[:, 1] = gain * (-wx * y + wy * x)
        jac[:, 2] = gain * wx
        jac[:, 3] = gain * wy
        jac[:, 4] = bw
        jac[:, 5] = 1.0
        residual = target - (gain * bw + offset)
        step = _solve(jac, residual)
        p0, p1, u, v = p0 + step[0], p1 + step[1], u + step[2], v + step[3]
        if np.abs(step[:2]).max() < 1e-4 and np.abs(step[2:4]).max() < 1e-2:
            break
    scale = float(np.hypot(p0, p1))
    angle = float(np.degrees(np.arctan2(p1, p0)))
    if not (SCALE_RANGE[0] <= scale <= SCALE_RANGE[1] and abs(angle) <= MAX_ANGLE and max(abs(u), abs(v)) <= 0.25 * SIZE):
        return start
    return matrix(p0, p1, u, v)


def _solve(jac: np.ndarray, residual: np.ndarray) -> np.ndarray:
    """The least-squares step by the normal equations (6 x 6), falling back to lstsq when they are singular."""
    try:
        step = np.linalg.solve(jac.T @ jac, jac.T @ residual)
        if np.isfinite(step).all():
            return step
    except np.linalg.LinAlgError:
        pass
    return np.linalg.lstsq(jac, residual, rcond=None)[0]


def _refined_scale(found: dict) -> float | None:
    """The peak of a parabola through the best grid scale and its neighbours (log scale), if inside them."""
    scales = sorted(found)
    i = int(np.argmax([found[s] for s in scales]))
    if i == 0 or i == len(scales) - 1:
        return None
    x = np.log(scales[i - 1:i + 2])
    y = np.array([found[s] for s in scales[i - 1:i + 2]])
    a, b, _ = np.polyfit(x, y, 2)
    if a >= 0:
        return None
    peak = -b / (2 * a)
    return float(np.exp(peak)) if x[0] < peak < x[2] else None


_HANNING = cv2.createHanningWindow((SIZE, SIZE), cv2.CV_32F)


def _shift(a_blur: np.ndarray, b_blur: np.ndarray) -> tuple[float, float]:
    # windowed: a shifted copy's black edge band otherwise dominates the spectrum (CIFAR 2-px shifts: 5 px off)
    # (on copies: with a window opencv multiplies its inputs in place when no padding is needed)
    (dx, dy), _ = cv2.phaseCorrelate(a_blur.copy(), b_blur.copy(), _HANNING)
    return (dx, dy) if max(abs(dx), abs(dy)) <= 0.25 * SIZE else (0.0, 0.0)


def align(a, b, hopeless: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Both images prepared, ``b`` warped onto ``a`` by the best allowed similarity transform (unchanged if none)."""
    hopeless = HOPELESS if hopeless is None else hopeless
    a, b = prepare(a), prepare(b)
    a_blur, b_blur = _blurred(a, ALIGN_BLUR), _blurred(b, ALIGN_BLUR)
    shift = _shift(a_blur, b_blur)
    best_cc, best_warp = _ncc(a_blur, b_blur), None
    found = {}
    for scale in SCALES:
        result = _align(a_blur, b_blur, 0.0, scale, shift)
        found[scale] = result[1] if result is not None else -1.0
        if result is not None and result[1] > best_cc:
            best_cc, best_warp = result[1], result[0]
        if scale == SCALES[0] and found[scale] < hopeless:
            return a, b if best_warp is None else _warped(b, best_warp)  # far apart: no further search
    refined = _refined_scale(found)
    if refined is not None:
        result = _align(a_blur, b_blur, 0.0, refined, shift)
        if result is not None and result[1] > best_cc:
            best_cc, best_warp = result[1], result[0]
    if best_warp is None:
        best_warp = _scaling(1.0)
    refined = _refine(a, b, best_warp)
    if _ncc(a_blur, _warped(b_blur, refined)) >= best_cc:
        best_warp = refined
    return a, _warped(b, best_warp)


def pair_similarity(a, b) -> float:
    """How surely ``b`` is an edited copy of ``a`` (crop, small rotation / scale, shift, blur, noise, contrast, JPEG), in [0, 1]."""
    return _score(*align(a, b))


def is_copy(a, b, threshold: float = THRESHOLD) -> tuple[bool, float]:
    """(verdict, similarity): whether ``b`` is an edited copy of ``a`` by :func:`pair_similarity` ≥ threshold."""
    similarity = pair_similarity(a, b)
    return similarity >= threshold, similarity
