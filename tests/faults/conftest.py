"""Fault-injection helpers: run Python in a real subprocess and kill it with SIGKILL at a named point."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from tests import forked
from tests.conftest import TEST_DB


def run_python(code: str, crash_at: str | None = None, crash_after: int = 0, timeout: float = 300,
               env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter on the test database; with ``crash_at``, it is killed there."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SDA2_CRASH_AT", None)
    if crash_at:
        full_env["SDA2_CRASH_AT"] = crash_at
        full_env["SDA2_CRASH_AFTER"] = str(crash_after)
    full_env["FIFTYONE_DATABASE_NAME"] = TEST_DB
    prelude = f"import os\nos.environ['FIFTYONE_DATABASE_NAME'] = {TEST_DB!r}\n"
    return forked.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=full_env, timeout=timeout)


def run_killed(code: str, crash_at: str, crash_after: int = 0, **kwargs) -> subprocess.CompletedProcess:
    """Run ``code`` and require that it was killed by SIGKILL at ``crash_at`` (fails otherwise)."""
    proc = run_python(code, crash_at, crash_after, **kwargs)
    assert proc.returncode == -9, (f"expected a SIGKILL at {crash_at!r}, got rc {proc.returncode}\n"
                                   f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-4000:]}")
    return proc


@pytest.fixture
def python_runner():
    """The helpers above, for tests that take them as a fixture."""
    return run_python, run_killed
