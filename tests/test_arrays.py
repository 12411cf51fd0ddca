"""Per-sample arrays stored beside the database, aligned by sample id."""

import numpy as np
import pytest

from sda2 import arrays


def test_save_load_aligns_by_id_and_fills_missing_with_nan():
    arrays.save("t_arrays", "emb", ["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2), model="x")
    ids, values = arrays.load("t_arrays", "emb", ids=["c", "z", "a"])
    assert list(ids) == ["c", "z", "a"]
    assert values[0].tolist() == [4, 5] and np.isnan(values[1]).all() and values[2].tolist() == [0, 1]
    assert arrays.info("t_arrays", "emb")["model"] == "x"
    assert arrays.list_keys("t_arrays") == ["emb"]
    arrays.delete("t_arrays")
    assert arrays.list_keys("t_arrays") == []


def test_misaligned_rows_are_refused():
    with pytest.raises(ValueError, match="aligned"):
        arrays.save("t_arrays", "emb", ["a"], np.zeros((2, 3)))


def test_missing_array_names_the_fix():
    with pytest.raises(KeyError, match="compute it first"):
        arrays.load("t_arrays", "nothing")
