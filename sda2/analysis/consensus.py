"""Consensus labels from crowd answers: crowd-kit's methods, and a sparse EM that also takes a model prior and gold.

Input is one row per answer (columns ``item``, ``worker``, ``label``). :func:`aggregate_answers` returns the label
chosen for each item, its posterior, each worker's estimated accuracy and the item x class posteriors.

Methods:

- ``"sda2"`` (ours, what ``"auto"`` picks): an EM kept sparse (answers as three index arrays; the per-iteration
  work is answers x classes, never items x workers x classes, so CIFAR-10N's 150,000 answers from 747 workers
  take tens of MB instead of 4.1 GB). Its worker model sits between one-coin and full Dawid–Skene: worker ``w``
  gives the true class ``c`` with probability ``a[w, c]`` and otherwise errs the way the whole crowd errs on
  ``c`` (a pooled class x class error matrix, so cat→dog is likelier than cat→ship). ``a[w, c]`` is shrunk
  toward the worker's overall accuracy, which is shrunk toward the crowd's: a worker with 20 answers cannot
  get a 10 x 10 confusion matrix of their own (the reason full Dawid–Skene loses to majority vote on
  CIFAR-10N). Two additions no crowd library has: ``probabilities`` (a model's out-of-fold class probabilities,
  items x classes) replace the class shares as each item's prior, and ``gold`` (item → true label) clamps
  those items' posteriors, so the known answers also pin the worker estimates.
- crowd-kit (kept library, called as is): ``"majority"``, ``"dawid_skene"``, ``"one_coin"``, ``"glad"``,
  ``"mace"`` (one restart). They take neither the prior nor gold: passing either raises. (crowd-kit 1.4.2's
  Wawa and ZeroBasedSkill fail with scikit-learn 1.9 — no ``__sklearn_tags__`` — so they are not offered.)

Why ``"auto"`` is ``"sda2"``: it is the only method that uses the prior and gold when they are given; with
answers alone it matched or beat every crowd-kit method on CIFAR-10N (``benchmarks/bench_crowd.py``), and its
shrinkage keeps workers with few answers from swinging the result, where full Dawid–Skene overfits and GLAD is
two orders of magnitude slower.

The answer weight. The EM multiplies an item's answers as if each worker erred on their own; real crowds err
together (a cat that looks like a dog fools two of three workers), and a model prior trained on the crowd's
labels errs the same way, so a posterior that counts both in full is over-confident and each answer vouches for
itself. ``answer_weight`` (an exponent on the answers' likelihood) is fitted without labels by
:func:`fit_answer_weight`: each answer is predicted from the item's other answers and the prior, and the weight
with the best held-out log-likelihood wins (1 unless a lower one gains 0.001 nats per answer; 1 below 500 items
with two or more answers, where the score is noise). On CIFAR-10N it picks 1.0 from the answers alone and 0.7
with the model prior.

``worker_accuracy`` is each worker's posterior-expected share of right answers (the mean over their answers of
the posterior of the label they gave). Measured on CIFAR-10N against the true shares (Pearson, the 638 workers
with 20+ answers; ``.venv/bin/python benchmarks/bench_crowd.py --two-backbones --finetune-prior``, all 50,000
items; consensus accuracy in brackets):

- answers alone: 0.780 (91.89 %);
- frozen Lite0 prior (80.0 % right): 0.888 at the fitted answer weight 0.7, 0.873 at weight 1 (94.44 / 94.23 %);
- frozen Lite0 + Lite2 prior (83.1 %): 0.890 (94.76 %);
- sda2's CPU fine-tuning fused with it (89.7 %; ``sda2.compute.finetune``, 160 px, 3 epochs, about 70-85 min on
  2 cores): **0.913** at weight 0.55, 0.887 at weight 1 (95.66 / 94.96 %); with 5 % gold on top 0.920 (95.91 %).

A stronger prior needs the fitted weight: counted in full beside answers that err the same way, it makes the
posterior over-confident. The true shares spread little (standard deviation 0.047) and a worker's 20-odd answers
hold few of the 40 % of items where the three answers split (57 % of the answers there are right), so the
estimate leans on the prior for those. Tried and not adopted: scoring each answer against the posterior with
that answer left out (0.712; 0.838 with the prior), a per-worker 10 x 10 confusion shrunk toward the pooled one
(0.737-0.764, and lower accuracy), no shrinkage (0.777-0.779), prior weights from 0.7 to 2 at answer weight 1
(0.836-0.857), the workers' time per batch as a covariate (its correlation with accuracy is -0.05), and
recalibrating the per-answer posteriors against the TRUE labels (isotonic, an oracle: 0.881 at weight 1).
Simulated calibrated priors of 85 / 90 / 95 % accuracy with errors on a random other class give 0.933 / 0.943 /
0.958 ("simulated_priors" in the bench): a GPU fine-tune would go further.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, sparse

COLUMNS = ("item", "worker", "label")
CROWDKIT = {"majority": "MajorityVote", "dawid_skene": "DawidSkene", "one_coin": "OneCoinDawidSkene", "glad": "GLAD",
            "mace": "MACE"}
# MACE with one restart: its default of 10 restarts takes ten times as long (about 4 min on CIFAR-10N here)
CROWDKIT_OPTIONS = {"mace": {"n_restarts": 1, "random_state": 0}}
METHODS = ("auto", "sda2", *CROWDKIT)


@dataclass(frozen=True)
class ConsensusResult:
    """Aggregated answers: the label per item, its posterior, each worker's estimated accuracy."""

    labels: pd.Series  # item -> chosen label
    confidence: pd.Series  # item -> posterior probability of the chosen label
    worker_accuracy: pd.Series  # worker -> estimated share of their answers that are right
    method: str  # the method that ran ("sda2", "dawid_skene", ...)
    posteriors: pd.DataFrame  # items x classes, rows sum to 1
    iterations: int = 0  # EM iterations (0 for methods that do not report them)
    info: dict = field(default_factory=dict)  # what went in: answers, items, workers, classes, prior, gold

    def summary(self) -> str:
        """The result in one line of plain words."""
        extra = "".join(f", {k}" for k in ("model prior", "gold") if self.info.get(k.split()[-1]))
        if self.info.get("answer_weight") not in (None, 1.0):
            extra += (f", answers weighted {self.info['answer_weight']:.2f} (they err together: each answer is "
                      "predicted better from the others with that weight)")
        return (f"{self.method}{extra}: {len(self.labels)} items from {self.info.get('answers', 0)} answers by "
                f"{len(self.worker_accuracy)} workers; mean confidence {self.confidence.mean():.3f}.")


@dataclass(frozen=True)
class EncodedAnswers:
    """Answers as integer index arrays (the sparse form every method here starts from)."""

    item: np.ndarray  # answer -> item index
    worker: np.ndarray  # answer -> worker index
    label: np.ndarray  # answer -> class index
    items: pd.Index
    workers: pd.Index
    classes: list


def check_answers(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers with missing labels dropped; ValueError naming the fix for a wrong or empty frame."""
    if not isinstance(answers, pd.DataFrame):
        raise ValueError(f"answers must be a pandas DataFrame with columns {list(COLUMNS)}, not "
                         f"{type(answers).__name__}. Fix: pd.DataFrame({{'item': ..., 'worker': ..., 'label': ...}}).")
    missing = [c for c in COLUMNS if c not in answers.columns]
    if missing:
        hint = (" (the annotation records use sample_id/annotator: rename them with "
                ".rename(columns={'sample_id': 'item', 'annotator': 'worker'}))"
                if {"sample_id", "annotator"} & set(answers.columns) else "")
        raise ValueError(f"answers lack the column(s) {missing}: one row per answer with columns {list(COLUMNS)} "
                         f"is needed{hint}.")
    frame = answers.loc[answers["label"].notna() & answers["item"].notna() & answers["worker"].notna(),
                        list(COLUMNS)]
    if frame.empty:
        raise ValueError("answers has no rows with an item, a worker and a label. Fix: pass at least one answer.")
    return frame


def encode_answers(answers: pd.DataFrame, classes=None) -> EncodedAnswers:
    """Items, workers and labels as integer codes; ``classes`` fixes the class list (labels outside it raise)."""
    frame = check_answers(answers)
    item_codes, items = pd.factorize(frame["item"], sort=True)
    worker_codes, workers = pd.factorize(frame["worker"], sort=True)
    if classes is None:
        classes = sorted(pd.unique(frame["label"]).tolist(), key=str)
    classes = list(classes)
    position = pd.Index(classes)
    label_codes = position.get_indexer(frame["label"])
    if (label_codes < 0).any():
        unknown = sorted({str(v) for v in frame["label"][label_codes < 0]})[:5]
        raise ValueError(f"Answer label(s) {unknown} are not among the classes {[str(c) for c in classes][:12]} "
                         "(the columns of probabilities). Fix: give probabilities a column per class answered, "
                         "or map the answers onto the model's class names.")
    return EncodedAnswers(item_codes.astype(np.int64), worker_codes.astype(np.int64), label_codes.astype(np.int64),
                          items, workers, classes)


def _prior_matrix(probabilities: pd.DataFrame, items: pd.Index, classes: list, floor: float) -> np.ndarray:
    """Items x classes prior from model probabilities (floored, rows renormalised; uniform for items without)."""
    if not isinstance(probabilities, pd.DataFrame):
        raise ValueError("probabilities must be a DataFrame: items as the index, one column per class. Fix: "
                         "pd.DataFrame(proba, index=items, columns=classes).")
    values = probabilities.to_numpy(dtype=float)
    if not np.isfinite(values).all() or (values < 0).any():
        raise ValueError("probabilities contain NaN, infinite or negative values. Fix: recompute the model's "
                         "out-of-fold probabilities (rows of non-negative numbers summing to 1).")
    model = probabilities.reindex(index=items, columns=classes)
    known = model.notna().all(axis=1).to_numpy()
    prior = np.clip(model.fillna(0.0).to_numpy(dtype=float), floor, None)
    prior[~known] = 1.0
    return prior / prior.sum(1, keepdims=True)


def _gold_codes(gold: pd.Series, items: pd.Index, classes: list) -> np.ndarray:
    """Item -> gold class index (-1 where there is none); ValueError for gold labels outside the classes."""
    if not isinstance(gold, pd.Series):
        raise ValueError("gold must be a pandas Series: item -> true label. Fix: pd.Series(labels, index=items).")
    gold = gold.dropna()
    codes = pd.Index(classes).get_indexer(gold.to_numpy())
    if (codes < 0).any():
        unknown = sorted({str(v) for v in gold[codes < 0]})[:5]
        raise ValueError(f"Gold label(s) {unknown} are not among the classes {[str(c) for c in classes][:12]}. "
                         "Fix: use the same class names as the answers (and the probabilities' columns).")
    out = np.full(len(items), -1, dtype=np.int64)
    rows = items.get_indexer(gold.index)
    out[rows[rows >= 0]] = codes[rows >= 0]
    return out


@dataclass(frozen=True)
class EMFit:
    """One fit of the sparse EM: the posteriors and what the leave-one-answer-out check needs."""

    posterior: np.ndarray  # items x classes, rows sum to 1
    right: np.ndarray  # answer -> posterior probability that the answer is right
    iterations: int
    log_like: np.ndarray  # answers x classes: log P(this answer | true class), at the last iteration
    log_post: np.ndarray  # items x classes: unnormalised log posterior of the last E-step
    fixed: np.ndarray  # items whose posterior gold clamps
    answer_weight: float  # the exponent the answers' likelihood had in this fit


def em_fit(enc: EncodedAnswers, prior: np.ndarray | None = None, gold: np.ndarray | None = None,
           max_iter: int = 100, tol: float = 1e-5, worker_strength: float = 4.0, class_strength: float = 10.0,
           answer_weight: float = 1.0) -> EMFit:
    """Our sparse EM (see the module doc): the posteriors, P(answer right) per answer, and what it computed.

    ``worker_strength``: pseudo-answers pulling a worker's accuracy toward the crowd's; ``class_strength``:
    pseudo-answers pulling a worker's accuracy on one class toward their overall accuracy; ``answer_weight``:
    the exponent on each item's answer likelihood (below 1 when an item's answers err together, see
    :func:`fit_answer_weight`).
    """
    n_items, n_workers, k = len(enc.items), len(enc.workers), len(enc.classes)
    i, w, l = enc.item, enc.worker, enc.label
    n_answers = len(i)
    fixed = gold >= 0 if gold is not None else np.zeros(n_items, dtype=bool)
    if k == 1:  # one class answered: nothing to decide
        return EMFit(np.ones((n_items, 1)), np.ones(n_answers), 0, np.zeros((n_answers, 1)),
                     np.zeros((n_items, 1)), fixed, answer_weight)
    by_item = sparse.csr_matrix((np.ones(n_answers), (i, np.arange(n_answers))), shape=(n_items, n_answers))
    by_worker = sparse.csr_matrix((np.ones(n_answers), (w, np.arange(n_answers))), shape=(n_workers, n_answers))
    onehot_label = sparse.csr_matrix((np.ones(n_answers), (np.arange(n_answers), l)), shape=(n_answers, k))
    clamp = np.zeros((int(fixed.sum()), k))
    if fixed.any():
        clamp[np.arange(len(clamp)), gold[fixed]] = 1.0
    # start from the (prior-weighted) vote shares
    votes = np.asarray((by_item @ onehot_label).todense())
    post = votes + 1e-3
    if prior is not None:
        post = post * prior
    post /= post.sum(1, keepdims=True)
    post[fixed] = clamp
    rows = np.arange(n_answers)
    iterations = 0
    log_like = log_post = None
    for iterations in range(1, max_iter + 1):
        # M-step: per-answer posterior of the true class
        pa = post[i]  # answers x classes
        right = pa[rows, l]
        n_w = np.asarray(by_worker.sum(1)).ravel()
        crowd = (right.sum() + 1.0) / (n_answers + 2.0)
        acc_w = (by_worker @ right + worker_strength * crowd) / (n_w + worker_strength)
        mass_wc = by_worker @ pa  # workers x classes: expected answers given true class c
        right_wc = by_worker @ (pa * (np.arange(k)[None, :] == l[:, None]))
        acc_wc = (right_wc + class_strength * acc_w[:, None]) / (mass_wc + class_strength)
        acc_wc = np.clip(acc_wc, 1e-4, 1 - 1e-4)
        confusion = np.asarray((onehot_label.T @ pa).T) + 0.5  # true x given, smoothed
        np.fill_diagonal(confusion, 0.0)
        errors = confusion / confusion.sum(1, keepdims=True)  # where the crowd's errors go, per true class
        class_prior = prior if prior is not None else ((post.sum(0) + 1.0) / (n_items + k))[None, :]
        # E-step: log P(answer | true class) summed per item
        log_like = np.log1p(-acc_wc[w]) + np.log(np.where(errors > 0, errors, 1.0)).T[l]
        log_like[rows, l] = np.log(acc_wc[w, l])
        log_post = np.log(class_prior) + answer_weight * (by_item @ log_like)
        log_post -= log_post.max(1, keepdims=True)
        new = np.exp(log_post)
        new /= new.sum(1, keepdims=True)
        new[fixed] = clamp
        change = float(np.abs(new - post).max())
        post = new
        if change < tol:
            break
    right = post[i][rows, l]
    return EMFit(post, right, iterations, log_like, log_post, fixed, answer_weight)


def held_out_log_likelihood(enc: EncodedAnswers, fit: EMFit) -> float:
    """Mean log-probability of each answer given the item's other answers (and prior) under ``fit``; gold excluded.

    The label-free score :func:`fit_answer_weight` maximises: a posterior that over-counts answers which err
    together predicts the next answer too confidently and scores lower.
    """
    keep = ~fit.fixed[enc.item]
    if not keep.any():
        return 0.0
    log_like = fit.log_like[keep]
    rest = fit.log_post[enc.item[keep]] - fit.answer_weight * log_like  # the item's posterior without this answer
    rest -= rest.max(1, keepdims=True)
    rest = np.exp(rest)
    rest /= rest.sum(1, keepdims=True)
    return float(np.log(np.maximum((rest * np.exp(log_like)).sum(1), 1e-300)).mean())


ANSWER_WEIGHTS = (1.0, 0.85, 0.7, 0.55)  # the grid fit_answer_weight searches
MIN_SHARED_ITEMS = 500  # items with 2+ answers (and no gold) needed before the answer weight is fitted
MIN_GAIN = 1e-3  # nats per answer a weight below 1 must gain over 1 to be chosen


def fit_answer_weight(enc: EncodedAnswers, prior: np.ndarray | None = None, gold: np.ndarray | None = None,
                      max_iter: int = 100, grid=ANSWER_WEIGHTS) -> tuple[float, dict, EMFit]:
    """(the answer-likelihood exponent with the best held-out answer likelihood, {weight: score}, its fit).

    The EM multiplies an item's answers as if they erred independently; on real crowds they err together
    (a cat that looks like a dog fools several workers), which makes the posterior over-confident and lets
    each answer vouch for itself. Fitted without labels: each answer is predicted from the others. With fewer
    than MIN_SHARED_ITEMS items answered twice or more the score is noise (a handful of items can favour a
    flipped solution), so the weight stays 1; a weight below 1 must also gain MIN_GAIN over 1.
    """
    counts = np.bincount(enc.item, minlength=len(enc.items))
    shared = (counts >= 2) & (gold < 0 if gold is not None else True)
    if int(shared.sum()) < MIN_SHARED_ITEMS:
        return 1.0, {}, em_fit(enc, prior, gold, max_iter=max_iter)
    fits = {float(weight): em_fit(enc, prior, gold, max_iter=max_iter, answer_weight=float(weight)) for weight in grid}
    scores = {weight: held_out_log_likelihood(enc, fit) for weight, fit in fits.items()}
    best = max(scores, key=scores.get)
    if best != 1.0 and 1.0 in scores and scores[best] - scores[1.0] < MIN_GAIN:
        best = 1.0
    return best, scores, fits[best]


def _crowdkit(method: str, enc: EncodedAnswers, frame: pd.DataFrame) -> tuple[np.ndarray, pd.Series]:
    """(items x classes posterior, worker -> skill) from a crowd-kit method (one-hot where it gives no posterior)."""
    from crowdkit import aggregation

    data = pd.DataFrame({"task": enc.item, "worker": enc.worker, "label": enc.label})
    model = getattr(aggregation, CROWDKIT[method])(**CROWDKIT_OPTIONS.get(method, {}))
    labels = model.fit_predict(data)
    k = len(enc.classes)
    post = np.zeros((len(enc.items), k))
    probas = getattr(model, "probas_", None)
    if probas is not None and len(probas):
        probas = probas.reindex(index=range(len(enc.items)), columns=range(k)).fillna(0.0).to_numpy(dtype=float)
        post = probas / np.where(probas.sum(1, keepdims=True) > 0, probas.sum(1, keepdims=True), 1.0)
    known = labels.reindex(range(len(enc.items)))
    missing = post.sum(1) == 0
    post[np.nonzero(missing)[0], known.to_numpy(dtype=np.int64)[missing]] = 1.0
    chosen = post.argmax(1)
    disagree = chosen != known.to_numpy(dtype=np.int64)  # a posterior tie broken otherwise: follow the label
    if disagree.any():
        post[disagree] = 0.0
        post[np.nonzero(disagree)[0], known.to_numpy(dtype=np.int64)[disagree]] = 1.0
    skills = getattr(model, "skills_", None)
    if skills is None:
        skills = pd.Series(dtype=float)
    return post, skills


def fit_prior_weight(posterior: np.ndarray, prior: np.ndarray, bounds=(0.05, 4.0)) -> float:
    """The exponent ``b`` for which ``prior ** b`` (renormalised) best predicts ``posterior`` (max expected log-lik).

    Empirical Bayes for the model's temperature: fitted against the answers-only posterior, it tempers an
    over-confident model (b < 1) and sharpens an under-confident one (b > 1) before it is used as a prior.
    """
    log_p = np.log(prior)

    def loss(b: float) -> float:
        z = b * log_p
        z = z - z.max(1, keepdims=True)
        return -float((posterior * (z - np.log(np.exp(z).sum(1, keepdims=True)))).sum())

    return float(optimize.minimize_scalar(loss, bounds=bounds, method="bounded", options={"xatol": 1e-3}).x)


def tempered(prior: np.ndarray, weight: float) -> np.ndarray:
    """``prior ** weight``, rows renormalised."""
    z = weight * np.log(prior)
    z = np.exp(z - z.max(1, keepdims=True))
    return z / z.sum(1, keepdims=True)


def aggregate_answers(answers: pd.DataFrame, method: str = "auto", probabilities: pd.DataFrame | None = None,
                      gold: pd.Series | None = None, prior_weight: float | str = "auto", floor: float = 1e-3,
                      max_iter: int = 100, answer_weight: float | str = "auto") -> ConsensusResult:
    """Consensus label per item from crowd answers (columns item, worker, label); see the module doc for methods.

    ``probabilities``: a model's out-of-fold class probabilities (items x classes) used as each item's prior,
    floored at ``floor`` and raised to ``prior_weight`` ("auto": fitted by :func:`fit_prior_weight` against the
    answers-only posterior; 1: as given); ``gold``: item -> known true label, clamped. Both only with ``"sda2"``
    (``"auto"``). ``answer_weight`` ("sda2" only): the exponent on each item's answer likelihood, "auto" =
    fitted by :func:`fit_answer_weight` (each answer predicted from the others), 1 = answers as independent.
    ``worker_accuracy`` is, for every method, the posterior-expected share of each worker's answers that are right.
    Every row counts as one answer: pass the latest answer per item and worker.
    """
    if method not in METHODS:
        raise ValueError(f"Unknown consensus method {method!r}. Fix: use one of {list(METHODS)}.")
    chosen = "sda2" if method == "auto" else method
    if chosen != "sda2" and (probabilities is not None or gold is not None):
        raise ValueError(f"crowd-kit's {method!r} takes neither a model prior nor gold answers. Fix: use "
                         "method='sda2' (or 'auto') to use them, or drop probabilities/gold.")
    if chosen != "sda2" and answer_weight != "auto":
        raise ValueError(f"answer_weight applies to method='sda2' only, not {method!r}. Fix: drop answer_weight.")
    if answer_weight != "auto" and not (isinstance(answer_weight, (int, float)) and 0 < answer_weight <= 1):
        raise ValueError(f"answer_weight must be 'auto' or a number in (0, 1], not {answer_weight!r}. Fix: "
                         "use 'auto' (fitted) or 1.0 (answers treated as independent).")
    classes = None
    if probabilities is not None:
        if not isinstance(probabilities, pd.DataFrame) or probabilities.shape[1] == 0:
            raise ValueError("probabilities must be a DataFrame with one column per class. Fix: "
                             "pd.DataFrame(proba, index=items, columns=classes).")
        classes = list(probabilities.columns)
    frame = check_answers(answers)
    enc = encode_answers(frame, classes)
    prior = _prior_matrix(probabilities, enc.items, enc.classes, floor) if probabilities is not None else None
    gold_codes = _gold_codes(gold, enc.items, enc.classes) if gold is not None else None
    iterations = 0
    weight = None
    if prior is not None:
        if prior_weight == "auto":
            weight = fit_prior_weight(em_fit(enc, None, gold_codes, max_iter=max_iter).posterior, prior)
        elif isinstance(prior_weight, (int, float)) and prior_weight >= 0:
            weight = float(prior_weight)
        else:
            raise ValueError(f"prior_weight must be 'auto' or a number ≥ 0, not {prior_weight!r}. Fix: use 'auto' "
                             "(fitted) or 1.0 (the probabilities as given).")
        prior = tempered(prior, weight)
    answer_scores = {}
    if chosen == "sda2":
        if answer_weight == "auto":
            answer_weight, answer_scores, fit = fit_answer_weight(enc, prior, gold_codes, max_iter=max_iter)
        else:
            fit = em_fit(enc, prior, gold_codes, max_iter=max_iter, answer_weight=float(answer_weight))
        post, right, iterations = fit.posterior, fit.right, fit.iterations
    else:
        post, _ = _crowdkit(chosen, enc, frame)
        right = post[enc.item, enc.label]
    counts = np.bincount(enc.worker, minlength=len(enc.workers))
    accuracy = np.bincount(enc.worker, weights=right, minlength=len(enc.workers)) / np.maximum(counts, 1)
    best = post.argmax(1)
    class_array = np.asarray(enc.classes, dtype=object)
    items = pd.Index(enc.items, name="item")
    info = {"answers": len(enc.item), "items": len(enc.items), "workers": len(enc.workers),
            "classes": len(enc.classes), "prior": prior is not None,
            "gold": int((gold_codes >= 0).sum()) if gold_codes is not None else 0, "prior_weight": weight,
            "answer_weight": float(answer_weight) if chosen == "sda2" else None,
            "answer_weight_scores": {w_: round(v, 5) for w_, v in answer_scores.items()}}
    return ConsensusResult(
        labels=pd.Series(class_array[best], index=items, name="label"),
        confidence=pd.Series(post[np.arange(len(best)), best], index=items, name="confidence"),
        worker_accuracy=pd.Series(accuracy, index=pd.Index(enc.workers, name="worker"), name="accuracy"),
        method=chosen, posteriors=pd.DataFrame(post, index=items, columns=pd.Index(enc.classes, name="class")),
        iterations=iterations, info=info)


def answers_from_ratings(ratings: pd.DataFrame) -> pd.DataFrame:
    """Samples x labelers ratings (:func:`sda2.analysis.agreement.ratings_matrix`) as item/worker/label rows."""
    long = ratings.rename_axis(index="item", columns="worker").stack(future_stack=True).dropna()
    return long.rename("label").reset_index()
