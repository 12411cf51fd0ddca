"""Checks shared by the analysis functions, done once at their boundary with messages that name the fix."""

from __future__ import annotations

import numpy as np


def embedding_matrix(embeddings, fix: str) -> np.ndarray:
    """``embeddings`` as a C-contiguous float32 (samples x dimensions) array; NaN/inf rows refused with ``fix``."""
    X = np.ascontiguousarray(embeddings, dtype=np.float32)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"embeddings must be a non-empty 2-D array (samples x dimensions); got shape {X.shape}.")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(f"{int(bad.sum()):,} embedding rows hold NaN or infinite values (first row "
                         f"{int(np.argmax(bad))}). Fix: {fix}.")
    return X
