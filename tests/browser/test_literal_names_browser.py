"""Names are shown as text in a real browser: class, tag, split and labeler names full of Markdown and HTML
(`<b>bold</b>`, `a &amp; b`, an image link to a local tracking server, a long Korean name) on Overview, Samples,
Evaluation, Quality and Labeling. The tracking server must get zero requests; every name must appear literally
(in page text, widget values or plotly's SVG text) and no bold or image may come out of one. Also: a plain
`streamlit run app.py` listens on 127.0.0.1 only (.streamlit/config.toml)."""

from __future__ import annotations

import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import tests.browser.conftest as harness
from sda2 import store
from sda2.curation import annotations
from sda2.curation import queue as lq
from sda2.ui.safe_text import WORD_JOINER

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NAME = "t_browser_literal"
N = 24
KOREAN = "고양이_아주_긴_이름의_클래스"
TAG = "<b>tag</b>"
SPLIT = "<i>test</i>"
LABELERS = ("<i>ann</i>", "kim &amp; lee")
VIEWER = "zed"


class _Tracker(http.server.BaseHTTPRequestHandler):
    """Counts every request; a rendered `![t](http://127.0.0.1:PORT/track.png)` would be one."""

    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def tracker():
    """A local HTTP server on a free port that records the paths it is asked for."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tracker)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Tracker.hits = []
    yield server.server_address[1], _Tracker.hits
    server.shutdown()


@pytest.fixture(scope="module")
def classes(tracker):
    """The four class names: bold HTML, an entity, an image link to the tracker, a long Korean name."""
    return ["<b>bold</b>", "a &amp; b", f"![t](http://127.0.0.1:{tracker[0]}/track.png)", KOREAN]


@pytest.fixture(scope="module")
def literal_ds(digits, classes):
    """24 digits relabeled with the four names, predictions (some wrong), a tag, a split, and two queues: one
    answered by two labelers with odd names (agreement, adjudication), one open for the viewer."""
    import fiftyone as fo

    if NAME in store.list_datasets():
        store.delete_dataset(NAME)
    ds = digits.limit(N).clone(NAME, persistent=True)
    labels = [classes[i % 4] for i in range(N)]
    rng = np.random.default_rng(0)
    predictions = []
    for i, label in enumerate(labels):
        guess = label if i % 3 else classes[(i + 1) % 4]
        logits = rng.normal(0, 0.3, 4)
        logits[classes.index(guess)] += 2.0
        probs = np.exp(logits) / np.exp(logits).sum()
        predictions.append(fo.Classification(label=guess, confidence=float(probs.max()), logits=logits.tolist()))
    ds.set_values("ground_truth", [fo.Classification(label=label) for label in labels])
    ds.set_values("predictions", predictions)
    ds.set_values("split", ["train" if i % 2 else SPLIT for i in range(N)])
    ds.classes = {"ground_truth": classes, "predictions": classes}
    ds.save()
    ids = ds.values("id")
    ds.select(ids[:3]).tag_samples(TAG)
    lq.create_queue(ds, "answered", ids[:8], labels_per_sample=2, overlap=1.0)
    for i, sid in enumerate(ids[:8]):
        for who in LABELERS:
            label = labels[i] if who == LABELERS[0] or i % 2 else classes[(i + 2) % 4]
            lq.submit(ds, "answered", who, sid, label, 2.0)
    lq.create_queue(ds, "label-me", ids[8:14])
    assert len(annotations.find(ds)) == 16
    yield ds
    store.delete_dataset(NAME)


@pytest.fixture(scope="module")
def literal_url(literal_ds, artifacts):
    """The app served by `streamlit run` for this module."""
    server = harness.AppServer(artifacts / "streamlit_literal.log")
    yield server.url
    server.stop()


def _settle(page) -> None:
    """Wait until the script run has finished and the charts are drawn."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    page.wait_for_timeout(800)


def _rendered(page) -> str:
    """Everything a person can read on the page: text, widget values, and plotly's SVG text."""
    text = page.locator("body").inner_text()
    values = page.locator("input").evaluate_all("els => els.map(e => e.value)")
    svg = page.locator("svg text").all_text_contents()
    return "\n".join([text, *values, *svg]).replace(WORD_JOINER, "")  # invisible: it keeps URLs from being links


def _check(page, expected: list[str], port: int) -> dict[str, bool]:
    """{name: shown literally} for ``expected``; also fails on any markup that came out of a name."""
    _settle(page)
    shown = _rendered(page)
    for name in expected:
        if "&amp;" in name:
            assert name.replace("&amp;", "&") not in shown, f"the entity in {name!r} was decoded"
    assert page.locator(f"img[src*=':{port}']").count() == 0, "a name became an image"
    links = page.locator(f"a[href*=':{port}']")
    assert links.count() == 0, f"a name became a link: {links.first.evaluate('e => e.parentElement.outerHTML')}"
    assert page.locator("[data-testid=stMarkdownContainer] b, [data-testid=stMarkdownContainer] i").count() == 0
    bold = page.locator("svg tspan").evaluate_all(
        "els => els.filter(e => /bold/.test(e.getAttribute('style') || '') && /^(bold|tag|test|ann)$/"
        ".test(e.textContent)).length")
    assert bold == 0, "plotly drew a name's tag as markup"
    return {name: name in shown for name in expected}


PAGES_CHECKED: dict[str, dict[str, bool]] = {}


def test_every_page_shows_the_names_literally_and_fetches_nothing(browser, literal_url, literal_ds, classes,
                                                                  tracker, artifacts):
    port, hits = tracker
    context, page = harness.open_app_as(browser, literal_url, NAME, N, VIEWER, "Overview")
    page.get_by_text(f"Overview of {NAME}").wait_for()
    _settle(page)
    pick = page.get_by_test_id("stSidebar").get_by_label("Prediction field")
    if pick.input_value() != "predictions":
        pick.click()
        page.keyboard.type("predictions")
        page.keyboard.press("Enter")
    page.get_by_text("predictions from 'predictions'").wait_for()
    page.locator(".js-plotly-plot g.xtick text").first.wait_for()
    PAGES_CHECKED["Overview"] = _check(page, classes + [SPLIT], port)
    page.screenshot(path=str(artifacts / "literal_overview.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Samples", exact=True).click()
    page.get_by_text(f"Samples of {NAME}").wait_for()
    page.get_by_role("button", name=re.compile(r"^#1 · tags")).click()
    page.get_by_test_id("stMetric").filter(has_text="Given label").wait_for()
    page.locator(".js-plotly-plot g.ytick text").first.wait_for()
    first_label, first_prediction = literal_ds.first().ground_truth.label, literal_ds.first().predictions.label
    PAGES_CHECKED["Samples"] = _check(page, [TAG, first_label, first_prediction], port)
    page.screenshot(path=str(artifacts / "literal_samples.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Evaluation", exact=True).click()
    page.get_by_text(f"Evaluation of {NAME}").wait_for()
    page.get_by_text("Top confusions").wait_for()
    page.locator(".js-plotly-plot g.xtick text").first.wait_for()
    PAGES_CHECKED["Evaluation"] = _check(page, classes, port)
    page.screenshot(path=str(artifacts / "literal_evaluation.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Quality", exact=True).click()
    page.get_by_role("heading", name="Labeling quality").wait_for()
    page.locator(".js-plotly-plot g.xtick text").first.wait_for()
    found = _check(page, list(LABELERS), port)
    page.get_by_role("tab", name="Classes").click()
    page.wait_for_timeout(800)
    found |= _check(page, classes, port)
    page.get_by_role("tab", name=re.compile(r"^Adjudication")).click()
    page.get_by_text("weighted vote:").first.wait_for()
    found |= {f"votes of {who}": ok for who, ok in _check(page, list(LABELERS), port).items()}
    PAGES_CHECKED["Quality"] = found
    page.screenshot(path=str(artifacts / "literal_quality.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_role("link", name="Labeling", exact=True).click()
    page.get_by_role("heading", name="Labeling").wait_for()
    page.get_by_text(re.compile(r"^sample [0-9a-f]{24}$")).wait_for()
    PAGES_CHECKED["Labeling"] = _check(page, classes, port)
    page.screenshot(path=str(artifacts / "literal_labeling.png"), full_page=True)
    context.close()

    time.sleep(0.5)
    assert hits == [], f"the browser fetched the tracking URL: {hits}"
    missing = {page_name: [n for n, ok in found.items() if not ok] for page_name, found in PAGES_CHECKED.items()}
    assert all(not names for names in missing.values()), missing
    shown = sum(len(found) for found in PAGES_CHECKED.values())
    print(f"\n{len(PAGES_CHECKED)} pages checked, {shown} names rendered literally, 0 tracker requests")


def _listening_address(port: int, deadline_s: float = 60) -> str:
    """The local address a TCP socket listens on for ``port`` (from /proc/net/tcp and tcp6)."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    if len(address) == 8:
                        return socket.inet_ntoa(bytes.fromhex(address)[::-1])
                    return "::" if set(address) == {"0"} else address
        time.sleep(0.3)
    raise AssertionError(f"nothing listens on port {port} after {deadline_s} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_plain_streamlit_run_listens_on_loopback_only(artifacts):
    port = _free_port()
    with open(artifacts / "streamlit_plain.log", "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                                cwd=ROOT, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
        try:
            assert _listening_address(port) == "127.0.0.1"
            assert urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=30).read() == b"ok"
        finally:
            proc.terminate()
            proc.wait(10)
