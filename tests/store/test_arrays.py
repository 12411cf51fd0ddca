"""Per-sample arrays stored beside the database, aligned by sample id, in a folder keyed by the dataset's id."""

import numpy as np
import pytest

import fiftyone as fo
from sda2 import arrays, config, store


@pytest.fixture
def bare(dataset_name):
    """An empty persistent dataset (arrays need a dataset to belong to)."""
    fo.Dataset(dataset_name, persistent=True)
    return store.open_dataset(dataset_name)


def test_save_load_aligns_by_id_and_fills_missing_with_nan(bare):
    arrays.save(bare, "emb", ["a", "b", "c"], np.arange(6, dtype=np.float32).reshape(3, 2), model="x")
    ids, values = arrays.load(bare.name, "emb", ids=["c", "z", "a"])  # by the dataset or by its name
    assert list(ids) == ["c", "z", "a"]
    assert values[0].tolist() == [4, 5] and np.isnan(values[1]).all() and values[2].tolist() == [0, 1]
    assert arrays.info(bare, "emb")["model"] == "x"
    assert arrays.list_keys(bare.limit(1)) == ["emb"]  # a view finds its dataset's arrays
    assert arrays.folder(bare) == config.arrays_dir(store.dataset_id(bare))
    arrays.delete(bare)
    assert arrays.list_keys(bare) == []


def test_arrays_follow_the_dataset_through_a_rename(bare, dataset_name):
    arrays.save(bare, "emb", ["a"], np.ones((1, 2)))
    bare.name = dataset_name + "_renamed"
    try:
        assert arrays.list_keys(dataset_name + "_renamed") == ["emb"]
        assert store.dataset_id(dataset_name + "_renamed") == str(bare._doc.id)
    finally:
        bare.name = dataset_name


def test_a_folder_under_the_old_name_is_moved_to_the_id_on_first_use(bare, dataset_name):
    legacy = config.arrays_dir(store.dataset_id(bare)).parent / dataset_name
    legacy.mkdir(parents=True)
    np.save(legacy / "emb.npy", np.zeros((1, 2)))
    np.save(legacy / "emb.ids.npy", np.array(["a"]))
    (legacy / "emb.json").write_text('{"key": "emb"}')
    assert arrays.list_keys(bare) == ["emb"]
    assert not legacy.exists() and arrays.folder(bare).is_dir()


def test_misaligned_rows_are_refused(bare):
    with pytest.raises(ValueError, match="aligned"):
        arrays.save(bare, "emb", ["a"], np.zeros((2, 3)))


def test_missing_array_names_the_fix(bare):
    with pytest.raises(KeyError, match="compute it first"):
        arrays.load(bare, "nothing")


def test_an_unknown_dataset_or_a_path_is_refused():
    with pytest.raises(KeyError, match="No dataset named 't_no_such_dataset'"):
        arrays.list_keys("t_no_such_dataset")
    with pytest.raises(ValueError, match="not an id"):
        config.arrays_dir("../sda2")
    with pytest.raises(ValueError, match="Invalid array key"):
        arrays.exists("t_no_such_dataset", "../x")
