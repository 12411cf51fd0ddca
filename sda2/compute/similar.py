"""Find similar samples: the k nearest neighbours of one sample on stored embeddings (cosine, faiss).

The embeddings come from :mod:`sda2.arrays` (any key :func:`sda2.compute.embeddings.embedding_keys` lists).
An exact inner-product index over the L2-normalised rows is built once per dataset, key and stored version
and kept in memory (a few of them), so a second search on the same embeddings answers in milliseconds.
The answer is a DataFrame of sample ids, best first, that any page can show as a grid and act on like any
other selection.
"""

from __future__ import annotations

from collections import OrderedDict

import faiss
import numpy as np
import pandas as pd
from bson import ObjectId

from sda2 import arrays, store
from sda2.compute.embeddings import embedding_keys

MAX_INDEXES = 4
_indexes: OrderedDict = OrderedDict()  # (dataset id, key, created_at, shape) -> (ids, index)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k is how many similar samples to return: a whole number >= 1, not {k!r}. "
                         "Fix: pass k=24, for example.")
    return int(k)


def _index(dataset, key: str):
    """(ids, faiss index of the normalised rows) of embeddings ``key``; rebuilt when the stored array changes."""
    record = arrays.info(dataset, key)
    cache_key = (store.dataset_id(dataset), key, record.get("created_at"), tuple(record.get("shape", ())))
    if cache_key in _indexes:
        _indexes.move_to_end(cache_key)
        return _indexes[cache_key]
    ids, values = arrays.load(dataset, key)
    X = np.ascontiguousarray(np.asarray(values, dtype=np.float32))
    if X.ndim != 2:
        raise ValueError(f"Array {key!r} is not a matrix of embeddings (shape {X.shape}). Fix: pick an embeddings "
                         "key from sda2.embedding_keys(dataset).")
    keep = np.isfinite(X).all(axis=1) & X.any(axis=1)  # NaN rows and zero rows have no direction
    ids, X = np.asarray(ids)[keep], X[keep].copy()
    faiss.normalize_L2(X)
    index = faiss.IndexFlatIP(X.shape[1])
    index.add(X)
    _indexes[cache_key] = (ids, index, X)
    while len(_indexes) > MAX_INDEXES:
        _indexes.popitem(last=False)
    return _indexes[cache_key]


def find_similar(dataset_or_view, sample_id: str, k: int = 24, embeddings_key: str | None = None) -> pd.DataFrame:
    """The ``k`` samples most similar to ``sample_id`` (cosine on embeddings ``embeddings_key``, default the
    best stored), best first: columns ``id``, ``similarity`` (1 = same direction) and ``rank`` (1 = nearest).

    Given a view (e.g. a split or a filter), only its samples are returned; the sample itself never is.
    """
    k = _check_k(k)
    collection = store.as_dataset(dataset_or_view)
    dataset = collection._root_dataset
    keys = embedding_keys(dataset)
    if embeddings_key is None:
        if not keys:
            raise KeyError(f"No embeddings stored for {dataset.name!r}: find similar needs them. Fix: compute them "
                           "(Embedding map page, or sda2.compute_embeddings(name)).")
        embeddings_key = keys[0]
    elif embeddings_key not in keys:
        raise KeyError(f"No embeddings {embeddings_key!r} for {dataset.name!r} (stored: {', '.join(keys) or 'none'}). "
                       "Fix: pick one of those, or compute them with sda2.compute_embeddings.")
    ids, index, X = _index(dataset, embeddings_key)
    row = np.flatnonzero(ids == str(sample_id))
    if not len(row):
        known = ObjectId.is_valid(str(sample_id)) and dataset._sample_collection.count_documents(
            {"_id": ObjectId(str(sample_id))}, limit=1)
        raise KeyError(f"Sample {sample_id!r} has no row in embeddings {embeddings_key!r}"
                       + (" (computed before it was added, or its image could not be read)" if known else
                          f" and is not a sample of {dataset.name!r}")
                       + ". Fix: compute the embeddings again, or pick another sample.")
    allowed = None if collection is dataset else set(collection.values("id"))
    want = k + 1 if allowed is None else min(len(ids), max(4 * (k + 1), 256))
    while True:
        scores, rows = index.search(X[row[:1]], min(want, len(ids)))
        found = [(str(ids[r]), float(s)) for r, s in zip(rows[0], scores[0])
                 if r >= 0 and ids[r] != str(sample_id) and (allowed is None or ids[r] in allowed)]
        if len(found) >= k or want >= len(ids):
            break
        want = min(len(ids), want * 4)
    found = found[:k]
    return pd.DataFrame({"id": [f[0] for f in found], "similarity": [f[1] for f in found],
                         "rank": np.arange(1, len(found) + 1)})

