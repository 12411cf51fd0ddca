"""Agreement statistics against sklearn, statsmodels and the krippendorff package, and on known answers."""

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import aggregate_raters
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from sda2.analysis import agreement as ag


def simulated(accuracies, n=400, k=5, missing=0.3, seed=0):
    """(ratings matrix with string labels and NaN gaps, true labels): labeler i is right with accuracy[i]."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    columns = {}
    for i, accuracy in enumerate(accuracies):
        wrong = (truth + rng.integers(1, k, n)) % k
        labels = np.where(rng.random(n) < accuracy, truth, wrong).astype(str).astype(object)
        labels[rng.random(n) < missing] = np.nan
        columns[f"r{i}"] = labels
    return pd.DataFrame(columns, index=[f"s{j}" for j in range(n)]), truth.astype(str)


def records(ratings: pd.DataFrame) -> pd.DataFrame:
    """The annotation records (one row per rating) behind a ratings matrix."""
    long = ratings.rename_axis("sample_id").reset_index().melt("sample_id", var_name="annotator", value_name="label")
    return long.dropna(subset=["label"]).reset_index(drop=True)


def as_numbers(ratings: pd.DataFrame) -> np.ndarray:
    """Raters x units floats (NaN missing), the layout of krippendorff.alpha."""
    return ratings.apply(pd.to_numeric).T.to_numpy(dtype=float)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pairwise_kappa_matches_sklearn(seed):
    ratings, _ = simulated([0.9, 0.7, 0.5], seed=seed)
    pairs = ag.pairwise_kappa(ratings)
    assert len(pairs) == 3
    for row in pairs.itertuples():
        both = ratings[[row.annotator_a, row.annotator_b]].dropna()
        assert row.samples == len(both)
        assert row.kappa == pytest.approx(cohen_kappa_score(both.iloc[:, 0], both.iloc[:, 1]), abs=1e-12)
        assert row.observed == pytest.approx((both.iloc[:, 0] == both.iloc[:, 1]).mean())
    assert ag.cohen_kappa(ratings["r0"], ratings["r1"]) == pytest.approx(pairs.loc[0, "kappa"])


def test_kappa_matrix_is_symmetric_with_unit_diagonal():
    ratings, _ = simulated([0.9, 0.8, 0.6, 0.4], seed=3)
    matrix = ag.kappa_matrix(ag.pairwise_kappa(ratings))
    assert list(matrix.index) == ["r0", "r1", "r2", "r3"]
    np.testing.assert_allclose(matrix.to_numpy(), matrix.to_numpy().T)
    assert (np.diag(matrix) == 1).all()
    assert matrix.loc["r0", "r1"] > matrix.loc["r2", "r3"]  # better labelers agree more


def test_fleiss_matches_statsmodels_on_complete_ratings():
    ratings, _ = simulated([0.9, 0.8, 0.7, 0.6], missing=0.0, seed=4)
    result = ag.fleiss_kappa(ratings)
    table, _ = aggregate_raters(ratings.to_numpy(dtype=str))
    assert result.kappa == pytest.approx(sm_fleiss(table, method="fleiss"), abs=1e-12)
    assert (result.samples, result.raters_per_sample, result.excluded) == (len(ratings), 4, 0)


def test_fleiss_uses_the_most_common_rating_count():
    ratings, _ = simulated([0.9, 0.8, 0.7, 0.6], missing=0.25, seed=5)
    counts = ratings.notna().sum(axis=1)
    modal = counts[counts >= 2].value_counts().idxmax()
    subset = ratings[counts == modal]
    rows = [row.dropna().to_numpy(dtype=str) for _, row in subset.iterrows()]
    table, _ = aggregate_raters(np.array(rows))
    result = ag.fleiss_kappa(ratings)
    assert result.raters_per_sample == modal
    assert result.samples == len(subset)
    assert result.excluded == int(((counts >= 2) & (counts != modal)).sum())
    assert result.kappa == pytest.approx(sm_fleiss(table, method="fleiss"), abs=1e-12)


def test_fleiss_known_answer():
    """Fleiss (1971) as reproduced on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa = 0.210."""
    counts = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
              [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    ratings = pd.DataFrame([np.repeat([f"c{j}" for j in range(5)], row) for row in counts])
    assert ag.fleiss_kappa(ratings).kappa == pytest.approx(0.2099, abs=5e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_matches_krippendorff_with_missing_ratings(seed):
    ratings, _ = simulated([0.95, 0.8, 0.6, 0.5, 0.3], missing=0.45, seed=seed)
    expected = krippendorff.alpha(reliability_data=as_numbers(ratings), level_of_measurement="nominal")
    assert ag.krippendorff_alpha(ratings) == pytest.approx(expected, abs=1e-12)


def test_alpha_known_answer():
    """Krippendorff (2011), 'Computing Krippendorff's alpha-reliability', nominal example: alpha = 0.743."""
    nan = np.nan
    data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
            [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan]]
    ratings = pd.DataFrame(np.array(data, dtype=object).T).map(lambda v: v if pd.isna(v) else str(int(v)))
    assert ag.krippendorff_alpha(ratings) == pytest.approx(0.743, abs=5e-4)


def test_perfect_agreement_is_one_and_chance_is_zero():
    labels = np.array(list("abcab" * 20), dtype=object)
    perfect = pd.DataFrame({"x": labels, "y": labels, "z": labels})
    assert ag.pairwise_kappa(perfect)["kappa"].tolist() == [1.0, 1.0, 1.0]
    assert ag.fleiss_kappa(perfect).kappa == pytest.approx(1.0)
    assert ag.krippendorff_alpha(perfect) == pytest.approx(1.0)
    assert (ag.per_class_agreement(perfect)["specific_agreement"] == 1).all()
    assert ag.landis_koch(1.0) == "almost perfect"
    rng = np.random.default_rng(7)
    chance = pd.DataFrame(rng.integers(0, 4, (5000, 3)).astype(str))
    assert abs(ag.fleiss_kappa(chance).kappa) < 0.03
    assert abs(ag.krippendorff_alpha(chance)) < 0.03
    assert ag.landis_koch(-0.2) == "poor" and ag.landis_koch(0.5) == "moderate"


def test_one_label_only_is_undefined_not_an_error():
    same = pd.DataFrame({"x": ["a"] * 5, "y": ["a"] * 5})
    assert np.isnan(ag.krippendorff_alpha(same)) and np.isnan(ag.fleiss_kappa(same).kappa)
    assert ag.landis_koch(ag.krippendorff_alpha(same)) == "undefined"
    nobody = pd.DataFrame({"x": ["a", None], "y": [None, "b"]})  # no sample rated twice
    assert np.isnan(ag.krippendorff_alpha(nobody)) and ag.fleiss_kappa(nobody).samples == 0
    assert ag.pairwise_kappa(nobody).empty


def test_specific_agreement_known_answer_and_per_class_kappa_matches_statsmodels():
    # two labelers: (a, a), (a, b), (b, b): for 'a' 2 agreeing choices out of 3 → 2·1 / (2·1 + 1) = 2/3
    ratings = pd.DataFrame({"x": ["a", "a", "b"], "y": ["a", "b", "b"]})
    table = ag.per_class_agreement(ratings).set_index("label")
    assert table.loc["a", "specific_agreement"] == pytest.approx(2 / 3)
    assert table.loc["a", "given"] == 3 and table.loc["a", "samples"] == 2
    sim, _ = simulated([0.9, 0.8, 0.6], missing=0.0, seed=8)
    per_class = ag.per_class_agreement(sim).set_index("label")
    for label in per_class.index:
        n = (sim == label).sum(axis=1).to_numpy()
        expected = sm_fleiss(np.stack([n, 3 - n], axis=1), method="fleiss")
        assert per_class.loc[label, "kappa"] == pytest.approx(expected, abs=1e-12)


def test_multilabel_per_tag_agreement():
    ratings = pd.DataFrame({"x": ["cat|dog", "cat", "dog"], "y": ["cat", "cat|dog", "dog"]})
    whole = ag.pairwise_kappa(ratings)
    assert whole.loc[0, "observed"] == pytest.approx(1 / 3)  # exact tag sets agree on one sample of three
    per_tag = ag.per_class_agreement(ratings, multilabel=True).set_index("label")
    assert set(per_tag.index) == {"cat", "dog"}
    assert per_tag.loc["cat", "specific_agreement"] == pytest.approx(1.0)  # both said cat whenever one did
    assert per_tag.loc["dog", "specific_agreement"] == pytest.approx(2 * 1 / (2 * 1 + 2))  # 1 pair, 2 lone


def test_latest_answer_counts_and_bad_records_say_how_to_fix():
    frame = pd.DataFrame({"sample_id": ["s", "s", "s"], "annotator": ["x", "x", "y"], "label": ["a", "b", "b"],
                          "created_at": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    assert ag.ratings_matrix(frame).loc["s"].tolist() == ["b", "b"]
    assert ag.ratings_matrix(frame.iloc[::-1]).loc["s"].tolist() == ["b", "b"]  # order of rows does not matter
    with pytest.raises(ValueError, match="annotations_frame"):
        ag.ratings_matrix(frame.drop(columns="label"))


def test_leave_one_out_consensus():
    ratings = pd.DataFrame({"x": ["a", "a", "a"], "y": ["a", "b", "a"], "z": ["a", "c", None]},
                           index=["s1", "s2", "s3"])
    loo = ag.leave_one_out(ratings).set_index(["sample_id", "annotator"])
    assert loo.loc[("s1", "x"), "agrees"] == 1.0
    assert pd.isna(loo.loc[("s2", "x"), "consensus"]) and np.isnan(loo.loc[("s2", "x"), "agrees"])  # y, z tie
    assert loo.loc[("s3", "y"), "consensus"] == "a"  # the only other labeler
    per_labeler = ag.labeler_agreement(ratings).set_index("annotator")
    assert per_labeler.loc["x", "labels"] == 3 and per_labeler.loc["x", "compared"] == 2
    assert per_labeler.loc["x", "agreement"] == 1.0
    assert (per_labeler.loc["z", "compared"], per_labeler.loc["z", "agreement"]) == (1, 1.0)  # s2: x, y tie


def test_weighted_vote_recovers_accuracies():
    accuracies = [0.95, 0.75, 0.55, 0.55]
    ratings, truth = simulated(accuracies, n=1500, k=4, missing=0.2, seed=9)
    vote = ag.weighted_vote(ratings)
    np.testing.assert_allclose(vote.accuracy.to_numpy(), accuracies, atol=0.04)
    assert np.allclose(vote.posterior.sum(axis=1), 1)
    estimated = ag.labeler_agreement(ratings, vote).set_index("annotator")["estimated_accuracy"]
    assert estimated.to_dict() == vote.accuracy.to_dict()


def test_weighted_vote_trusts_one_good_labeler_over_weak_ones():
    ratings, truth = simulated([0.95, 0.5, 0.5, 0.5, 0.5], n=1500, k=3, missing=0.2, seed=9)
    samples = ag.consensus(ratings)
    assert (samples["weighted"] == truth).mean() > (samples["majority"] == truth).mean() + 0.04


def test_model_probabilities_sharpen_the_weighted_vote():
    ratings, truth = simulated([0.7, 0.6], n=800, k=4, missing=0.0, seed=10)
    rng = np.random.default_rng(11)
    logits = rng.normal(0, 1, (len(truth), 4))
    logits[np.arange(len(truth)), truth.astype(int)] += 2.5  # a model right about 85 % of the time
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    model = pd.DataFrame(probs, index=ratings.index, columns=[str(c) for c in range(4)])
    plain = ag.consensus(ratings)
    with_model = ag.consensus(ratings, ag.weighted_vote(ratings, probabilities=model))
    assert (with_model["weighted"] == truth).mean() > (plain["weighted"] == truth).mean() + 0.05
    with pytest.raises(ValueError, match="NaN"):
        ag.weighted_vote(ratings, probabilities=model.assign(**{"0": np.nan}))


def test_consensus_ties_and_adjudication_order():
    ratings = pd.DataFrame({"good": ["a", "b", "c", "a"], "bad": ["a", "c", "a", "b"], "ugly": ["a", "b", None, "c"]},
                           index=["agree", "two_to_one", "tie", "all_differ"])
    samples = ag.consensus(ratings).set_index("sample_id")
    assert samples.loc["agree", "agreement"] == 1.0 and not samples.loc["agree", "tie"]
    assert samples.loc["two_to_one", "majority"] == "b"
    assert samples.loc["two_to_one", "pairwise_agreement"] == pytest.approx(1 / 3)
    assert samples.loc["tie", "tie"] and samples.loc["tie", "majority"] == samples.loc["tie", "weighted"]
    assert samples.loc["two_to_one", "votes"] == "b: good, ugly · c: bad"
    queue = ag.adjudication_queue(samples.reset_index())
    assert queue["sample_id"].tolist()[0] == "all_differ"
    assert "agree" not in queue["sample_id"].tolist()
    assert set(queue["sample_id"]) == {"all_differ", "tie", "two_to_one"}


def test_records_round_trip_through_the_matrix():
    ratings, _ = simulated([0.9, 0.8], n=50, seed=12)
    rebuilt = ag.ratings_matrix(records(ratings)).reindex(index=ratings.index, columns=ratings.columns)
    assert rebuilt.fillna("-").to_numpy().tolist() == ratings.fillna("-").to_numpy().tolist()
