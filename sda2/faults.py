"""Named crash points for fault-injection tests: ``SDA2_CRASH_AT=<name>`` kills the process there.

Code that must survive a crash calls :func:`point` between the steps a crash could separate. Nothing
happens unless the environment names that point, so the calls cost one dictionary look-up in normal use.
``SDA2_CRASH_AFTER=N`` lets the point pass N times before it fires (e.g. crash in the third batch).
"""

from __future__ import annotations

import os
import signal

_hits: dict[str, int] = {}


def point(name: str) -> None:
    """Kill this process with SIGKILL here when ``SDA2_CRASH_AT`` names this point (no clean-up runs)."""
    if os.environ.get("SDA2_CRASH_AT") != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] > int(os.environ.get("SDA2_CRASH_AFTER") or 0):
        os.kill(os.getpid(), signal.SIGKILL)
