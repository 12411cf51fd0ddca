"""The project's own database: started once, shared, the test database separate from the user's."""

import os
import sys

import pytest

from sda2 import config, database
from tests import forked
from tests.conftest import TEST_DB


def test_fiftyone_uses_the_project_database():
    from sda2 import store
    import fiftyone as fo

    assert fo.config.database_uri == database.own_uri() == store.DATABASE_URI
    assert fo.config.database_name == TEST_DB


def test_ensure_running_is_idempotent_across_processes():
    code = "import sda2.store as s; print(s.DATABASE_URI)"
    outs = [forked.run([sys.executable, "-c", code], env=os.environ.copy()) for _ in range(2)]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    assert {o.stdout.strip() for o in outs} == {database.own_uri()}


def test_port_serving_another_folder_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("SDA2_HOME", str(tmp_path))
    with pytest.raises(database.DatabaseError, match="another folder"):
        database.ensure_running()


def test_user_uri_is_used_as_given(monkeypatch):
    monkeypatch.setenv("FIFTYONE_DATABASE_URI", "mongodb://example.invalid:1")
    monkeypatch.delenv("SDA2_OWN_DB_URI", raising=False)
    assert database.ensure_running() == "mongodb://example.invalid:1"


def test_home_defaults_inside_the_project(monkeypatch):
    monkeypatch.delenv("SDA2_HOME", raising=False)
    assert config.home() == config.PROJECT_ROOT / ".sda2"
