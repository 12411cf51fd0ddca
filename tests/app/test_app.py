"""The app shell, headless through Streamlit's AppTest."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_app_shows_sidebar_pickers(digits):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.selectbox(key="dataset").value == "digits"
    assert at.selectbox(key="label_field").value == "ground_truth"
    assert at.selectbox(key="split").options == ["all splits", "test", "train"]
