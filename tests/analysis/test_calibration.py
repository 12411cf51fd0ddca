"""Calibration against known answers: a known temperature is recovered, ECE and bins, trust, ranking parity."""

import numpy as np
import pytest
from cleanlab.rank import get_label_quality_scores as cl_quality
from scipy.special import softmax

from sda2.analysis.calibration import (MIN_TEMPERATURE, apply_temperature, calibrate_out_of_fold, expected_calibration_error,
                                       fit_temperature, label_error_chance, reliability_bins, trust_summary,
                                       wilson_interval)
from sda2.analysis.label_issues import find_label_issues, label_quality_scores


def calibrated_sample(n=6000, k=5, seed=0):
    """Probabilities and labels drawn from them: calibrated by construction."""
    rng = np.random.default_rng(seed)
    probs = softmax(rng.normal(0, 2.0, size=(n, k)), axis=1)
    labels = np.array([rng.choice(k, p=p) for p in probs])
    return probs, labels


@pytest.mark.parametrize("true_t", [0.4, 2.5])
def test_known_temperature_is_recovered(true_t):
    probs, labels = calibrated_sample()
    distorted = apply_temperature(probs, true_t)  # overconfident (T < 1) or underconfident (T > 1) by true_t
    fitted = fit_temperature(distorted, labels)
    assert fitted == pytest.approx(1 / true_t, rel=0.08)
    assert expected_calibration_error(distorted, labels) > 0.08
    assert expected_calibration_error(apply_temperature(distorted, fitted), labels) < 0.03
    assert (apply_temperature(distorted, fitted).argmax(1) == distorted.argmax(1)).all()


def test_nested_split_calibrates_out_of_fold_and_records_figures():
    probs, labels = calibrated_sample(seed=1)
    over = apply_temperature(probs, 0.5)
    labels = labels.copy()
    labels[:100] = -1  # unlabeled rows get the temperature of all labeled ones
    out, cal = calibrate_out_of_fold(over, labels, classes=list("abcde"))
    assert len(cal.temperatures) == 2 and all(t == pytest.approx(2.0, rel=0.1) for t in cal.temperatures)
    assert cal.ece_before > 0.08 > 0.03 > cal.ece_after
    assert cal.accuracy == pytest.approx((over[100:].argmax(1) == labels[100:]).mean())
    assert set(cal.per_class_accuracy) == set("abcde") and cal.labeled == len(labels) - 100
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-9)
    assert out[:100].max(axis=1).mean() < over[:100].max(axis=1).mean()  # softened too


def test_sharpening_is_capped_and_both_temperatures_are_recorded():
    probs, labels = calibrated_sample(seed=2)
    under = apply_temperature(probs, 2.5)  # underconfident: the free fit sharpens to T 0.4
    out, cal = calibrate_out_of_fold(under, labels)
    assert all(t == pytest.approx(0.4, rel=0.1) for t in cal.fitted_temperatures)
    assert cal.temperatures == [MIN_TEMPERATURE, MIN_TEMPERATURE] and 0.4 < MIN_TEMPERATURE < 1
    np.testing.assert_allclose(out, apply_temperature(under, MIN_TEMPERATURE))
    assert cal.as_dict()["fitted_temperatures"] == cal.fitted_temperatures
    free, uncapped = calibrate_out_of_fold(under, labels, min_temperature=0.0)
    assert uncapped.temperatures == uncapped.fitted_temperatures == cal.fitted_temperatures
    assert free.max(1).mean() > out.max(1).mean()  # the cap keeps it less sure than the free fit
    assert uncapped.ece_after < 0.03 < cal.ece_after < cal.ece_before  # a cost here, still better than none


def test_tiny_data_fits_no_temperature():
    probs, labels = calibrated_sample(n=30)
    out, cal = calibrate_out_of_fold(probs, labels)
    assert cal.temperatures == [1.0] and np.allclose(out, probs)


def test_reliability_bins_and_ece_by_hand():
    probs = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35], [0.65, 0.35]])
    labels = np.array([0, 1, 0, 0])
    bins = reliability_bins(probs, labels, n_bins=10)
    assert bins.counts.sum() == 4 and bins.counts[9] == 2 and bins.counts[6] == 2
    assert bins.accuracy[9] == 0.5 and bins.accuracy[6] == 1.0
    # gaps: |0.5 - 0.95| and |1 - 0.65|, equal weights
    assert expected_calibration_error(probs, labels, n_bins=10) == pytest.approx((0.45 + 0.35) / 2)


def test_wilson_interval_known_value():
    low, high = wilson_interval(81, 100)
    assert (round(low, 4), round(high, 4)) == (0.7222, 0.8749)


def test_trust_summary_counts_expected_real_errors_and_says_when_weak():
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.2, 0.8]])
    labels = np.array([0, 0, 0, 1])
    flagged = np.array([False, True, True, False])
    trust = trust_summary(probs, labels, flagged)
    # the confident joint of these four rows finds no noise (T = identity), so no flag is expected to be real
    assert trust.expected_real_errors == pytest.approx(0.0)
    assert trust.flagged == 2 and trust.worth_reviewing == 0 and trust.estimated_precision == pytest.approx(0.0)
    assert trust.accuracy == 0.75 and trust.weak and "too weak to trust these flags" in trust.verdict
    strong = trust_summary(np.array([[0.99, 0.01]] * 200), np.zeros(200, dtype=int), np.zeros(200, dtype=bool))
    assert not strong.weak and strong.accuracy == 1.0
    underconfident = trust_summary(np.array([[0.6, 0.4]] * 200), np.zeros(200, dtype=int), np.zeros(200, dtype=bool))
    assert not underconfident.weak and "confidences are off by 0.40" in underconfident.verdict


def test_confidence_weighted_entropy_matches_cleanlab():
    probs, labels = calibrated_sample(n=2000, k=7, seed=3)
    probs[0] = np.eye(7)[(labels[0] + 1) % 7]  # a zero probability on the given label
    ours = label_quality_scores(labels, probs, method="confidence_weighted_entropy")
    np.testing.assert_allclose(ours, cl_quality(labels, probs, method="confidence_weighted_entropy"), rtol=1e-9)


def test_label_error_chance_inverts_the_noise_known_answer():
    # q = T pi with T = [[.8, .2], [.2, .8]]: q = (.3, .7) gives pi = (1/6, 5/6), so P(label 0 right) = (1/6 * .8) / .3
    noise = np.array([[0.8, 0.2], [0.2, 0.8]])
    chance = label_error_chance(np.array([[0.3, 0.7]]), np.array([0]), noise)
    np.testing.assert_allclose(chance, [1 - (0.8 / 6) / 0.3])


def noisy_posterior_sample(n=20000, k=4, seed=0):
    """Clean posteriors pi, true classes drawn from them, given labels through a known noise matrix T (20 %
    uniform), and the exact noisy-label posterior q = T pi a model trained on the given labels would learn."""
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet([0.4] * k, n)
    noise = np.full((k, k), 0.2 / (k - 1))
    np.fill_diagonal(noise, 0.8)
    true = (pi.cumsum(1) > rng.random((n, 1))).argmax(1)
    given = (noise[:, true].T.cumsum(1) > rng.random((n, 1))).argmax(1)
    return pi @ noise.T, given, true, noise


def test_estimated_share_of_real_errors_among_flags_against_the_truth():
    q, given, true, noise = noisy_posterior_sample()
    flagged = find_label_issues(given, q)["is_label_issue"].to_numpy()
    measured = float((given != true)[flagged].mean())  # 0.477
    assert label_error_chance(q, given, noise)[flagged].mean() == pytest.approx(measured, abs=0.03)
    naive = float((1 - q[np.arange(len(given)), given])[flagged].mean())  # 0.833, the former estimate
    trust = trust_summary(q, given, flagged)  # the confident joint's noise rates: 0.795
    assert measured < trust.estimated_precision < naive
    assert trust.expected_real_errors == pytest.approx(label_error_chance(q, given)[flagged].sum())
