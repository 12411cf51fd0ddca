"""The Duplicates page, headless, on hand-written duplicate fields: groups, keep one, keep all, exclusion."""

from __future__ import annotations


import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page

from sda2 import store
from sda2.curation import queries

PAGE = "app_pages/duplicates.py"


@pytest.fixture
def groups(digits, dataset_name):
    """A digits copy with two groups: 0 = samples 0,1,2 (crosses splits), 1 = samples 5,6. Returns name, ids."""
    ds = digits.clone(dataset_name, persistent=True)
    ids = ds.values("id")
    n = len(ids)
    group = [-1] * n
    for i in (0, 1, 2):
        group[i] = 0
    for i in (5, 6):
        group[i] = 1
    ds.set_values("duplicate_group", group)
    ds.set_values("is_duplicate", [i in (1, 2, 6) for i in range(n)])
    ds.set_values("duplicate_similarity", [0.99 if g == 0 else 0.97 if g == 1 else 0.0 for g in group])
    ds.set_values("is_exact_duplicate", [i in (0, 1) for i in range(n)])
    ds.set_values("crosses_split", [g == 0 for g in group])
    return dataset_name, ids


def _open(name: str) -> AppTest:
    return open_page(PAGE, name, annotator="erin")


def test_groups_render_cross_split_first(groups):
    name, ids = groups
    at = _open(name)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["Groups"], metrics["To review"], metrics["Cross-split groups"]) == ("2", "2", "1")
    texts = [m.value for m in at.markdown]
    first = next(i for i, t in enumerate(texts) if t.startswith("**Group 0**"))
    second = next(i for i, t in enumerate(texts) if t.startswith("**Group 1**"))
    assert first < second and "crosses splits" in texts[first]
    assert len(at.get("image")) == 5


def test_keep_one_excludes_the_rest_as_a_mark(groups):
    name, ids = groups
    at = _open(name)
    at.button(key=f"group_0_keep_{ids[2]}").click().run()
    assert not at.exception
    ds = store.open_dataset(name)
    assert len(ds) == len(ids)  # nothing deleted
    assert sorted(ds.match_tags("excluded").values("id")) == sorted([ids[0], ids[1]])
    assert len(queries.training_view(ds)) == len(ids) - 2
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["To review"], metrics["Excluded"]) == ("1", "2")


def test_keep_all_and_exclude_rest(groups):
    name, ids = groups
    at = _open(name)
    at.button(key="group_0_keep_all").click().run()
    at.button(key="group_1_exclude_rest").click().run()
    ds = store.open_dataset(name)
    assert ds.match_tags("excluded").values("id") == [ids[6]]
    assert set(ds.match_tags("reviewed").values("id")) == {ids[i] for i in (0, 1, 2, 5, 6)}
    assert any("No duplicate groups left" in s.value for s in at.success)


def test_empty_state_without_duplicate_fields(digits, dataset_name):
    digits.clone(dataset_name, persistent=True)
    at = _open(dataset_name)
    assert any("No duplicates" in i.value for i in at.info)


def test_each_group_says_how_far_to_trust_it(groups):
    name, ids = groups
    ds = store.open_dataset(name)
    similarity = ds.values("duplicate_similarity")
    similarity[5] = similarity[6] = 0.86  # group 1: below the sure level, kept by the ratio test only
    ds.set_values("duplicate_similarity", similarity)
    at = _open(name)
    captions = [c.value for c in at.caption]
    assert "Identical files or a sure copy." in captions  # group 0: exact files at 0.99
    likely = [c for c in captions if c.startswith("Likely copy, check by eye: similarity 0.860")]
    assert len(likely) == 1 and "6 pairs of different digits per 10,000 on MNIST" in likely[0]
