"""Progress you can see: the embeddings callback, the app's bar with counts, ETA and an estimate, and the map page."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from sda2 import arrays
from sda2.compute.embeddings import compute_embeddings
from sda2.ui import progress
from sda2.ui.context import Context
from tests.conftest import private_copy

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "embedding_map.py")


@pytest.fixture
def small(digits, dataset_name):
    """A private 64-sample copy of digits, without embeddings."""
    return private_copy(digits, dataset_name, 64)


def test_embedding_callback_gets_monotone_fractions_ending_at_one_with_an_eta(small):
    calls = []
    compute_embeddings(small, model="pixels", batch_size=16, progress=lambda f, eta, text: calls.append((f, eta, text)))
    fractions = [f for f, _, _ in calls]
    assert len(calls) == 4  # 64 samples in batches of 16
    assert fractions == sorted(fractions) and fractions[-1] == 1.0 and fractions[0] == 0.25
    assert all(eta is not None and eta >= 0 for _, eta, _ in calls) and calls[-1][1] == 0.0
    assert calls[1][2] == "2 of 4 batches · 32 of 64 images"


def bar_script(dataset_name: str) -> None:
    """An app fragment: pixel embeddings under the app's progress bar, its texts kept for the test."""
    import streamlit as st

    from sda2.compute.embeddings import compute_embeddings
    from sda2.ui.progress import ProgressBar

    bar = ProgressBar("pixel embeddings test", 64)
    compute_embeddings(dataset_name, model="pixels", batch_size=16, progress=bar)
    st.session_state["texts"] = bar.texts
    st.session_state["estimate"] = bar.first_estimate


def test_app_bar_shows_counts_eta_and_an_estimate(small):
    at = AppTest.from_function(bar_script, args=(small.name,), default_timeout=60).run()
    assert not at.exception, at.exception
    texts = at.session_state["texts"]
    assert texts[0].startswith("1 of 4 batches · 16 of 64 images · about ") and texts[0].endswith(" s left")
    assert texts[-1] == "4 of 4 batches · 64 of 64 images"
    assert at.session_state["estimate"].endswith(" for 64 images on this machine")
    assert at.get("progress")[0].proto.value == 100
    assert at.caption[0].value.startswith("Estimate: about ")


def test_map_page_button_estimates_before_starting_and_says_how_long(digits, dataset_name):
    tiny = private_copy(digits, dataset_name, 3)  # 3 points: a PCA layout, so no UMAP compile in this test
    progress.remember_rate("pixel embeddings", 0.5)  # as a first run on this server would have measured
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["context"] = Context(tiny.name, "ground_truth", "classification", None, None, "tester")
    at.run()
    at.button(key="map_compute").click().run()
    assert not at.exception, at.exception
    note = next(c.value for c in at.caption if c.value.startswith("Pixel embeddings of 3 images took "))
    assert "(estimated: about 2 s for 3 images on this machine)" in note and "; the map took " in note
    assert arrays.exists(tiny.name, "embeddings_pixels") and arrays.exists(tiny.name, "map_embeddings_pixels")


def test_notebook_call_shows_tqdm_without_a_callback(small, capsys):
    compute_embeddings(small, model="pixels", batch_size=16)
    assert f"Embedding {small.name} (pixels)" in capsys.readouterr().err
