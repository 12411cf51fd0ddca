"""A check added at runtime in one class shows up in issue_types(), find_issues and the Issues page; its
run is listed and deleted with its fields; bad checks and bad calls get clear errors and write nothing."""

from __future__ import annotations

import numpy as np
import pytest

import sda2
from sda2 import runs, store
from sda2.issues import writer
from sda2.issues.base import IssueCheck
from sda2.issues.registry import register, unregister
from tests.apptest import open_page
from tests.conftest import private_copy

PAGE = "app_pages/issues.py"


class EvenCheck(IssueCheck):
    """A toy check: every other sample is an issue."""

    name = "toy_even"
    needs = ("images",)
    description = "Toy: samples at even positions."

    def find(self, context):
        """Flag even positions; score 0.2 there and 0.9 elsewhere."""
        even = np.arange(len(context.ids)) % 2 == 0
        return self.result(context, even, np.where(even, 0.2, 0.9), {"note": "toy"})


class BrokenCheck(IssueCheck):
    """A toy check whose result breaks the contract (one row short)."""

    name = "toy_broken"
    needs = ("images",)
    description = "Toy: returns too few rows."

    def find(self, context):
        """One row short of the samples."""
        result = EvenCheck.find(self, context)
        result.frame = result.frame.iloc[1:].rename(columns=lambda c: c.replace("toy_even", "toy_broken"))
        return result


class FailingCheck(IssueCheck):
    """A toy check that meets bad input."""

    name = "toy_failing"
    needs = ("images",)
    description = "Toy: always raises ValueError."

    def find(self, context):
        """Raise like a check that meets bad input."""
        raise ValueError("toy input is unusable. Fix: none, it is a toy")


@pytest.fixture
def toys():
    """The toy checks registered for one test, removed afterwards."""
    for check in (EvenCheck, BrokenCheck, FailingCheck):
        register(check)
    yield
    for check in (EvenCheck, BrokenCheck, FailingCheck):
        unregister(check.name)


@pytest.fixture
def small(digits, dataset_name):
    """A 20-sample private copy of digits."""
    private_copy(digits, dataset_name, 20)
    return dataset_name


def test_runtime_check_is_listed_run_written_and_deleted(toys, small):
    assert {"toy_even", "toy_broken", "toy_failing"} <= set(sda2.issue_types())
    summary = sda2.find_issues(small, ["toy_even"], annotator="erin", progress=False)
    assert summary.loc["toy_even", ["status", "issues", "scored", "samples"]].tolist() == ["found", 10, 20, 20]
    ds = store.open_dataset(small)
    assert ds.values("is_toy_even_issue") == [i % 2 == 0 for i in range(20)]
    assert ds.values("toy_even_score") == [0.2 if i % 2 == 0 else 0.9 for i in range(20)]
    assert "sda2_issue_toy_even" in ds.list_runs() and runs.state(ds, "sda2_issue_toy_even") == "complete"
    stored = writer.stored_summary(ds, "toy_even")
    assert (stored["issues"], stored["note"], stored["check"]) == (10, "toy", "toy_even")
    assert ds.get_run_info("sda2_issue_toy_even").config.params["by"] == "erin"
    overview = sda2.issue_overview(small).set_index("check")
    assert overview.loc["toy_even", ["state", "issues"]].tolist() == ["complete", 10]
    assert overview.loc["dark", "state"] == "not run"

    assert sorted(sda2.delete_issue_result(small, "toy_even")) == ["is_toy_even_issue", "toy_even_score"]
    ds = store.open_dataset(small)
    assert not {"is_toy_even_issue", "toy_even_score"} & set(ds.get_field_schema())
    assert "sda2_issue_toy_even" not in ds.list_runs() and writer.status(ds, "toy_even") is None


def test_bad_checks_fail_alone_and_write_nothing(toys, small):
    with pytest.warns(UserWarning, match="toy_failing"):
        summary = sda2.find_issues(small, ["toy_broken", "toy_failing", "toy_even"], progress=False)
    assert summary["status"].to_dict() == {"toy_broken": "failed", "toy_failing": "failed", "toy_even": "found"}
    assert "not aligned with the 20 samples" in summary.loc["toy_broken", "message"]
    assert "toy input is unusable" in summary.loc["toy_failing", "message"]
    ds = store.open_dataset(small)
    assert not [f for f in ds.get_field_schema() if "toy_broken" in f or "toy_failing" in f]
    assert set(ds.list_runs()) == {"sda2_issue_toy_even"}


def test_missing_inputs_are_skipped_with_the_fix(small):
    with pytest.warns(UserWarning, match="no label field 'nope'"):
        summary = sda2.find_issues(small, ["class_imbalance", "dark"], label_field="nope", progress=False)
    assert summary["status"].to_dict() == {"class_imbalance": "skipped", "dark": "found"}
    assert "Fix:" in summary.loc["class_imbalance", "message"]
    with pytest.warns(UserWarning, match="no predictions"):
        summary = sda2.find_issues(small, "label", compute_missing=False, progress=False)
    assert summary.loc["label", "status"] == "skipped"


def test_bad_calls_get_clear_errors(small, digits):
    with pytest.raises(KeyError, match="No issue check named 'blury'.*blurry"):
        sda2.find_issues(small, ["blury"])
    with pytest.raises(KeyError, match="unknown checks"):
        sda2.find_issues(small, ["dark"], options={"drak": {}})
    with pytest.raises(ValueError, match="not a view"):
        sda2.find_issues(digits.limit(3), ["dark"])
    with pytest.raises(ValueError, match="lower-case Python identifier"):
        register(type("Bad", (EvenCheck,), {"name": "has space"}))
    with pytest.raises(ValueError, match="needs is a tuple drawn from"):
        register(type("Bad", (EvenCheck,), {"name": "toy_needs", "needs": ("pixels",)}))
    with pytest.raises(ValueError, match="registered already"):
        register(type("Other", (EvenCheck,), {"name": "dark"}))
    with pytest.raises(TypeError, match="not an IssueCheck"):
        register(object)
    assert "toy_needs" not in sda2.issue_types()


def test_issues_page_lists_runs_and_reviews_the_toy_check(toys, small):
    at = open_page(PAGE, small, annotator="erin")
    assert not at.exception
    names = " ".join(m.value for m in at.markdown)
    for name in sda2.issue_types():
        assert f"**{name.replace('_', chr(92) + '_')}**" in names or f"**{name}**" in names
    assert any("No check has run yet" in i.value for i in at.info)
    at.button(key="run_issue_toy_even").click().run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["toy_even issues"] == "10" and metrics["Checks run"] == "1"
    assert at.selectbox(key="issue_check").value == "toy_even"
    assert len(at.get("image")) == 10  # the ten flagged samples' thumbnails
    assert "sda2_issue_toy_even" in store.open_dataset(small).list_runs()


def test_duplicates_page_button_runs_the_near_duplicate_check(small):
    at = open_page("app_pages/duplicates.py", small, annotator="erin")
    assert any("No duplicates" in i.value for i in at.info)
    at.button(key="run_check_near_duplicate").click().run()
    assert not at.exception
    ds = store.open_dataset(small)
    assert runs.state(ds, "sda2_issue_near_duplicate") == "complete"
    assert ds.values("is_near_duplicate_issue") == ds.values("is_duplicate")
    assert not any("No duplicates" in i.value for i in at.info)
    assert "Groups" in {m.label for m in at.metric}


def test_newer_check_run_owns_the_fields_an_older_run_wrote(small):
    """detect_duplicates' run wrote the duplicate fields; the near_duplicate check rewrites them and takes them
    over, so clearing the older run leaves the newer values (and deleting the check's run removes them)."""
    from sda2.compute.duplicates import detect_duplicates

    detect_duplicates(small, progress=False, verify=False)
    sda2.find_issues(small, ["near_duplicate"], progress=False, options={"near_duplicate": {"verify": False}})
    ds = store.open_dataset(small)
    assert ds.get_run_info("sda2_duplicates").config.fields == ["outlier_distance", "is_outlier"]
    assert runs.clear(ds, "sda2_duplicates") == ["outlier_distance", "is_outlier"]
    ds = store.open_dataset(small)
    assert {"duplicate_group", "is_duplicate", "is_near_duplicate_issue"} <= set(ds.get_field_schema())
    assert "duplicate_group" in sda2.delete_issue_result(small, "near_duplicate")
    assert "duplicate_group" not in store.open_dataset(small).get_field_schema()
