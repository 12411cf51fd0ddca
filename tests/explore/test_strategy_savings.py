"""Which selection strategy saves labels on a stored dataset: the replay from the API and the Selection page."""

from __future__ import annotations

from pathlib import Path

import pytest

import sda2
from tests.apptest import open_page
from tests.conftest import private_copy
from tests.explore.test_selection_dataset import pixel_features

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "selection.py")


@pytest.fixture(scope="module")
def replay_ds(digits):
    """400 digits with their pixels stored as embeddings."""
    name = "t_strategy_savings"
    if name in sda2.list_datasets():
        sda2.delete_dataset(name)
    ds = private_copy(digits, name, limit=400)
    pixel_features(ds)
    yield ds
    sda2.delete_dataset(name)


def test_replay_scores_every_strategy_at_every_budget(replay_ds):
    frame = sda2.strategy_savings(replay_ds.name, strategies_to_try=("random", "diversity"), seeds=(0,))
    assert set(frame["strategy"]) == {"random", "diversity"}
    assert frame.groupby("strategy")["budget"].nunique().tolist() == [5, 5]
    assert frame["accuracy"].between(0, 1).all() and frame.groupby("strategy")["accuracy"].max().min() > 0.8


def test_replay_names_missing_embeddings_and_the_fix(digits):
    with pytest.raises(KeyError, match="has no embeddings 'nope'.*Fix: compute them"):
        sda2.strategy_savings("digits", embeddings_key="nope")


def test_the_selection_page_replays_and_plots(replay_ds):
    at = open_page(PAGE, replay_ds.name, "erin")
    at.button(key="sel_replay").click().run(timeout=240)
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) >= 1 and len(at.dataframe) >= 1
