"""Test set-up: a database of their own (``sda2_test``, ``sda2_test_gw0``… per pytest-xdist worker) in the
project's server, never the user's, so parallel workers never see each other's datasets."""

from __future__ import annotations

import os
from pathlib import Path

TEST_DB = "sda2_test" + (f"_{os.environ['PYTEST_XDIST_WORKER']}" if os.environ.get("PYTEST_XDIST_WORKER") else "")
os.environ["FIFTYONE_DATABASE_NAME"] = TEST_DB
os.environ.setdefault("SDA2_HOME", str(Path(__file__).resolve().parent.parent / ".sda2"))

import pytest  # noqa: E402

import sda2  # noqa: E402  (exports the database environment before FiftyOne is imported)

MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="session")
def digits():
    """The default digits dataset in the test database (loaded once per session)."""
    from sda2 import store
    from sda2.ingest import load_default

    if "digits" not in store.list_datasets():
        load_default()
    return store.open_dataset("digits")


@pytest.fixture
def dataset_name(request):
    """A unique dataset name for one test, deleted afterwards whatever happened."""
    from sda2 import store

    name = "t_" + request.node.name.replace("[", "_").replace("]", "")[:60]
    if name in store.list_datasets():
        store.delete_dataset(name)
    yield name
    if name in store.list_datasets():
        store.delete_dataset(name)


@pytest.fixture(scope="session")
def mnist_dir():
    """The shared MNIST test-set folder; skips with a clear message where it is absent."""
    if not (MNIST_DIR / "t10k-images-idx3-ubyte.gz").exists():
        pytest.skip(f"MNIST not found at {MNIST_DIR}; put the idx files there to run this test")
    return MNIST_DIR


@pytest.fixture(scope="session")
def artifacts():
    """Folder for screenshots and other files a person should look at after the tests."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def private_copy(source, name: str, limit: int | None = None):
    """A persistent copy of ``source`` (its first ``limit`` samples) named ``name``, without edit history.

    A clone keeps the audit-entry ids that sda2 records on edited samples, but those entries live in the
    source's log (a clone starts a log of its own), so tests that check data == log start without them.
    """
    from sda2.curation import audit

    view = source if limit is None else source.limit(limit)
    if audit.EDIT_IDS_FIELD in source.get_field_schema():
        view = view.exclude_fields(audit.EDIT_IDS_FIELD)
    return view.clone(name, persistent=True)
