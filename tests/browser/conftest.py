"""A real `streamlit run` on a free localhost port and a headless Debian Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, TEST_DB

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppServer:
    """`streamlit run app.py` on a free localhost port; ``env`` overrides the environment."""

    def __init__(self, log_path: Path, **env: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = open(log_path, "w")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        pytest.fail(f"streamlit did not answer on {self.url} within 60 s; see {log_path}")

    def stop(self) -> None:
        """Stop the server (SIGKILL when it has not ended 30 s after SIGTERM) and close its log."""
        self._proc.terminate()
        try:
            self._proc.wait(30)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(30)
        self._log.close()


@pytest.fixture(scope="session")
def app_url(digits, artifacts):
    """URL of the app served by `streamlit run` on a free port, against the test database."""
    server = AppServer(artifacts / f"streamlit_{TEST_DB}.log")
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium (skips with the install command when it is absent)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed: run `scripts/setup.sh --browser` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh 1400x1000 browser page on the app."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core CI machine can take a minute per rerun
    page.goto(app_url)
    page.get_by_text("Dataset", exact=True).first.wait_for()
    yield page
    context.close()


def open_app_as(browser, url: str, dataset: str, samples: int, annotator: str, page_title: str,
                url_path: str | None = None):
    """A new browser context on the app with ``dataset`` and ``annotator`` chosen in the sidebar, on ``page_title``
    (opened by its ``url_path`` when given: the Overview's figures of the default dataset are never drawn)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core CI machine can take a minute per rerun
    page.goto(f"{url}/{url_path}" if url_path else url)
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text("Dataset", exact=True).wait_for()
    sidebar.get_by_test_id("stSelectbox").first.click()
    page.keyboard.type(dataset)
    page.keyboard.press("Enter")
    sidebar.get_by_text(f"{samples:,} samples in '{dataset}'").wait_for()
    name = sidebar.get_by_label("Your name (for edits and labels)")
    name.fill(annotator)
    name.press("Enter")
    if url_path is None:
        sidebar.get_by_role("link", name=page_title, exact=True).click()
    return context, page


def wait_idle(page) -> None:
    """Wait until the app's rerun is over (no running indicator, no stale elements left from the last run)."""
    page.wait_for_timeout(200)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]') && "
                           "!document.querySelector('[data-stale=true]')")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """When a browser test fails, keep a screenshot of every page it had open (artifacts/failed_<test>_<n>.png)."""
    outcome = yield
    report = outcome.get_result()
    browser = item.funcargs.get("browser")
    if report.when != "call" or not report.failed or browser is None:
        return
    ARTIFACTS.mkdir(exist_ok=True)
    pages = [p for context in browser.contexts for p in context.pages]
    for n, open_page in enumerate(pages):
        try:
            open_page.screenshot(path=str(ARTIFACTS / f"failed_{item.name}_{n}.png"), full_page=True, timeout=10_000)
        except Exception as exc:  # noqa: BLE001 (a page that cannot be drawn must not hide the test's own failure)
            report.sections.append(("failure screenshot", f"page {n}: {exc}"))
