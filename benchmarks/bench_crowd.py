"""Benchmark: consensus from CIFAR-10N's real crowd answers, beside crowd-kit in the same run, and the planner replayed.

150,000 answers (three per image, 747 Mechanical Turk workers), scored against ``clean_label``:

- accuracy of the consensus; Pearson of each worker's estimated vs true accuracy (true = share of their answers
  equal to clean_label): ``pearson`` over the workers with >= 20 answers (the goal's figure, 638 workers) and
  ``pearson_all_workers`` over all 747; wall time; for ours also the peak traced memory (tracemalloc);
- the model prior: 5-fold out-of-fold probabilities of PCA(256) + logistic regression on EfficientNet-Lite0
  embeddings, trained on the crowd's majority label (never the clean label), for all 50,000 images (``--n``).
  The embeddings come from ``bench_real_noise.py``'s cache (its dataset ``bench_cifar10n_<n>``); ``--embed``
  computes them when absent (597 s for 50,000 here on 2 shared cores), else raw pixels stand in;
- on all 50,000 items: ours from the answers alone, with 5 % gold, with the prior, with both; ours with the prior
  and the answers taken as independent (answer weight 1, beside the fitted weight: ``fit_answer_weight``);
  with ``--two-backbones`` a second prior fused from Lite0 and Lite2 (160 px; ``bench_time_quality.py``'s
  embeddings), alone and with gold; with ``--finetune-prior`` a third, sda2's CPU fine-tuning (``finetune_prior``:
  Lite0 at 160 px, 5 blocks and the head trained 3 epochs, 3 folds, on the crowd majority; 89.3 % right; 86 min
  (5,177 s) in the run that made its folds, 15 min of it beside a test run, then reused) fused with the second;
  crowd-kit's majority vote, Dawid–Skene, one-coin and MACE (one restart), GLAD too with ``--full-glad`` (122 s);
- on the first ``--sub`` = 10,000 items: every method, GLAD included, and ours with the same prior rows;
- honeypots replayed: 5 % of items as gold; each worker's gold accuracy vs true accuracy; for the workers
  below 0.7, how many gold answers it takes before the Wilson 95 % upper bound of their gold accuracy drops
  below 0.7 (and how many workers at or above 0.7 that rule would wrongly pause);
- throughput from the real times (seconds per batch of ten, batches capped at 600 s): labels/hour per worker
  beside accuracy; seconds per label per class by non-negative least squares on the batches' class counts;
- what prior the Pearson goal needs: simulated priors of 85, 90 and 95 % accuracy whose errors fall on a random
  other class (independent of the crowd's), each calibrated (its stated confidence is its accuracy), beside the
  real prior, whose errors are the crowd's (cat/dog, deer/horse);
- the planner: worker accuracies and the error spread measured by our consensus on half of the items; its
  predicted accuracy for 1, 2, 3 answers per item and for its cheapest plan reaching 99 % (with a simulated
  reviewer of 99 % accuracy), replayed on the other half with the real answers.

    .venv/bin/python benchmarks/bench_crowd.py            # about 4 min on 2 shared cores (embeddings cached)
    .venv/bin/python benchmarks/bench_crowd.py --embed    # computes the 50,000 embeddings first (+10 min)
    .venv/bin/python benchmarks/bench_crowd.py --full-glad  # GLAD on all 50,000 items too (+2 min)
    .venv/bin/python benchmarks/bench_crowd.py --two-backbones  # the Lite0 + Lite2 prior too (+1 min when cached)
    .venv/bin/python benchmarks/bench_crowd.py --two-backbones --finetune-prior  # + the fine-tuned one (+70 min once)
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import sys
import tarfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import nnls  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from statsmodels.stats.proportion import proportion_confint  # noqa: E402

from sda2.analysis import reliability  # noqa: E402
from sda2.analysis.consensus import aggregate_answers  # noqa: E402
from sda2.analysis.view_fusion import fuse_log_mean  # noqa: E402
from sda2.compute.effnet import PREPROCESSING  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "cifar10n"
RESULTS = ROOT / "benchmarks" / "results"
CROWDKIT = ("majority", "dawid_skene", "one_coin", "mace")
BATCH_CAP_S = 600


def long_answers(table: pd.DataFrame) -> pd.DataFrame:
    """One row per answer: item, worker, label, seconds (a tenth of the worker's batch time, capped)."""
    return pd.concat([pd.DataFrame({"item": table["index"], "worker": table[f"worker{j}"],
                                    "label": table[f"random_label{j}"],
                                    "seconds": table[f"batch_seconds{j}"].clip(upper=BATCH_CAP_S) / 10,
                                    "batch": table["batch"]}) for j in (1, 2, 3)], ignore_index=True)


def scores(result, clean: pd.Series, true_acc: pd.Series, items=None, true_all: pd.Series | None = None) -> dict:
    """Accuracy vs clean (on ``items`` when given); Pearson of estimated vs true worker accuracy.

    ``pearson``: workers with >= 20 answers (``true_acc``; the goal's figure); ``pearson_all_workers``: every worker
    (``true_all``), where one with 3 answers has a true accuracy of 0, 1/3, 2/3 or 1.
    """
    labels = result.labels if items is None else result.labels.reindex(items)
    out = {"accuracy": round(float((labels == clean.reindex(labels.index)).mean()), 4)}
    for name, truth in (("pearson", true_acc), ("pearson_all_workers", true_all)):
        if truth is None:
            continue
        est = result.worker_accuracy.reindex(truth.index)
        keep = est.notna()
        out[name] = round(float(np.corrcoef(est[keep], truth[keep])[0, 1]), 3)
    return out


def true_accuracy(answers: pd.DataFrame, clean: pd.Series, min_answers: int = 20) -> pd.Series:
    """Worker -> share of their answers equal to clean_label (workers with >= ``min_answers``)."""
    ok = answers["label"].to_numpy() == clean.reindex(answers["item"]).to_numpy()
    frame = pd.DataFrame({"worker": answers["worker"].to_numpy(), "ok": ok})
    grouped = frame.groupby("worker")["ok"].agg(["mean", "size"])
    return grouped.loc[grouped["size"] >= min_answers, "mean"]


def run(method: str, answers: pd.DataFrame, **kwargs) -> tuple[object, float]:
    """(result, seconds) of one aggregation."""
    start = time.perf_counter()
    result = aggregate_answers(answers[["item", "worker", "label"]], method=method, **kwargs)
    return result, time.perf_counter() - start


def cached_embeddings(n: int) -> tuple[np.ndarray, str] | None:
    """(EfficientNet-Lite0 embeddings of the first ``n`` images, where from) from a bench cache, or None."""
    for path in sorted(glob.glob(str(ROOT / ".sda2" / "arrays" / "sda2_bench" / "*" / "embeddings_effnet_lite0.npy"))):
        made = json.loads(Path(path).with_suffix(".json").read_text()).get("preprocessing")
        X = np.load(path, mmap_mode="r")
        if X.shape[0] == n and made == PREPROCESSING:  # written by bench_real_noise.py in the table's order (its dataset of the first n)
            return np.asarray(X, dtype=np.float32), f"EfficientNet-Lite0 embeddings (cache {Path(path).parent.name})"
    return None


def embed(table: pd.DataFrame, n: int) -> tuple[np.ndarray, str]:
    """EfficientNet-Lite0 embeddings of the first ``n`` images, computed into bench_real_noise.py's dataset."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_real_noise  # its dataset bench_cifar10n_<n> and the row order by file path

    start = time.perf_counter()
    X, _ = bench_real_noise.embeddings(table.head(n), n)
    return X, (f"EfficientNet-Lite0 embeddings (dataset bench_cifar10n_{n}, computed or reused in "
               f"{time.perf_counter() - start:.0f} s)")


def features(table: pd.DataFrame, n: int, compute: bool = False) -> tuple[np.ndarray, str]:
    """(features of the first ``n`` images, what they are): EfficientNet-Lite0 embeddings (cached, or computed
    when ``compute``), else raw pixels from the tar."""
    found = cached_embeddings(n)
    if found is not None:
        return found
    if compute:
        return embed(table, n)
    from PIL import Image

    wanted = {f"train/{p.split('/', 1)[1]}" if not p.startswith("train/") else p: i
              for i, p in enumerate(table["filepath"].head(n))}
    X = np.zeros((n, 32 * 32 * 3), dtype=np.float32)
    with tarfile.open(DATA / "train_images.tar.gz") as tar:
        for member in tar:
            row = wanted.get(member.name)
            if row is not None:
                image = Image.open(io.BytesIO(tar.extractfile(member).read())).convert("RGB").resize((32, 32))
                X[row] = np.asarray(image, dtype=np.float32).ravel() / 255.0
    return X, "raw pixels (no embedding cache found; --embed computes EfficientNet-Lite0 embeddings)"


def oof_prior(X: np.ndarray, y: np.ndarray, classes: list, folds: int = 5) -> np.ndarray:
    """5-fold out-of-fold probabilities of PCA(256) + logistic regression trained on labels ``y``."""
    Z = PCA(min(256, X.shape[1]), random_state=0).fit_transform(X)
    Z /= Z[:, :1].std()
    codes = pd.Index(classes).get_indexer(y)
    out = np.zeros((len(Z), len(classes)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(Z, codes):
        model = LogisticRegression(C=0.2, max_iter=300, tol=1e-3).fit(Z[train], codes[train])
        out[test] = model.predict_proba(Z[test])
    return out


FINETUNE_CACHE = Path.home() / ".cache" / "sda2_bench" / "finetune_prior_160"


def finetune_prior(table: pd.DataFrame, classes: list) -> tuple[np.ndarray, dict]:
    """3-fold out-of-fold probabilities of sda2's fine-tuning on CPU, trained on the crowd majority, and its facts.

    ``sda2.compute.finetune.finetune_out_of_fold``: EfficientNet-Lite0 at 160 px, its last 5 of 16 blocks and the head
    trained for 3 epochs over 2 cached views (plain, mirrored) of the frozen first 11 blocks. About 70 min for 50,000 photos
    on 2 cores; each finished fold is kept in ``FINETUNE_CACHE`` and reused by the next run.
    """
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_real_noise

    from sda2.compute import finetune

    root = bench_real_noise.unpack()
    images, _, failed = finetune.load_images([str(root / p) for p in table["filepath"]], 160)
    if failed:
        raise SystemExit(f"{len(failed)} CIFAR-10N photos did not load, e.g. {failed[0]}. Fix: delete "
                         f"{root} so that it is unpacked again.")
    codes = pd.Index(classes).get_indexer(table["aggre_label"])
    plan = finetune.Plan(160, 11, 3, 3, 2, 64, 1e-3, 0, "cpu")
    proba, facts = finetune.finetune_out_of_fold(images, codes, len(classes), plan, checkpoint_dir=FINETUNE_CACHE)
    return proba, {"plan": plan.as_dict(), "folds_reused": facts["folds_reused"],
                   "seconds_this_run": round(facts["seconds"], 1)}


def simulated_prior(clean_codes: np.ndarray, accuracy: float, k: int, seed: int = 0) -> np.ndarray:
    """A calibrated prior right on a share ``accuracy`` of items (its stated confidence), wrong on a random other
    class otherwise: what a much stronger model with errors unlike the crowd's would give."""
    rng = np.random.default_rng(seed)
    right = rng.random(len(clean_codes)) < accuracy
    predicted = np.where(right, clean_codes, (clean_codes + rng.integers(1, k, len(clean_codes))) % k)
    out = np.full((len(clean_codes), k), (1 - accuracy) / (k - 1))
    out[np.arange(len(clean_codes)), predicted] = accuracy
    return out


def wilson_upper(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Upper bound of the Wilson 95 % interval of k right out of n (statsmodels, as sda2's pause rule uses)."""
    return proportion_confint(k, n, alpha=0.05, method="wilson")[1]


def honeypots(answers: pd.DataFrame, clean: pd.Series, true_acc: pd.Series, gold_items: pd.Index) -> dict:
    """Gold accuracy vs true accuracy per worker, and the gold answers it takes to catch the workers below 0.7."""
    on_gold = answers[answers["item"].isin(gold_items)].sort_values("item", kind="stable")
    on_gold = on_gold.assign(ok=on_gold["label"].to_numpy() == clean.reindex(on_gold["item"]).to_numpy())
    per = on_gold.groupby("worker")["ok"].agg(["mean", "size"])
    both = per.join(true_acc.rename("true"), how="inner")
    enough = both[both["size"] >= 5]
    caught, missed, false_pause = [], 0, 0
    for worker, group in on_gold.groupby("worker"):
        ok = group["ok"].to_numpy()
        upper = wilson_upper(np.cumsum(ok), np.arange(1, len(ok) + 1))
        hit = np.nonzero(upper < 0.7)[0]
        acc = true_acc.get(worker, np.nan)
        if np.isnan(acc):
            continue
        if acc < 0.7:
            if len(hit):
                caught.append(int(hit[0] + 1))
            else:
                missed += 1
        elif len(hit):
            false_pause += 1
    low = int((true_acc < 0.7).sum())
    missed = low - len(caught)  # including the low workers who met no gold item at all
    # the same rule on simulated gold answers: how many it takes for a worker of accuracy a (median of 2,000)
    rng = np.random.default_rng(0)
    needed = {}
    for a in (0.5, 0.55, 0.6, 0.65):
        ok = rng.random((2000, 400)) < a
        upper = wilson_upper(np.cumsum(ok, 1), np.arange(1, 401)[None, :])
        first = np.where((upper < 0.7).any(1), (upper < 0.7).argmax(1) + 1, 400)
        needed[str(a)] = int(np.median(first))
    return {"gold_items": len(gold_items), "gold_answers": len(on_gold),
            "gold_answers_per_worker_median": float(per["size"].median()),
            "workers_with_5plus_gold": len(enough),
            "pearson_gold_vs_true": round(float(np.corrcoef(enough["mean"], enough["true"])[0, 1]), 3),
            "mean_abs_error": round(float((enough["mean"] - enough["true"]).abs().mean()), 3),
            "workers_below_0.7": low, "caught": len(caught), "not_caught_yet": missed,
            "gold_answers_to_catch_median": float(np.median(caught)) if caught else None,
            "gold_answers_to_catch_max": int(max(caught)) if caught else None,
            "wrongly_paused_at_or_above_0.7": false_pause,
            "rule": "pause when the Wilson 95 % upper bound of the gold accuracy is below 0.7",
            "simulated_gold_answers_to_catch_median_by_accuracy": needed}


def throughput(answers: pd.DataFrame, clean: pd.Series, true_acc: pd.Series) -> dict:
    """Labels/hour per worker beside accuracy; seconds per label per class (NNLS on the batches' class counts)."""
    per = answers.groupby("worker").agg(labels=("item", "size"), seconds=("seconds", "sum"))
    per["labels_per_hour"] = 3600 * per["labels"] / per["seconds"].clip(lower=1)
    per = per.join(true_acc.rename("accuracy"), how="inner")
    per["speed_quintile"] = pd.qcut(per["labels_per_hour"].rank(method="first"), 5, labels=[1, 2, 3, 4, 5])
    by_speed = per.groupby("speed_quintile", observed=True).agg(
        labels_per_hour=("labels_per_hour", "median"), accuracy=("accuracy", "mean"), workers=("labels", "size"))
    # per class: each worker-batch's time = sum over its ten items of the seconds of their true classes
    answers = answers.assign(truth=clean.reindex(answers["item"]).to_numpy())
    batches = answers.groupby(["worker", "batch"])
    counts = pd.crosstab([answers["worker"], answers["batch"]], answers["truth"])
    seconds = batches["seconds"].sum().reindex(counts.index)
    per_class_seconds, _ = nnls(counts.to_numpy(dtype=float), seconds.to_numpy(dtype=float))
    ok = answers["label"].to_numpy() == answers["truth"].to_numpy()
    class_acc = pd.Series(ok).groupby(answers["truth"].to_numpy()).mean()
    per_class = pd.DataFrame({"seconds_per_label": per_class_seconds.round(2),
                              "labels_per_hour": (3600 / np.maximum(per_class_seconds, 1e-6)).round(0),
                              "accuracy": class_acc.reindex(counts.columns).round(4).to_numpy()},
                             index=counts.columns)
    spearman = float(per[["labels_per_hour", "accuracy"]].corr("spearman").iloc[0, 1])
    return {"median_labels_per_hour": round(float(per["labels_per_hour"].median()), 0),
            "spearman_speed_vs_accuracy": round(spearman, 3),
            "by_speed_quintile": by_speed.round(3).reset_index().astype({"speed_quintile": int}).to_dict("records"),
            "per_class": per_class.reset_index(names="class").to_dict("records"),
            "per_worker": per.drop(columns="speed_quintile").round(3).reset_index().to_dict("records")}


def replay_plan(answers: pd.DataFrame, table: pd.DataFrame, clean: pd.Series, reviewer: float = 0.99) -> dict:
    """The planner on half of the items, checked on the other half with the real answers."""
    items = table["index"].to_numpy()
    rng = np.random.default_rng(0)
    calibration = set(rng.permutation(items)[: len(items) // 2].tolist())
    calib = answers[answers["item"].isin(calibration)]
    held = table[~table["index"].isin(calibration)]
    fitted = aggregate_answers(calib[["item", "worker", "label"]])
    accuracies = fitted.worker_accuracy
    weights = calib.groupby("worker").size()
    spread = reliability.error_spread(calib, fitted.labels)
    classes = sorted(clean.unique())
    k = len(classes)
    plan_args = dict(classes=k, error_shares=spread, weights=weights, reviewer_accuracy=reviewer)
    predicted = {m: reliability.plan_accuracy(accuracies, m, **plan_args) for m in (1, 2, 3)}
    best, _ = reliability.cheapest_plan(accuracies, 0.99, max_answers=3, honeypot_rate=0.0,
                                        review_shares=tuple(np.round(np.arange(0, 1.01, 0.05), 2)), **plan_args)
    # replay: the first m real answers of each held-out item, weighted by the calibration-half accuracies
    acc = np.clip(accuracies.reindex(pd.unique(answers["worker"])).fillna(float(accuracies.mean())), 1e-3, 1 - 1e-3)
    truth = pd.Index(classes).get_indexer(held["clean_label"])
    score = np.zeros((len(held), k))
    rows = np.arange(len(held))
    out = {"calibration_items": len(calibration), "held_out_items": len(held), "reviewer_accuracy": reviewer,
           "rows": []}
    confidence_at = {}
    for m in (1, 2, 3):
        a = acc.reindex(held[f"worker{m}"]).to_numpy()
        np.add.at(score, (rows, pd.Index(classes).get_indexer(held[f"random_label{m}"])),
                  np.log(a) - np.log((1 - a) / (k - 1)))
        tie = np.random.default_rng(m).random(score.shape) * 1e-9
        chosen = (score + tie).argmax(1)
        post = np.exp(score - score.max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        confidence_at[m] = (score.copy(), post[rows, chosen], chosen)
        out["rows"].append({"answers_per_item": m, "review_share": 0.0,
                            "predicted": round(predicted[m].accuracy, 4),
                            "replayed": round(float((chosen == truth).mean()), 4)})
    if best is not None:
        base, confidence, chosen = confidence_at[best.answers_per_item]
        take = np.argsort(confidence, kind="stable")[: int(round(best.review_share * len(held)))]
        review_rng = np.random.default_rng(7)
        right = review_rng.random(len(take)) < reviewer
        wrong = (truth[take] + 1 + review_rng.integers(0, k - 1, len(take))) % k  # a wrong reviewer answer
        review_label = np.where(right, truth[take], wrong)
        reviewed = base[take].copy()
        reviewed[np.arange(len(take)), review_label] += np.log(reviewer) - np.log((1 - reviewer) / (k - 1))
        final = chosen.copy()
        final[take] = reviewed.argmax(1)
        out["plan_for_0.99"] = {**best.as_dict(), "replayed": round(float((final == truth).mean()), 4)}
    else:
        out["plan_for_0.99"] = None
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000,
                        help="images the model prior is computed for (the first n; 50,000 = all)")
    parser.add_argument("--sub", type=int, default=10_000,
                        help="items of the subsample where GLAD runs beside every other method (the first sub)")
    parser.add_argument("--embed", action="store_true",
                        help="compute the EfficientNet-Lite0 embeddings when none are cached (~10 min for 50,000)")
    parser.add_argument("--full-glad", action="store_true", help="run GLAD on all 50,000 items too (~2 min)")
    parser.add_argument("--two-backbones", action="store_true",
                        help="a second prior from Lite0 + Lite2 embeddings at 160 px (bench_time_quality.py's; "
                             "computes Lite2's when absent, ~19 min for 50,000)")
    parser.add_argument("--finetune-prior", action="store_true",
                        help="with --two-backbones: a third prior, sda2's CPU fine-tuning fused with the second "
                             "(~70 min for 50,000 on 2 cores; its folds are kept and reused)")
    args = parser.parse_args()
    if not (DATA / "labels.csv.gz").exists():
        print(f"CIFAR-10N not found at {DATA}: skipping (see its README for the files).")
        return
    started = time.perf_counter()
    table = pd.read_csv(DATA / "labels.csv.gz")
    answers = long_answers(table)
    clean = table.set_index("index")["clean_label"]
    classes = sorted(clean.unique())
    true_acc = true_accuracy(answers, clean)
    true_all = true_accuracy(answers, clean, min_answers=1)
    result: dict = {"answers": len(answers), "items": len(table), "workers": int(answers["worker"].nunique()),
                    "workers_20plus": len(true_acc),
                    "pearson_goal_uses": "workers with >= 20 answers ('pearson'); 'pearson_all_workers' beside it",
                    "full": {}, "subsample": {}}

    # the model prior: out-of-fold probabilities for the first n images (all 50,000 by default)
    n = min(args.n, len(table))
    X, what = features(table, n, compute=args.embed)
    start = time.perf_counter()
    P = oof_prior(X, table["aggre_label"].head(n).to_numpy(object), classes)
    prior = pd.DataFrame(P, index=table["index"].head(n).to_numpy(), columns=classes)
    def accuracy_vs_clean(proba: np.ndarray) -> float:
        """Share of the first len(proba) items whose most probable class is the clean label."""
        return float((np.asarray(classes)[proba.argmax(1)] == table["clean_label"].head(len(proba)).to_numpy()).mean())

    model_acc = accuracy_vs_clean(P)
    result["prior"] = {"n": n, "features": what, "oof_seconds": round(time.perf_counter() - start, 1),
                       "model_accuracy_vs_clean": round(model_acc, 4),
                       "trained_on": "aggre_label (majority of the three answers), 5-fold out-of-fold"}
    print("prior:", result["prior"], flush=True)
    if model_acc < 0.3:
        raise SystemExit(f"The out-of-fold model is {model_acc:.1%} right: the cached embeddings are not in the "
                         "table's order. Fix: delete the cache or rerun bench_real_noise.py.")

    second = None  # the two-backbone prior: Lite0's and Lite2's out-of-fold probabilities fused
    if args.two_backbones and n == len(table):
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import bench_time_quality

        start = time.perf_counter()
        X2, _ = bench_time_quality.backbone(table, n, "effnet_lite2", 160)
        P2 = fuse_log_mean(P, oof_prior(X2, table["aggre_label"].to_numpy(object), classes))
        second = pd.DataFrame(P2, index=prior.index, columns=classes)
        result["prior2"] = {"features": "EfficientNet-Lite0 (as above) and Lite2 at 160 px, each PCA(256) + logistic "
                                        "regression out-of-fold, fused by the mean of log-probabilities",
                            "model_accuracy_vs_clean": round(accuracy_vs_clean(P2), 4),
                            "oof_seconds": round(time.perf_counter() - start, 1)}
        print("prior2:", result["prior2"], flush=True)
    third = None  # the fine-tuned prior, fused with the two frozen ones
    if args.finetune_prior and second is not None:
        tuned, facts = finetune_prior(table, classes)
        P3 = fuse_log_mean(tuned, second.to_numpy())
        third = pd.DataFrame(P3, index=prior.index, columns=classes)
        accuracy_of = {name: round(accuracy_vs_clean(p), 4) for name, p in (("fine-tuned alone", tuned), ("fused", P3))}
        result["prior3"] = {"features": "sda2's CPU fine-tuning (finetune_out_of_fold) fused with prior2",
                            "model_accuracy_vs_clean": accuracy_of, **facts}
        print("prior3:", result["prior3"], flush=True)

    # ours on all 150,000 answers: time, then peak memory
    ours, seconds = run("sda2", answers)
    tracemalloc.start()
    run("sda2", answers)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result["full"]["sda2"] = {**scores(ours, clean, true_acc, true_all=true_all), "seconds": round(seconds, 2),
                              "peak_traced_mb": round(peak / 2 ** 20, 1), "iterations": ours.iterations,
                              "answer_weight": ours.info["answer_weight"]}
    for method in CROWDKIT + (("glad",) if args.full_glad else ()):
        res, seconds = run(method, answers)
        result["full"][method] = {**scores(res, clean, true_acc, true_all=true_all), "seconds": round(seconds, 2)}
        print(f"  full {method}: {result['full'][method]}", flush=True)

    def variants(items: pd.Index, with_prior: bool) -> dict:
        """Our runs with 5 % gold, and with the prior (alone and with gold) where it covers ``items``; the prior
        once more with the answers taken as independent (answer weight 1, what sda2 did before it was fitted)."""
        gold_items = pd.Index(items.to_numpy()[np.random.default_rng(0).random(len(items)) < 0.05])
        gold = clean.reindex(gold_items)
        not_gold = items.difference(gold_items)
        out = {"sda2+gold5%": ({"gold": gold}, not_gold)}
        if with_prior:
            part = prior.reindex(items)
            out.update({"sda2+prior": ({"probabilities": part}, not_gold),
                        "sda2+prior, weight 1": ({"probabilities": part, "answer_weight": 1.0}, not_gold),
                        "sda2+prior+gold5%": ({"probabilities": part, "gold": gold}, not_gold)})
            for label, frame in (("prior2", second), ("prior3", third)):
                if frame is not None:
                    part = frame.reindex(items)
                    out.update({f"sda2+{label}": ({"probabilities": part}, not_gold),
                                f"sda2+{label}+gold5%": ({"probabilities": part, "gold": gold}, not_gold)})
            if third is not None:
                out["sda2+prior3, weight 1"] = ({"probabilities": third.reindex(items), "answer_weight": 1.0},
                                                 not_gold)
        return out

    def score_row(res, seconds: float, truth_20: pd.Series, truth_all: pd.Series, not_gold: pd.Index) -> dict:
        """The scores of one run, its time, and its prior weight when it had a prior."""
        row = {**scores(res, clean, truth_20, true_all=truth_all),
               "accuracy_non_gold": scores(res, clean, truth_20, not_gold)["accuracy"], "seconds": round(seconds, 2)}
        if res.info.get("prior_weight") is not None:
            row["prior_weight"] = round(res.info["prior_weight"], 3)
        if res.info.get("answer_weight") is not None:
            row["answer_weight"] = res.info["answer_weight"]
        return row

    everything = pd.Index(table["index"].to_numpy())
    for name, (kwargs, not_gold) in variants(everything, n == len(table)).items():
        res, seconds = run("sda2", answers, **kwargs)
        result["full"][name] = score_row(res, seconds, true_acc, true_all, not_gold)
        print(f"  full {name}: {result['full'][name]}", flush=True)
    if n == len(table):  # the prior's cost on all 150,000 answers (it runs the EM twice to fit the prior weight)
        tracemalloc.start()
        run("sda2", answers, probabilities=prior)
        result["full"]["sda2+prior"]["peak_traced_mb"] = round(tracemalloc.get_traced_memory()[1] / 2 ** 20, 1)
        tracemalloc.stop()

    # how strong a prior the Pearson goal needs: simulated calibrated priors with errors unlike the crowd's
    codes = pd.Index(classes).get_indexer(table["clean_label"])
    result["simulated_priors"] = {}
    for accuracy in (0.85, 0.90, 0.95):
        fake = pd.DataFrame(simulated_prior(codes, accuracy, len(classes)), index=table["index"].to_numpy(),
                            columns=classes)
        res, seconds = run("sda2", answers, probabilities=fake)
        result["simulated_priors"][str(accuracy)] = {**scores(res, clean, true_acc, true_all=true_all),
                                                      "seconds": round(seconds, 2)}
        print(f"  simulated calibrated prior {accuracy:.0%}: {result['simulated_priors'][str(accuracy)]}", flush=True)

    # the subsample: every method, GLAD included, on the same items
    sub = pd.Index(table["index"].head(args.sub).to_numpy())
    sub_answers = answers[answers["item"].isin(sub)]
    sub_true = true_accuracy(sub_answers, clean)
    sub_all = true_accuracy(sub_answers, clean, min_answers=1)
    result["subsample"]["items"] = len(sub)
    runs = {m: ({"method": m}, sub) for m in CROWDKIT + ("glad", "sda2")}
    runs.update({k: ({"method": "sda2", **kw}, ng) for k, (kw, ng) in variants(sub, len(sub) <= n).items()})
    for name, (kwargs, not_gold) in runs.items():
        kwargs = dict(kwargs)
        res, seconds = run(kwargs.pop("method"), sub_answers, **kwargs)
        result["subsample"][name] = score_row(res, seconds, sub_true, sub_all, not_gold)
        print(f"  subsample {name}: {result['subsample'][name]}", flush=True)

    all_gold = pd.Index(table["index"].to_numpy()[np.random.default_rng(1).random(len(table)) < 0.05])
    result["honeypots_5pct"] = honeypots(answers, clean, true_acc, all_gold)
    result["throughput"] = throughput(answers, clean, true_acc)
    result["planner"] = replay_plan(answers, table, clean)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crowd.json").write_text(json.dumps(result, indent=2, default=float))

    print(f"\nCIFAR-10N: {len(answers):,} answers, {len(table):,} items, {result['workers']} workers "
          f"({len(true_acc)} with >= 20 answers)")
    print(f"{'method':<22}{'items':>8}{'accuracy':>10}{'pearson':>9}{'all wkrs':>9}{'seconds':>9}{'ans. weight':>12}")
    for scope, rows in (("all", result["full"]), (f"first {args.sub}", result["subsample"])):
        for name, row in rows.items():
            if isinstance(row, dict) and "accuracy" in row:
                print(f"{name:<22}{scope:>8}{row['accuracy']:>10.2%}{row['pearson']:>9.3f}"
                      f"{row['pearson_all_workers']:>9.3f}{row['seconds']:>9.2f}{row.get('answer_weight', ''):>12}")
    print("prior:", result["prior"])
    for accuracy, row in result["simulated_priors"].items():
        print(f"simulated calibrated prior {float(accuracy):.0%} (errors unlike the crowd's): consensus "
              f"{row['accuracy']:.2%}, Pearson {row['pearson']:.3f}")
    print("honeypots (5 % gold):", {k: v for k, v in result["honeypots_5pct"].items()})
    t = result["throughput"]
    print(f"throughput: median {t['median_labels_per_hour']:.0f} labels/hour per worker; Spearman speed vs "
          f"accuracy {t['spearman_speed_vs_accuracy']}")
    for row in t["per_class"]:
        print(f"  {row['class']:<12}{row['seconds_per_label']:>6.2f} s/label  accuracy {row['accuracy']:.2%}")
    print("planner (predicted vs replayed on held-out items):")
    for row in result["planner"]["rows"]:
        print(f"  {row['answers_per_item']} answer(s): predicted {row['predicted']:.2%}, "
              f"replayed {row['replayed']:.2%}")
    print("  cheapest plan for 99 %:", result["planner"]["plan_for_0.99"])
    print(f"total {result['total_seconds']} s")


if __name__ == "__main__":
    main()
