"""The quality report of the default dataset: every section with its real figures, escaped names, CLI, PDF."""

from __future__ import annotations

import re

import pytest

import fiftyone as fo
from sda2 import cli, store
from sda2.explore import evaluation
from sda2.analysis import evaluation as metrics
from sda2.compute.label_issues import detect_label_issues
from sda2.compute.predictions import compute_predictions
from sda2.curation import edits, releases
from sda2.report import quality_report as qr

EVIL = "<b>고양이</b> & $x$"


@pytest.fixture
def ds(digits, dataset_name):
    """digits with two wrong labels, out-of-fold predictions, label issues, two reviews, an exclusion and a
    release v1."""
    copy = digits.clone(dataset_name, persistent=True)
    for sample, wrong in zip(copy.limit(2), ("5", "6")):  # a 0 and a 1 (sklearn's order), mislabeled outside sda2
        sample.ground_truth.label = wrong
        sample.save()
    compute_predictions(copy)
    detect_label_issues(copy)
    flagged = copy.match({"is_label_issue": True}).values("id")
    labels = dict(zip(copy.select(flagged).values("id"), copy.select(flagged).values("ground_truth.label")))
    edits.review(copy, flagged[0], "relabel", "alice", new_label=str((int(labels[flagged[0]]) + 1) % 10),
                 reason="stroke reads differently")
    edits.review(copy, flagged[1], "keep", "alice")
    edits.mark(copy, copy.take(2, seed=7).values("id"), "excluded", "bob", EVIL)
    releases.create_release(copy, "v1", "carol", notes=EVIL, guideline_version="g-1")
    return copy


def test_report_has_every_section_with_the_real_figures(ds):
    report = qr.build_report(f"{ds.name}@v1")
    assert list(report.sections) == qr.SECTIONS
    page = report.html()
    n = len(ds) - 2
    assert report.facts["samples"] == n and f"{n:,} images for release" in page
    # class distribution per split: the release's own counts
    frame = releases.release_frame(ds, "v1")
    kept = frame[~releases.excluded_mask(frame)]
    expected = kept.groupby(["split", "label"]).size()
    got = report.facts["distribution"].set_index(["split", "label"])["count"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    # model metrics: accuracy of the out-of-fold predictions against the released labels
    pred, _ = evaluation.prediction_frame(ds)
    pred = pred[pred["id"].isin(kept["sample_id"])]
    truth = pred["id"].map(kept.set_index("sample_id")["label"])
    acc = metrics.accuracy(truth, pred["predicted"])
    assert report.facts["accuracy"] == pytest.approx(acc) and f"accuracy <b>{acc:.1%}</b>" in page
    # label accuracy: open flags x share of reviewed flags found wrong (1 of 2), with an interval around it
    est, low, high = report.facts["label_accuracy"]
    flagged = len(ds.select(list(kept["sample_id"])).match({"is_label_issue": True}))
    assert low < est < high and est == pytest.approx(1 - (flagged - 2) * 0.5 / n)
    assert f"Estimated label accuracy: {est:.1%}" in page
    assert "No labeling rounds recorded in sda2" in page and "g-1" in page
    assert report.facts["label_edits"] == 1 and report.facts["excluded"] == 2
    assert report.facts["review_share"] == pytest.approx(2 / n) and report.facts["rejection_rate"] == 0.5
    # every user string escaped, nothing fetched from a network
    assert EVIL not in page and "&lt;b&gt;고양이&lt;/b&gt; &amp; $x$" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"https?:", page)
    assert len(report.figures) == 1 and "Plotly.newPlot" in page


def test_report_of_the_dataset_now_and_without_predictions(digits, dataset_name):
    copy = digits.clone(dataset_name, persistent=True)
    report = qr.build_report(copy)
    page = report.html()
    assert "(as it is now)" in page and "not a release" in page
    assert "No model predictions" in page and "Not estimated" in page
    assert "Duplicates and leakage between splits were not checked." in report.facts["limitations"]


def test_cli_report_writes_html_and_pdf(ds, tmp_path, capsys):
    out = tmp_path / "r" / "report.html"
    assert cli.main(["report", f"{ds.name}@v1", "--out", str(out), "--pdf"]) == 0
    assert "Quality report written to" in capsys.readouterr().out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"
    assert cli.main(["report", f"{ds.name}@v1", "--out", str(tmp_path / "r.txt")]) == 2
    assert "does not end in .html" in capsys.readouterr().err


def test_cli_release_list_and_diff(ds, tmp_path, capsys):
    sid = ds.match_tags("excluded", bool=False).first().id
    edits.set_label(ds, sid, str((int(ds[sid].ground_truth.label) + 1) % 10), "dave", "after v1")
    assert cli.main(["release", ds.name, "--version", "v2", "--notes", "one more fix", "--by", "erin"]) == 0
    assert "1 rows stored (changes since v1)" in capsys.readouterr().out
    assert cli.main(["release", ds.name, "--list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in listing] == ["v1", "v2"]
    assert cli.main(["diff", f"{ds.name}@v1", f"{ds.name}@v2", "--csv", str(tmp_path / "d.csv")]) == 0
    assert "1 labels changed" in capsys.readouterr().out
    assert "dave" in (tmp_path / "d.csv").read_text()
    assert cli.main(["release", ds.name, "--version", "v2"]) == 2
    assert "already has a release 'v2'" in capsys.readouterr().err
    assert cli.main(["release", ds.name, "--version", "bad version"]) == 2
    assert not [n for n in fo.list_datasets() if n.startswith(ds.name + "@")]
    assert store.open_dataset(ds.name) is not None
