"""Team mode (SDA2_TEAM=1) in a real browser. Lena, a labeler, signs in: her menu holds only Labeling, she sees no
one else's answers there, and Quality and the embedding map refuse her even when opened by their URL. She signs
out and Cora, a curator, signs in on the same page: she opens both, sees every answer, fixes a label, and the audit
log names her account. One browser session throughout: a new page load would start a new session (a new sign-in)."""

from __future__ import annotations

import re

import pytest

import tests.browser.conftest as harness
from sda2 import accounts, store
from sda2.curation import audit, queue as lq
from tests.app.test_page_label_errors import suspects  # noqa: F401  (a fixture: a digits copy with 4 flagged samples)

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SAMPLES = 1797
VOTES = "1: bob · 2: dave"  # how the disputed sample's answers read to someone allowed to see them


@pytest.fixture
def team_server(browser):
    """The app served in team mode, its first run (the imports) started by a page left open: the server imports
    while the dataset for the test is made (requested before ``suspects``, so it is set up first)."""
    server = harness.AppServer(harness.ROOT / "tests" / "artifacts" / "streamlit_team.log", SDA2_TEAM="1")
    warm = browser.new_context()
    warm.new_page().goto(server.url)
    yield server
    warm.close()
    server.stop()


@pytest.fixture
def team(team_server, suspects):  # noqa: F811
    """The suspects dataset with queue "team" (2 answers per sample: bob and dave disagree on s1, bob answered s0),
    the accounts lena (labeler) and cora (curator), and the app served in team mode."""
    name = suspects[0]
    ds = store.open_dataset(name)
    ids = ds.values("id")
    lq.create_queue(ds, "team", ids[:3], labels_per_sample=2, overlap=1.0)
    lq.submit(ds, "team", "bob", ids[0], "3", 2.0)
    lq.submit(ds, "team", "bob", ids[1], "1", 2.0)
    lq.submit(ds, "team", "dave", ids[1], "2", 2.0)
    accounts.collection().delete_many({})
    accounts.create_account("lena", "labeler", password=PASSWORD)
    accounts.create_account("cora", "curator", password=PASSWORD)
    yield suspects, team_server.url
    accounts.collection().delete_many({})


def _sign_in(page, who: str, dataset: str | None = None) -> None:
    """Sign in as ``who`` on the sign-in form on screen and (when given) pick ``dataset`` in the sidebar."""
    page.get_by_label("Account name").fill(who)
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_text(f"Signed in as {who} ").wait_for()
    if dataset:
        sidebar.get_by_test_id("stSelectbox").first.click()
        page.keyboard.type(dataset)
        page.keyboard.press("Enter")
        sidebar.get_by_text(f"{SAMPLES:,} samples in '{dataset}'").wait_for()


def _open_url(page, path: str) -> None:
    """Go to ``/path`` as typing it in the address bar of the app does, in the same session: the page is picked
    by its URL (Streamlit's history handling), so the server's check of the URL is what answers."""
    page.evaluate("p => { history.pushState({}, '', p); window.dispatchEvent(new PopStateEvent('popstate')); }",
                  f"/{path}")


def _idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')")


def test_a_labeler_is_refused_quality_the_map_and_others_answers_a_curator_is_not(browser, team, artifacts):
    """One browser session: lena signs in, is refused two pages by their URL and signs out; cora signs in."""
    (name, worst, given, suggested), url = team
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)  # a loaded 2-core CI machine can take a minute per rerun

    page.goto(f"{url}/labeling")  # (the start page sending a labeler to Labeling: tests/app/test_team_mode.py)
    _sign_in(page, "lena", name)
    page.get_by_role("heading", name="Labeling").wait_for()
    page.get_by_text(re.compile(r"^sample [0-9a-f]{24}$")).first.wait_for()
    _idle(page)
    page.screenshot(path=str(artifacts / "team_labeler_labeling.png"))
    sidebar = page.get_by_test_id("stSidebar")
    links = sidebar.get_by_test_id("stPageLink").all_inner_texts()
    assert [text.split("\n")[-1] for text in links] == ["Labeling"]  # (each text starts with its icon name)
    text = page.locator("body").inner_text()
    assert "bob" not in text and "dave" not in text and "Disagreements for adjudication" not in text
    for path, title in (("embedding_map", "Embedding map"), ("quality", "Quality")):  # by their URL
        _open_url(page, path)
        page.get_by_text(f"lena (labeler) may not open {title}").wait_for()
        _idle(page)
        page.screenshot(path=str(artifacts / f"team_labeler_refused_{path}.png"))
        assert "Labeling quality" not in page.locator("body").inner_text()

    sidebar.get_by_role("button", name="Sign out").click()
    _sign_in(page, "cora", name)  # on the page lena was refused last: Quality
    page.get_by_role("heading", name="Labeling quality").wait_for()
    page.get_by_role("tab", name=re.compile(r"^Adjudication")).click()
    page.get_by_text(VOTES).first.wait_for()  # a curator sees every answer
    _idle(page)
    page.screenshot(path=str(artifacts / "team_curator_quality.png"))
    sidebar.get_by_role("link", name="Embedding map", exact=True).click()
    page.get_by_role("heading", name="Embedding map").wait_for()
    sidebar.get_by_role("link", name="Label errors", exact=True).click()
    page.get_by_role("button", name="Accept suggestion").click()
    page.get_by_text(f"accept: sample {worst}").first.wait_for()
    page.get_by_text("Audit log").click()
    page.get_by_role("button", name="Export CSV").wait_for()  # the log's table is drawn on a canvas: see the shot
    _idle(page)
    page.screenshot(path=str(artifacts / "team_curator_audit.png"))
    context.close()

    log = audit.audit_log(store.open_dataset(name))
    assert set(log["annotator"]) == {"cora"} and set(log["sample_id"]) == {worst} and store.open_dataset(name)[worst].ground_truth.label == suggested
