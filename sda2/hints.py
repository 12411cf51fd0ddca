"""Fix hints in the caller's own words: command-line flags for ``sda2`` commands, Python arguments otherwise.

A message names its fix both ways, ``hint(cli="--layout class", api="layout='class'")``, and gets the one its
caller uses: the command line runs its commands inside :func:`for_cli`; notebooks, the app and tests get the
Python form (the default). The choice is a context variable, so threads of the app never see the CLI's.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_AUDIENCE: contextvars.ContextVar[str] = contextvars.ContextVar("sda2_hint_audience", default="api")


def hint(cli: str, api: str) -> str:
    """``cli`` when called from the ``sda2`` command line, else ``api``."""
    return cli if _AUDIENCE.get() == "cli" else api


@contextmanager
def for_cli() -> Iterator[None]:
    """Within this block, :func:`hint` gives the command-line form."""
    token = _AUDIENCE.set("cli")
    try:
        yield
    finally:
        _AUDIENCE.reset(token)
