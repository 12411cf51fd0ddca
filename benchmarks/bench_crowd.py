"""Benchmark: consensus from CIFAR-10N's real crowd answers, beside crowd-kit in the same run, and the planner replayed.

150,000 answers (three per image, 747 Mechanical Turk workers), scored against ``clean_label``:

- accuracy of the consensus, Pearson of each worker's estimated vs true accuracy (true = share of their answers
  equal to clean_label, workers with >= 20 answers), wall time; for ours also the peak traced memory
  (tracemalloc) on all 150,000 answers;
- crowd-kit's majority vote, Dawid–Skene, one-coin and MACE (one restart) on all 50,000 items; GLAD (122 s on all
  when measured before) on the model-prior subsample unless ``--full-glad``;
- ours from the answers alone, with the model's out-of-fold probabilities as prior, with 5 % gold, with both.
  The prior is computed on a subsample (the first ``--n`` = 10,000 images, CIFAR's order being random): cached
  EfficientNet-Lite0 embeddings (from ``bench_real_noise.py``) when present, else a pixel-feature model on
  JPEGs unpacked from the tar; PCA to 256 dimensions, 5-fold out-of-fold logistic regression trained on the
  crowd's majority label (never the clean label). Figures with the prior are on that subsample, with every
  other method beside them on the same items;
- honeypots replayed: 5 % of items as gold; each worker's gold accuracy vs true accuracy; for the workers
  below 0.7, how many gold answers it takes before the Wilson 95 % upper bound of their gold accuracy drops
  below 0.7 (and how many workers at or above 0.7 that rule would wrongly pause);
- throughput from the real times (seconds per batch of ten, batches capped at 600 s): labels/hour per worker
  beside accuracy; seconds per label per class by non-negative least squares on the batches' class counts;
- the planner: worker accuracies and the error spread measured by our consensus on half of the items; its
  predicted accuracy for 1, 2, 3 answers per item and for its cheapest plan reaching 99 % (with a simulated
  reviewer of 99 % accuracy), replayed on the other half with the real answers.

    .venv/bin/python benchmarks/bench_crowd.py            # about 3 min on 2 shared cores
    .venv/bin/python benchmarks/bench_crowd.py --full-glad  # GLAD on all 50,000 items too (+2 min)
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

from sda2.analysis import reliability  # noqa: E402
from sda2.analysis.consensus import aggregate_answers  # noqa: E402

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


def scores(result, clean: pd.Series, true_acc: pd.Series, items=None) -> dict:
    """Accuracy vs clean (on ``items`` when given) and Pearson of estimated vs true worker accuracy."""
    labels = result.labels if items is None else result.labels.reindex(items)
    est = result.worker_accuracy.reindex(true_acc.index)
    keep = est.notna()
    return {"accuracy": round(float((labels == clean.reindex(labels.index)).mean()), 4),
            "pearson": round(float(np.corrcoef(est[keep], true_acc[keep])[0, 1]), 3)}


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


def features(table: pd.DataFrame, n: int) -> tuple[np.ndarray, str]:
    """(features of the first ``n`` images, what they are): cached EfficientNet-Lite0 embeddings, else pixels."""
    for path in glob.glob(str(ROOT / ".sda2" / "arrays" / "sda2_bench" / "*" / "embeddings_effnet_lite0.npy")):
        X = np.load(path, mmap_mode="r")
        if X.shape[0] == n:  # written by bench_real_noise.py in the table's order (its dataset of the first n)
            return np.asarray(X, dtype=np.float32), f"EfficientNet-Lite0 embeddings (cache {Path(path).parent.name})"
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
    return X, "raw pixels (no embedding cache found)"


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


def wilson_upper(k: np.ndarray, n: np.ndarray, z: float = 1.96) -> np.ndarray:
    """Upper bound of the Wilson 95 % interval of k right out of n."""
    p = k / n
    return (p + z * z / (2 * n) + z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))) / (1 + z * z / n)


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
    parser.add_argument("--n", type=int, default=10_000, help="images in the model-prior subsample (first n)")
    parser.add_argument("--full-glad", action="store_true", help="run GLAD on all 50,000 items too (~2 min)")
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
    result: dict = {"answers": len(answers), "items": len(table), "workers": int(answers["worker"].nunique()),
                    "workers_20plus": len(true_acc), "full": {}, "subsample": {}}

    # ours on all 150,000 answers: time, then peak memory
    ours, seconds = run("sda2", answers)
    tracemalloc.start()
    run("sda2", answers)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    result["full"]["sda2"] = {**scores(ours, clean, true_acc), "seconds": round(seconds, 2),
                              "peak_traced_mb": round(peak / 2 ** 20, 1), "iterations": ours.iterations}
    for method in CROWDKIT + (("glad",) if args.full_glad else ()):
        res, seconds = run(method, answers)
        result["full"][method] = {**scores(res, clean, true_acc), "seconds": round(seconds, 2)}
        print(f"  full {method}: {result['full'][method]}", flush=True)

    # the model-prior subsample: every method on the same items
    sub = table.head(args.n)
    sub_answers = answers[answers["item"].isin(sub["index"])]
    sub_true = true_accuracy(sub_answers, clean)
    X, what = features(table, args.n)
    start = time.perf_counter()
    P = oof_prior(X, sub["aggre_label"].to_numpy(object), classes)
    prior = pd.DataFrame(P, index=sub["index"].to_numpy(), columns=classes)
    model_acc = float((np.asarray(classes)[P.argmax(1)] == sub["clean_label"].to_numpy()).mean())
    result["subsample"]["prior"] = {"n": args.n, "features": what, "oof_seconds": round(time.perf_counter() - start, 1),
                                    "model_accuracy_vs_clean": round(model_acc, 4),
                                    "trained_on": "aggre_label (majority of the three answers)"}
    if model_acc < 0.3:
        raise SystemExit(f"The out-of-fold model is {model_acc:.1%} right: the cached embeddings are not in the "
                         "table's order. Fix: delete the cache or rerun bench_real_noise.py.")
    gold_items = pd.Index(sub["index"].to_numpy()[np.random.default_rng(0).random(len(sub)) < 0.05])
    gold = clean.reindex(gold_items)
    not_gold = pd.Index(sub["index"]).difference(gold_items)
    runs = {m: {"method": m} for m in CROWDKIT + ("glad",)}
    runs.update({"sda2": {"method": "sda2"}, "sda2+prior": {"method": "sda2", "probabilities": prior},
                 "sda2+gold5%": {"method": "sda2", "gold": gold},
                 "sda2+prior+gold5%": {"method": "sda2", "probabilities": prior, "gold": gold}})
    for name, kwargs in runs.items():
        res, seconds = run(kwargs.pop("method"), sub_answers, **kwargs)
        row = {**scores(res, clean, sub_true), "accuracy_non_gold": scores(res, clean, sub_true, not_gold)["accuracy"],
               "seconds": round(seconds, 2)}
        if res.info.get("prior_weight") is not None:
            row["prior_weight"] = round(res.info["prior_weight"], 3)
        result["subsample"][name] = row
        print(f"  subsample {name}: {row}", flush=True)

    all_gold = pd.Index(table["index"].to_numpy()[np.random.default_rng(1).random(len(table)) < 0.05])
    result["honeypots_5pct"] = honeypots(answers, clean, true_acc, all_gold)
    result["throughput"] = throughput(answers, clean, true_acc)
    result["planner"] = replay_plan(answers, table, clean)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "crowd.json").write_text(json.dumps(result, indent=2, default=float))

    print(f"\nCIFAR-10N: {len(answers):,} answers, {len(table):,} items, {result['workers']} workers "
          f"({len(true_acc)} with >= 20 answers)")
    print(f"{'method':<22}{'items':>8}{'accuracy':>10}{'pearson':>9}{'seconds':>9}")
    for scope, rows in (("all", result["full"]), (f"first {args.n}", result["subsample"])):
        for name, row in rows.items():
            if "accuracy" in row:
                print(f"{name:<22}{scope:>8}{row['accuracy']:>10.2%}{row['pearson']:>9.3f}{row['seconds']:>9.2f}")
    print(f"ours on 150,000 answers: {result['full']['sda2']['seconds']} s, peak traced memory "
          f"{result['full']['sda2']['peak_traced_mb']} MB")
    print("prior:", result["subsample"]["prior"])
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
