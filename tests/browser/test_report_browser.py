"""The quality report in a real browser (file://, no network): every section drawn, the plot rendered, Korean
class names in a CJK font; a screenshot to look at in tests/artifacts/report_browser.png."""

from __future__ import annotations

import uuid

import fiftyone as fo
from sda2 import store
from sda2.compute.label_issues import detect_label_issues
from sda2.compute.predictions import compute_predictions
from sda2.curation import edits, releases
from sda2.ingest import import_fiftyone
from sda2.report import quality_report as qr


def test_report_renders_in_the_browser(digits, dataset_name, browser, artifacts, tmp_path):
    # digits with Korean class names (via a FiftyOne copy whose labels are renamed), predictions and a release
    korean = {str(d): f"{d} 숫자" for d in range(10)}
    src = digits.clone(f"kr_src_{uuid.uuid4().hex[:8]}")
    labels = src.values("ground_truth.label")
    src.set_values("ground_truth", [fo.Classification(label=korean[lab]) for lab in labels])
    src.classes = {}
    src.save()
    import_fiftyone(src.name, dataset_name)
    src.delete()
    ds = store.open_dataset(dataset_name)
    compute_predictions(ds)
    detect_label_issues(ds)
    edits.mark(ds, ds.take(3, seed=1).values("id"), "excluded", "민지", "번진 이미지 <blurred>")
    releases.create_release(ds, "v1", "민지", notes="첫 납품 <v1>", guideline_version="2024-06")
    out = qr.write_report(f"{dataset_name}@v1", tmp_path / "report.html", pdf=True)
    assert out.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.goto(out.as_uri())
    page.wait_for_selector(".plotly .main-svg", timeout=20000)
    headings = page.locator("h2").all_inner_texts()
    assert [h.split(". ", 1)[1] for h in headings] == qr.SECTIONS
    ticks = page.eval_on_selector_all(".plotly .xtick text", "els => els.map(e => e.textContent)")
    assert "0 숫자" in ticks and "9 숫자" in ticks
    assert "첫 납품 <v1>" in page.locator("body").inner_text()
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "Noto Sans CJK KR" in font and "NanumGothic" in font
    assert not failed
    page.screenshot(path=str(artifacts / "report_browser.png"), full_page=False)
    page.locator("#s1").screenshot(path=str(artifacts / "report_browser_distribution.png"))
    page.close()
