"""Fine-tuned out-of-fold predictions on real images (60 digits, 2 folds, 1 epoch, 32 px): out of fold, resumable,
progress with an ETA, recorded on the dataset."""

import json
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from sda2.compute.finetune import FinetuneProgress, finetune_predictions, recommended_model
from sda2 import runs
from sda2.compute.embeddings import compute_embeddings
from sda2.compute.predictions import compute_predictions, prediction_record
from tests.conftest import private_copy

TINY = {"epochs": 1, "frozen_blocks": 13, "input_size": 32, "device": "cpu"}


@pytest.fixture
def sixty(digits, dataset_name):
    """The first 60 digits, a private copy."""
    return private_copy(digits, dataset_name, 60)


def test_each_sample_is_predicted_by_a_model_that_never_saw_it(sixty):
    reports: list[FinetuneProgress] = []
    result = finetune_predictions(sixty, folds=2, progress=reports.append, **TINY)
    assert result.ids == sixty.values("id") and result.proba.shape == (60, 10)
    np.testing.assert_allclose(result.proba.sum(axis=1), 1, atol=1e-6)
    assert (result.folds, result.epochs, result.input_size, result.frozen_blocks) == (2, 1, 32, 13)
    plan = json.loads((Path(result.plan_dir) / "plan.json").read_text())
    fold_of = np.array(plan["fold_of"])
    assert sorted(set(fold_of.tolist())) == [0, 1]  # every sample is held out by exactly one fold
    for k in (0, 1):
        saved = np.load(Path(result.plan_dir) / f"fold_{k}.npz")
        assert sorted(saved["rows"].tolist()) == np.flatnonzero(fold_of == k).tolist()  # never trained on them
        np.testing.assert_allclose(softmax(saved["logits"], axis=1), result.proba[saved["rows"]], atol=1e-5)
    # the progress callback got fractions up to 1 and, after the first timed step, an ETA in seconds
    fractions = [r.fraction for r in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(r.eta_s is not None and "s left" in r.text for r in reports)


def test_a_second_run_reuses_every_finished_fold(sixty):
    first = finetune_predictions(sixty, folds=2, progress=False, **TINY)
    again = finetune_predictions(sixty, folds=2, progress=False, **TINY)
    assert (first.folds_reused, again.folds_reused) == (0, 2) and again.plan_dir == first.plan_dir
    np.testing.assert_array_equal(again.proba, first.proba)


def test_two_cached_views_are_a_plan_of_their_own_and_bad_counts_name_the_fix(sixty):
    four = finetune_predictions(sixty, folds=2, progress=False, **TINY)
    two = finetune_predictions(sixty, folds=2, progress=False, views=2, **TINY)
    assert two.plan_dir != four.plan_dir and two.folds_reused == 0  # not the 4-view folds
    assert json.loads((Path(two.plan_dir) / "plan.json").read_text())["plan"]["views"] == 2
    assert json.loads((Path(four.plan_dir) / "plan.json").read_text())["plan"]["views"] == 4
    np.testing.assert_allclose(two.proba.sum(axis=1), 1, atol=1e-6)
    with pytest.raises(ValueError, match="views must be 2 to 8.*Fix"):
        finetune_predictions(sixty, folds=2, progress=False, views=1, **TINY)


def test_compute_predictions_records_which_model_ran(sixty):
    report = compute_predictions(sixty, model="finetune", folds=2, progress=False, finetune_options=TINY)
    record = prediction_record(sixty)
    assert report.model == "finetune" and "fine-tuned EfficientNet-Lite0 (32 px" in report.summary()
    assert record["pipeline"] == "finetune" and record["model"] == "finetune_effnet_lite0"
    assert (record["folds"], record["input_size"], record["epochs"]) == (2, 32, 1)
    assert record["accuracy"] == pytest.approx(report.accuracy) and record["seconds"] > 0
    assert record["chosen_because"] == "chosen explicitly" and record["calibration"]["labeled"] == 60
    params = sixty.get_run_info(runs.array_run_key("probabilities")).config.params  # the dataset's run record
    assert (params["pipeline"], params["model"], params["folds"], params["input_size"]) == \
        ("finetune", "finetune_effnet_lite0", 2, 32)
    assert params["seconds"] == record["seconds"] and params["accuracy"] == pytest.approx(report.accuracy)


def test_no_model_argument_runs_the_recommended_pipeline_and_says_so(sixty):
    report = compute_predictions(sixty)
    pipeline, why = recommended_model()
    assert report.model == pipeline and why in report.summary()
    assert prediction_record(sixty)["chosen_because"] == why


def test_an_unknown_model_names_the_choices(sixty):
    with pytest.raises(ValueError, match="frozen, finetune, fused"):
        compute_predictions(sixty, model="resnet")


def test_fused_model_combines_the_views_and_is_recorded(sixty):
    compute_embeddings(sixty, model="pixels", progress=False)
    report = compute_predictions(sixty, model="fused", folds=2, progress=False, finetune_options=TINY)
    record = prediction_record(sixty)
    assert report.model == "fused" and "fused with a classifier and kNN on 'embeddings_pixels'" in report.summary()
    assert record["pipeline"] == "fused" and record["embeddings"] == "embeddings_pixels" and record["epochs"] == 1
    assert report.samples == 60 and record["calibration"]["labeled"] == 60
