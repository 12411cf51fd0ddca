"""Who owns a piece of unfinished work, and whether that owner is still alive.

Work that a crash could leave half done (an import's temporary dataset, an append, a queue item being
resolved, a computed write-back) records :func:`owner`: the process id, the host, the boot and the
process's start time. Recovery may take the work over only when :func:`is_alive` says the owner is gone:
on the same host, the process no longer exists (or its id now belongs to another process); on another
host, the record is older than a timeout, since a process elsewhere cannot be asked.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sda2.clock import as_utc

STALE_AFTER = timedelta(hours=6)  # owners on other hosts are presumed dead after this long


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (Linux): state first, start time 20th."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, which tells a reused pid apart."""
    stat = _stat(pid)
    return int(stat[19]) if stat else None


def owner() -> dict:
    """A record naming this process: pid, host, boot id, start ticks, and when the record was made."""
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(), "boot": _boot_id(), "start": _start_ticks(pid),
            "at": datetime.now(timezone.utc)}


def is_mine(record: dict | None) -> bool:
    """True when ``record`` names this very process."""
    return bool(record) and record.get("pid") == os.getpid() and record.get("host") == socket.gethostname()


def _aware(at) -> datetime | None:
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at)
        except ValueError:
            return None
    if not isinstance(at, datetime):
        return None
    return as_utc(at)


def is_alive(record: dict | None, stale_after: timedelta = STALE_AFTER) -> bool:
    """Whether the process ``record`` names may still be running (False for a missing or unreadable record)."""
    if not isinstance(record, dict) or not isinstance(record.get("pid"), int):
        return False
    if record.get("host") != socket.gethostname():
        at = _aware(record.get("at"))
        return at is not None and datetime.now(timezone.utc) - at < stale_after
    if record.get("boot") and _boot_id() and record["boot"] != _boot_id():
        return False  # the machine restarted since
    try:
        os.kill(record["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    stat = _stat(record["pid"])
    if stat is None:
        return True  # no /proc here: the pid exists, so presume it is the owner
    started = record.get("start")
    return stat[0] not in ("Z", "X") and (started is None or int(stat[19]) == started)
