"""The FiftyOne App beside sda2: is its server running here, the URL of a dataset/view in it, and launching one.

The App opens a dataset at ``/datasets/NAME``, a saved view at ``?view=SLUG`` and one sample at ``?id=ID``,
so an sda2 view is opened there by saving it as a FiftyOne saved view (visible in the App's view list).
The server is FiftyOne's own App server without a Python session: a session (``fo.launch_app``) pushes
its own state to the page and ignores the URL's view. Start one in a terminal with
``python -m sda2.explore.fiftyone_app --port 5151``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode

from sda2 import config

ADDRESS = "127.0.0.1"
SAVED_VIEW = "sda2 samples"


def default_port() -> int:
    """The FiftyOne App port sda2 looks at (``SDA2_FIFTYONE_PORT``, default 5151, FiftyOne's own default)."""
    return int(os.environ.get("SDA2_FIFTYONE_PORT") or 5151)


def server_version(port: int | None = None, address: str = ADDRESS, timeout_s: float = 0.5) -> str | None:
    """The FiftyOne version of the App server answering at ``address:port``, or None when none answers."""
    url = f"http://{address}:{port or default_port()}/fiftyone"
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return json.loads(response.read().decode()).get("version")
    except (urllib.error.URLError, OSError, ValueError, AttributeError):
        return None


def app_url(dataset_name: str, port: int | None = None, address: str = ADDRESS, view_slug: str | None = None,
            sample_id: str | None = None) -> str:
    """The App URL that opens dataset ``dataset_name``, optionally a saved view and one sample in it."""
    query = {k: v for k, v in (("view", view_slug), ("id", sample_id)) if v}
    suffix = f"?{urlencode(query)}" if query else ""
    return f"http://{address}:{port or default_port()}/datasets/{quote(dataset_name, safe='')}{suffix}"


def view_url(view, port: int | None = None, address: str = ADDRESS, name: str = SAVED_VIEW) -> str:
    """The App URL of ``view``: the dataset itself when unfiltered, else ``view`` saved as FiftyOne view ``name``."""
    dataset = view._dataset
    if not getattr(view, "_stages", None):  # the dataset itself, or a view without stages
        return app_url(dataset.name, port, address)
    import fiftyone.core.utils as fou

    dataset.save_view(name, view, description="The Samples page's filters, saved by sda2", overwrite=True)
    return app_url(dataset.name, port, address, view_slug=fou.to_slug(name))


def launch(port: int | None = None, address: str = ADDRESS, timeout_s: float = 60.0) -> subprocess.Popen:
    """Start a FiftyOne App server on sda2's database in a background process and wait until it answers."""
    port = port or default_port()
    if server_version(port, address):
        raise RuntimeError(f"A FiftyOne App already answers at http://{address}:{port}. "
                           "Fix: open it, or choose another port.")
    log = config.home() / "fiftyone_app.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "sda2.explore.fiftyone_app", "--port", str(port), "--address", address],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=config.PROJECT_ROOT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server_version(port, address):
            return process
        if process.poll() is not None:
            break
        time.sleep(0.5)
    if process.poll() is None:
        process.terminate()
    raise RuntimeError(f"The FiftyOne App did not start at http://{address}:{port} within {timeout_s:.0f} s. "
                       f"See {log} for why.")


def _serve(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sda2.explore.fiftyone_app",
                                     description="Serve the FiftyOne App on sda2's database until stopped.")
    parser.add_argument("--port", type=int, default=default_port())
    parser.add_argument("--address", default=ADDRESS, help="address to bind (default 127.0.0.1)")
    args = parser.parse_args(argv)
    from sda2 import store  # noqa: F401  (finds or starts the database the App must read)

    from fiftyone.server.main import start_server

    print(f"FiftyOne App on sda2's database: http://{args.address}:{args.port}/datasets/<name>", flush=True)
    start_server(port=args.port, address=args.address)


if __name__ == "__main__":
    _serve()
