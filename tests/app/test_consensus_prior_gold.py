"""The Quality page's consensus with the model's stored probabilities as prior and gold answers as anchors:
a checkbox each, the figures before and after (AppTest on answers and arrays in the real database)."""

import numpy as np
import pytest

from sda2 import arrays
from sda2.curation import annotations, gold
from sda2.explore import consensus_inputs
from tests.apptest import open_page

PAGE = "app_pages/quality.py"


@pytest.fixture
def answered(digits, dataset_name):
    """30 digits answered by x (right) and z (wrong on the first 12), stored probabilities on the truth for all
    30, and the first 3 marked gold."""
    ds = digits.limit(30).clone(dataset_name, persistent=True)
    ids, truth = ds.values("id"), ds.values("ground_truth.label")
    for name, wrong in (("x", 0), ("z", 12)):
        for i, (sid, label) in enumerate(zip(ids, truth)):
            annotations.record_annotation(ds, sid, name, str((int(label) + 1) % 10) if i < wrong else label, 2.0,
                                          queue="batch-1")
    probs = np.full((len(ids), 10), 0.01)
    probs[np.arange(len(ids)), [int(t) for t in truth]] = 0.91
    arrays.save(ds, "probabilities", ids, probs, classes=[str(c) for c in range(10)])
    gold.set_gold(ds, {sid: truth[i] for i, sid in enumerate(ids[:3])}, "lead")
    return ds, ids, truth


def _box(at, start: str):
    return next(c for c in at.checkbox if c.label.startswith(start))


def test_prior_and_gold_checkboxes_show_the_figures_before_and_after(answered):
    ds, ids, truth = answered
    prior = consensus_inputs.model_prior(ds, ids[:5])
    assert prior.shape == (5, 10) and list(prior.idxmax(axis=1)) == truth[:5]
    assert consensus_inputs.model_prior(ds, ids[:5], "no_such_field") is None
    assert consensus_inputs.gold_anchors(ds, ids[1:]).to_dict() == {ids[1]: truth[1], ids[2]: truth[2]}

    at = open_page(PAGE, ds.name, annotator="reviewer")
    assert not at.exception, at.exception
    assert not _box(at, "Model probabilities as prior").disabled
    assert _box(at, "Gold answers as anchors").label.startswith("Gold answers as anchors (3 answered")
    assert not [d for d in at.dataframe if "items ≠ answers only" in d.value.columns]  # nothing ticked: no table
    _box(at, "Model probabilities as prior").check().run()
    assert not at.exception, at.exception
    (table,) = [d.value for d in at.dataframe if "items ≠ answers only" in d.value.columns]
    assert table["consensus"].tolist() == ["answers only", "with model prior"]
    after, before = table.iloc[1], table.iloc[0]
    assert after["mean confidence"] > before["mean confidence"] and after["gold items right"] == "3 of 3"
    _box(at, "Gold answers as anchors").check().run()
    (table,) = [d.value for d in at.dataframe if "items ≠ answers only" in d.value.columns]
    assert table["consensus"].tolist() == ["answers only", "with model prior and gold"]
    assert any("sda2, model prior, gold" in c.value for c in at.caption)
    next(s for s in at.selectbox if s.label == "Consensus method").set_value("majority").run()  # crowd-kit: neither
    assert not at.exception, at.exception
    assert _box(at, "Model probabilities as prior").disabled and _box(at, "Gold answers as anchors").disabled
