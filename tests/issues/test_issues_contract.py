"""Every registered issue check follows the contract (as scikit-learn's parametrize_with_checks does for
estimators): a name, declared needs, the two columns, one row per sample in order, bool flags, scores in
[0, 1] or NaN, and a summary that counts the flags. Run on a private copy of digits with real predictions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sda2.compute.predictions import compute_predictions
from sda2.issues.base import NEEDS, IssueContext, IssueResult, check_result
from sda2.issues.registry import get, issue_types
from tests.conftest import private_copy

NAME = "t_issues_contract"
# near duplicates without the image verification pass: the same frame, a tenth of the time (the verified
# path runs in tests/issues/test_issues_registry.py through the Duplicates page)
OPTIONS = {"near_duplicate": {"verify": False}}


@pytest.fixture(scope="module")
def context(digits):
    """A 150-sample private copy of digits with out-of-fold predictions, and one context shared by the checks."""
    from sda2 import store

    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    dataset = private_copy(digits, NAME, 150)
    compute_predictions(dataset)
    yield IssueContext(dataset, progress=False, options=OPTIONS)
    store.delete_dataset(NAME)


@pytest.fixture(scope="module")
def results(context):
    """Each check's result on the shared context, computed once."""
    return {}


def _found(name, context, results) -> IssueResult:
    if name not in results:
        results[name] = get(name).find(context)
    return results[name]


def test_the_built_in_checks_are_registered():
    assert {"label", "near_duplicate", "outlier", "class_imbalance", "blurry", "dark", "light", "low_information",
            "odd_size", "odd_aspect_ratio", "grayscale"} <= set(issue_types())


@pytest.mark.parametrize("name", issue_types())
def test_declares_name_needs_and_description(name):
    check = get(name)
    assert check.name == name and name.isidentifier()
    assert isinstance(check.needs, tuple) and check.needs and set(check.needs) <= set(NEEDS)
    assert isinstance(check.description, str) and len(check.description) > 10
    assert check.fields[:2] == (f"is_{name}_issue", f"{name}_score")


@pytest.mark.parametrize("name", issue_types())
def test_find_follows_the_contract(name, context, results):
    check = get(name)
    result = _found(name, context, results)
    assert isinstance(result, IssueResult)
    frame = result.frame
    assert list(frame.index) == context.ids  # one row per sample, in dataset order
    assert {f"is_{name}_issue", f"{name}_score"} <= set(frame.columns) <= set(check.fields)
    assert frame[f"is_{name}_issue"].dtype == bool
    scores = frame[f"{name}_score"].to_numpy(dtype=float)
    finite = scores[~np.isnan(scores)]
    assert len(finite) and not np.isinf(scores).any() and finite.min() >= 0 and finite.max() <= 1
    assert not (frame[f"is_{name}_issue"] & np.isnan(scores)).any()  # nothing flagged without a score
    assert isinstance(result.summary, dict)
    assert result.summary["issues"] == int(frame[f"is_{name}_issue"].sum())
    assert result.summary["scored"] == len(finite)
    check_result(check, context.ids, result)  # the validator find_issues applies agrees


@pytest.mark.parametrize("name", issue_types())
def test_flags_are_the_low_scores(name, context, results):
    """Lower score = more likely an issue: every flagged sample scores at most the median unflagged one."""
    frame = _found(name, context, results).frame
    flagged = frame.loc[frame[f"is_{name}_issue"], f"{name}_score"]
    unflagged = frame.loc[~frame[f"is_{name}_issue"], f"{name}_score"].dropna()
    assert (flagged <= unflagged.median()).all()


def test_label_and_outlier_checks_find_something_here(context, results):
    assert _found("label", context, results).summary["issues"] > 0  # digits has a few ambiguous labels
    assert _found("outlier", context, results).summary["issues"] > 0  # 1 % by construction


def test_the_validator_rejects_results_that_break_the_contract(context, results):
    check = get("dark")
    good = _found("dark", context, results)
    broken = {
        "misaligned rows": IssueResult(good.frame.iloc[::-1], good.summary),
        "missing score": IssueResult(good.frame.drop(columns=["dark_score"]), good.summary),
        "undeclared column": IssueResult(good.frame.assign(extra=1), good.summary),
        "non-bool flags": IssueResult(good.frame.assign(is_dark_issue=good.frame["is_dark_issue"].astype(int)),
                                      good.summary),
        "score above 1": IssueResult(good.frame.assign(dark_score=good.frame["dark_score"] + 2), good.summary),
        "wrong count": IssueResult(good.frame, {**good.summary, "issues": good.summary["issues"] + 1}),
        "not a result": pd.DataFrame(),
    }
    for result in broken.values():
        with pytest.raises(ValueError, match="dark"):
            check_result(check, context.ids, result)
