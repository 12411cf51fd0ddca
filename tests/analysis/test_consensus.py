"""Consensus from crowd answers: our sparse EM (prior, gold) and crowd-kit's methods, on answers with known truth."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sda2
from sda2.analysis.consensus import aggregate_answers

CIFAR = Path(__file__).resolve().parents[3] / "shared" / "data" / "cifar10n" / "labels.csv.gz"


def simulated(accuracies, n=600, k=4, seed=0, per_item=None):
    """(answers, truth): each worker answers every item (or ``per_item`` random workers), right with their accuracy,
    otherwise a uniformly random wrong class."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, n)
    rows = []
    for i in range(n):
        workers = range(len(accuracies)) if per_item is None else rng.choice(len(accuracies), per_item, replace=False)
        for w in workers:
            label = truth[i] if rng.random() < accuracies[w] else (truth[i] + rng.integers(1, k)) % k
            rows.append((f"item{i}", f"w{w}", f"c{label}"))
    answers = pd.DataFrame(rows, columns=["item", "worker", "label"])
    return answers, pd.Series([f"c{t}" for t in truth], index=[f"item{i}" for i in range(n)])


def accuracy(result, truth):
    return float((result.labels == truth.reindex(result.labels.index)).mean())


def test_reliable_worker_outweighs_spammers_and_accuracies_are_recovered():
    accuracies = [0.95, 0.8, 0.65, 0.25, 0.25]  # two spammers at chance
    answers, truth = simulated(accuracies, n=800, k=4, seed=1)
    ours = aggregate_answers(answers)
    majority = aggregate_answers(answers, method="majority")
    assert ours.method == "sda2" and majority.method == "majority"
    assert accuracy(ours, truth) > accuracy(majority, truth) + 0.05
    assert accuracy(ours, truth) > 0.93
    np.testing.assert_allclose(ours.worker_accuracy.loc[[f"w{i}" for i in range(5)]], accuracies, atol=0.03)
    assert ours.worker_accuracy.idxmax() == "w0"
    assert np.allclose(ours.posteriors.sum(axis=1), 1)
    assert (ours.confidence == ours.posteriors.max(axis=1)).all()
    assert list(ours.posteriors.columns) == ["c0", "c1", "c2", "c3"]


def test_gold_anchor_fixes_a_flipped_item_and_pins_the_worker():
    # two workers agree on "dog" for item x, a third says "cat"; gold says x is a cat
    answers = pd.DataFrame({"item": ["x", "x", "x", "y", "y", "y"], "worker": ["a", "b", "c", "a", "b", "c"],
                            "label": ["dog", "dog", "cat", "cat", "cat", "cat"]})
    plain = aggregate_answers(answers)
    assert plain.labels["x"] == "dog"
    anchored = aggregate_answers(answers, gold=pd.Series({"x": "cat"}))
    assert anchored.labels["x"] == "cat" and anchored.confidence["x"] == 1.0
    # c was right on the gold item (credited in full), a and b wrong on it (no credit); y counts for all three
    assert anchored.worker_accuracy["c"] > 0.9 and plain.worker_accuracy["c"] < 0.6
    assert anchored.worker_accuracy["a"] == pytest.approx(anchored.confidence["y"] / 2)
    assert anchored.worker_accuracy["a"] < plain.worker_accuracy["a"]
    assert anchored.info["gold"] == 1


def test_gold_pins_the_worker_estimates():
    answers, truth = simulated([0.6, 0.55, 0.5, 0.45], n=600, k=3, seed=4)
    realised = (answers["label"] == truth.reindex(answers["item"]).to_numpy()).groupby(answers["worker"]).mean()
    gold = truth.iloc[::4]
    plain = aggregate_answers(answers)
    anchored = aggregate_answers(answers, gold=gold)
    assert (anchored.labels.loc[gold.index] == gold).all() and (anchored.confidence.loc[gold.index] == 1).all()
    error = lambda result: float((result.worker_accuracy - realised).abs().mean())  # noqa: E731
    assert error(anchored) < error(plain)


def test_model_prior_breaks_a_tie():
    answers = pd.DataFrame({"item": ["t", "t"], "worker": ["a", "b"], "label": ["cat", "dog"]})
    for favoured in ("cat", "dog"):
        probs = pd.DataFrame({"cat": [0.8 if favoured == "cat" else 0.2], "dog": [0.2 if favoured == "cat" else 0.8]},
                             index=["t"])
        result = aggregate_answers(answers, probabilities=probs, prior_weight=1.0)
        assert result.labels["t"] == favoured and result.confidence["t"] > 0.5
        assert result.info["prior"] and result.info["prior_weight"] == 1.0


def test_model_prior_sharpens_a_noisy_crowd_and_its_weight_is_fitted():
    answers, truth = simulated([0.65, 0.6, 0.55], n=900, k=4, seed=7)
    rng = np.random.default_rng(8)
    logits = rng.normal(0, 1, (len(truth), 4))
    logits[np.arange(len(truth)), [int(t[1]) for t in truth]] += 2.0
    probs = pd.DataFrame(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), index=truth.index,
                         columns=["c0", "c1", "c2", "c3"])
    plain = aggregate_answers(answers)
    with_prior = aggregate_answers(answers, probabilities=probs)
    assert accuracy(with_prior, truth) > accuracy(plain, truth) + 0.04
    assert 0.05 <= with_prior.info["prior_weight"] <= 4
    overconfident = aggregate_answers(answers, probabilities=probs ** 4 / (probs ** 4).sum(axis=1).to_numpy()[:, None])
    assert overconfident.info["prior_weight"] < with_prior.info["prior_weight"]  # tempered back


def test_bad_input_names_the_fix():
    good = pd.DataFrame({"item": [1], "worker": ["a"], "label": ["cat"]})
    with pytest.raises(ValueError, match="lack the column.*rename"):
        aggregate_answers(pd.DataFrame({"sample_id": [1], "annotator": ["a"], "label": ["cat"]}))
    with pytest.raises(ValueError, match="no rows"):
        aggregate_answers(good.iloc[:0])
    with pytest.raises(ValueError, match="not among the classes.*Fix"):
        aggregate_answers(good, probabilities=pd.DataFrame({"dog": [1.0]}, index=[1]))
    with pytest.raises(ValueError, match="NaN"):
        aggregate_answers(good, probabilities=pd.DataFrame({"cat": [np.nan]}, index=[1]))
    with pytest.raises(ValueError, match="Gold label"):
        aggregate_answers(good, gold=pd.Series({1: "bird"}))
    with pytest.raises(ValueError, match="Unknown consensus method"):
        aggregate_answers(good, method="best")
    with pytest.raises(ValueError, match="crowd-kit.*method='sda2'"):
        aggregate_answers(good, method="dawid_skene", gold=pd.Series({1: "cat"}))
    with pytest.raises(ValueError, match="answer_weight must be.*Fix"):
        aggregate_answers(good, answer_weight=1.5)
    with pytest.raises(ValueError, match="answer_weight applies to method='sda2' only"):
        aggregate_answers(good, method="majority", answer_weight=1.0)


@pytest.mark.parametrize("method", ["majority", "dawid_skene", "one_coin", "mace"])
def test_crowdkit_methods_return_the_same_shape(method):
    answers, truth = simulated([0.9, 0.8, 0.7], n=150, k=3, seed=2)
    result = aggregate_answers(answers, method=method)
    assert result.method == method and len(result.labels) == 150
    assert accuracy(result, truth) > 0.85
    assert np.allclose(result.posteriors.sum(axis=1), 1)
    assert set(result.worker_accuracy.index) == {"w0", "w1", "w2"}


def test_agrees_with_crowdkit_dawid_skene_on_real_cifar10n_answers():
    table = pd.read_csv(CIFAR, nrows=3000)
    answers = pd.concat([pd.DataFrame({"item": table["index"], "worker": table[f"worker{j}"],
                                       "label": table[f"random_label{j}"]}) for j in (1, 2, 3)], ignore_index=True)
    ours = aggregate_answers(answers)
    theirs = aggregate_answers(answers, method="dawid_skene")
    assert (ours.labels == theirs.labels).mean() > 0.93  # the same answer on all but the disputed items
    clean = table.set_index("index")["clean_label"]
    assert accuracy(ours, clean) >= accuracy(theirs, clean) - 0.005
    assert accuracy(ours, clean) > 0.88


def test_sparse_inside_45k_answers_in_small_memory():
    import tracemalloc

    answers, _ = simulated([0.8] * 500, n=3000, k=10, seed=3, per_item=3)
    big = pd.concat([answers.assign(item=answers["item"] + f"_{r}") for r in range(5)], ignore_index=True)
    tracemalloc.start()
    result = aggregate_answers(big)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(result.labels) == 15000
    assert peak < 100 * 2 ** 20  # one dense items x workers x classes array alone: 15000*500*10*8 B = 600 MB


def test_notebook_api_exposes_aggregation():
    answers, truth = simulated([0.9, 0.8, 0.7], n=50, k=3, seed=5)
    assert accuracy(sda2.aggregate_answers(answers), truth) > 0.85


def test_held_out_score_predicts_each_answer_from_the_others():
    from sda2.analysis.consensus import em_fit, encode_answers, held_out_log_likelihood

    answers, _ = simulated([0.9, 0.7, 0.6, 0.8], n=40, k=3, seed=11, per_item=3)
    enc = encode_answers(answers)
    for weight in (1.0, 0.7):
        fit = em_fit(enc, answer_weight=weight)
        # brute force: for each answer, the item's posterior from the class shares and the OTHER answers only
        class_prior = np.log((fit.posterior.sum(0) + 1.0) / (len(enc.items) + 3))
        expected = []
        for a in range(len(enc.item)):
            others = np.flatnonzero((enc.item == enc.item[a]) & (np.arange(len(enc.item)) != a))
            log_post = class_prior + weight * fit.log_like[others].sum(0)
            post = np.exp(log_post - log_post.max())
            post /= post.sum()
            expected.append(np.log((post * np.exp(fit.log_like[a])).sum()))
        assert held_out_log_likelihood(enc, fit) == pytest.approx(np.mean(expected), rel=1e-3)


def test_answer_weight_is_fitted_on_enough_items_and_kept_at_one_on_few():
    from sda2.analysis.consensus import MIN_SHARED_ITEMS, fit_answer_weight, encode_answers

    # independent errors: answers do not vouch for each other, so the fit keeps them at full weight
    answers, truth = simulated(list(np.random.default_rng(0).uniform(0.6, 0.95, 30)), n=1500, k=5, seed=0,
                               per_item=3)
    result = aggregate_answers(answers)
    assert result.info["answer_weight"] == 1.0
    assert set(result.info["answer_weight_scores"]) == {1.0, 0.85, 0.7, 0.55}
    assert max(result.info["answer_weight_scores"], key=result.info["answer_weight_scores"].get) == 1.0
    # a fixed weight is used as given, and the posterior softens with it
    soft = aggregate_answers(answers, answer_weight=0.55)
    assert soft.info["answer_weight"] == 0.55 and soft.info["answer_weight_scores"] == {}
    assert soft.confidence.mean() < result.confidence.mean()
    # too few shared items to tell: weight 1 without a search (the score is noise on a handful of items)
    few, _ = simulated([0.9, 0.8, 0.7], n=MIN_SHARED_ITEMS - 1, k=3, seed=4)
    weight, scores, _ = fit_answer_weight(encode_answers(few))
    assert weight == 1.0 and scores == {}


def test_answer_weight_with_a_model_prior_on_real_cifar10n_answers():
    """A prior that repeats the real answers: the fit lowers their weight and the posterior is less over-confident."""
    table = pd.read_csv(CIFAR, nrows=3000)
    answers = pd.concat([pd.DataFrame({"item": table["index"], "worker": table[f"worker{j}"],
                                       "label": table[f"random_label{j}"]}) for j in (1, 2, 3)], ignore_index=True)
    clean = table.set_index("index")["clean_label"]
    classes = sorted(clean.unique())
    # a model that errs where the crowd errs: the crowd's own vote shares, smoothed (out-of-item it is not,
    # so this is a stress test of over-counting, not a fair prior)
    shares = pd.crosstab(answers["item"], answers["label"]).reindex(columns=classes, fill_value=0) + 0.5
    prior = shares.div(shares.sum(axis=1), axis=0)
    fitted = aggregate_answers(answers, probabilities=prior)
    independent = aggregate_answers(answers, probabilities=prior, answer_weight=1.0)
    assert fitted.info["answer_weight"] in (1.0, 0.85, 0.7, 0.55)
    assert fitted.info["answer_weight"] < 1.0  # the prior repeats the answers: counting both in full over-counts
    assert accuracy(fitted, clean) >= accuracy(independent, clean) - 0.002

    def overconfidence(result):
        return float(result.confidence.mean()) - accuracy(result, clean)

    assert 0 < overconfidence(fitted) < overconfidence(independent) - 0.01
