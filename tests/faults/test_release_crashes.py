"""A release killed part-way is never listed, its rows are removed by the next release, and the next try works."""

from __future__ import annotations

import pytest

from sda2.curation import releases
from tests.conftest import private_copy
from tests.faults.conftest import run_killed

CODE = """
import sda2
from sda2.curation import releases
releases.create_release({name!r}, "v2", "alice")
"""


@pytest.mark.parametrize("crash_at", ["releases.rows", "releases.chunk", "releases.commit"])
def test_killed_release_leaves_no_trace(digits, dataset_name, crash_at):
    ds = private_copy(digits, dataset_name)
    releases.create_release(ds, "v1", "alice")
    ds.delete_samples(ds.take(5, seed=1).values("id"))
    before = releases.storage_bytes(ds)["rows"]
    run_killed(CODE.format(name=ds.name), crash_at)
    assert [r.version for r in releases.list_releases(ds)] == ["v1"]  # the half-made v2 is not listed
    info = releases.create_release(ds, "v2", "alice")  # cleans the dead attempt, then succeeds
    assert info.stored_rows == 5 and releases.storage_bytes(ds)["rows"] == before + 5
    assert len(releases.release_frame(ds, "v2")) == len(ds)
