"""The embedded default dataset."""

from sda2 import store


def test_digits_loads_all_images_with_labels_and_split(digits):
    assert len(digits) == 1797
    assert store.classes(digits) == [str(i) for i in range(10)]
    counts = digits.count_values("split")
    assert counts == {"train": 1437, "test": 360}
    assert sum(digits.count_values("ground_truth.label").values()) == 1797
    sample = digits.first()
    assert sample.metadata.width == 8 and sample.metadata.height == 8
    assert store.label_kind(digits, "ground_truth") == "classification"
