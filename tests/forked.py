"""Run Python in real child processes forked from a warm interpreter that has already imported FiftyOne.

A fresh interpreter spends 4-10 s of CPU importing FiftyOne, and the suite starts over a hundred of them
(crash points, the CLI, the doctor, racing writers). One warm parent per pytest worker forks a child per call:
the child is a real process with its own pid, environment, working folder, stdin, stdout and stderr; it talks
to the real database and dies by a real SIGKILL at a crash point (``returncode == -9``), exactly like
``subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)``. Several children may run
at once (:func:`start`), e.g. processes racing on the same samples.

Only the import is shared. The child re-reads FiftyOne's configuration from its own environment before it
runs, and imports sda2 itself (the warm parent never does), so sda2's module state starts fresh. Command lines
other than ``python -c``, ``python -m`` and the ``sda2`` console script run in a fresh interpreter.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SERVER = r'''
import atexit, json, os, runpy, select, sys, traceback
import fiftyone as fo
import fiftyone.core.config as foc
import PIL.Image, numpy, pandas, sklearn.linear_model  # noqa: F401  (the other slow imports)


def child(req):
    code = 1
    try:
        os.dup2(os.open(req["stdin"], os.O_RDONLY), 0)
        os.dup2(os.open(req["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
        os.dup2(os.open(req["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
        sys.stdin = open(0, closefd=False)
        os.environ.clear()
        os.environ.update(req["env"])
        os.chdir(req["cwd"])
        sys.argv = req["argv"]
        import sda2  # noqa: F401  (exports the database environment, as in a fresh process)
        fo.config.__dict__.update(foc.load_config().__dict__)
        try:
            if req["module"]:
                runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
            else:
                exec(compile(req["code"], "<string>", "exec"), {"__name__": "__main__"})
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            if not isinstance(stop.code, (int, type(None))):
                print(stop.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


reply = os.fdopen(os.dup(1), "w", buffering=1)
pending, running, open_ = b"", set(), True
while open_ or running:
    ready, _, _ = select.select([0] if open_ else [], [], [], 0.02)
    if ready:
        chunk = os.read(0, 65536)
        open_ = bool(chunk)
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            req = json.loads(line)
            pid = os.fork()
            if pid == 0:
                child(req)
            running.add(pid)
            reply.write(json.dumps({"id": req["id"], "pid": pid}) + "\n")
    while running:
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            break
        running.discard(pid)
        reply.write(json.dumps({"pid": pid, "returncode": os.waitstatus_to_exitcode(status)}) + "\n")
'''

_lock = threading.RLock()  # tests may call from several threads: one reads the parent's replies at a time
_server: subprocess.Popen | None = None
_pending = b""
_started: dict[int, int] = {}  # request id -> child pid
_finished: dict[int, int] = {}  # child pid -> return code
_next_id = 0


def _warm_parent() -> subprocess.Popen:
    """The warm parent of this pytest worker, started on first use (and again if it died)."""
    global _server, _pending
    if _server is None or _server.poll() is not None:
        _pending = b""
        _started.clear()
        _finished.clear()
        _server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   env=dict(os.environ), cwd=Path(__file__).resolve().parent.parent)
    return _server


def _read_replies(timeout: float | None) -> bool:
    """Read what the warm parent has said within ``timeout`` seconds; False when it said nothing."""
    global _pending
    fd = _server.stdout.fileno()
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return False
    chunk = os.read(fd, 65536)
    if not chunk:
        raise RuntimeError("the warm test parent process died; see the test output above")
    _pending += chunk
    while b"\n" in _pending:
        line, _pending = _pending.split(b"\n", 1)
        reply = json.loads(line)
        if "id" in reply:
            _started[reply["id"]] = reply["pid"]
        else:
            _finished[reply["pid"]] = reply["returncode"]
    return True


def _request(argv: list[str]) -> dict | None:
    """What the warm parent should run for this command line; None when it needs a fresh interpreter."""
    exe, rest = Path(argv[0]).name, argv[1:]
    if Path(argv[0]) == Path(sys.executable) and len(rest) >= 2 and rest[0] == "-c":
        return {"code": rest[1], "module": None, "argv": ["-c", *rest[2:]]}
    if Path(argv[0]) == Path(sys.executable) and len(rest) >= 2 and rest[0] == "-m":
        return {"code": None, "module": rest[1], "argv": [rest[1], *rest[2:]]}
    if exe == "sda2" and Path(argv[0]).parent == Path(sys.executable).parent:
        return {"code": None, "module": "sda2.cli", "argv": [argv[0], *rest]}
    return None


class Forked:
    """A running child of the warm parent: its pid, and its result once it has ended."""

    def __init__(self, argv: list[str], req: dict, env: dict | None, cwd, input: str | None):
        global _next_id
        self.argv = argv
        self._tmp = tempfile.TemporaryDirectory(prefix="sda2_forked_")
        folder = Path(self._tmp.name)
        self._out, self._err, stdin = folder / "stdout", folder / "stderr", folder / "stdin"
        stdin.write_text(input or "")
        _next_id += 1
        req.update(id=_next_id, env=dict(os.environ if env is None else env), cwd=str(cwd or os.getcwd()),
                   stdin=str(stdin), stdout=str(self._out), stderr=str(self._err))
        with _lock:
            server = _warm_parent()
            server.stdin.write((json.dumps(req) + "\n").encode())
            server.stdin.flush()
        deadline = time.monotonic() + 120
        while True:
            with _lock:
                if req["id"] in _started:
                    self.pid = _started.pop(req["id"])
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError("the warm test parent did not fork within 120 s")
                _read_replies(0.05)

    def wait(self, timeout: float | None = None) -> int:
        """The child's return code (-9 when killed by SIGKILL); TimeoutExpired after ``timeout`` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with _lock:
                if self.pid in _finished:
                    return _finished[self.pid]
                if deadline is not None and time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(self.argv, timeout)
                _read_replies(0.05)

    def kill(self) -> None:
        """SIGKILL the child (nothing happens when it has already ended)."""
        with _lock:
            ended = self.pid in _finished
        if not ended:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def result(self, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Wait for the child (killing it after ``timeout`` s) and return its code, stdout and stderr as text."""
        try:
            code = self.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.wait()
            raise subprocess.TimeoutExpired(self.argv, timeout, self._out.read_text(errors="replace"),
                                            self._err.read_text(errors="replace")) from None
        done = subprocess.CompletedProcess(self.argv, code, self._out.read_text(errors="replace"),
                                           self._err.read_text(errors="replace"))
        with _lock:
            _finished.pop(self.pid, None)
        self._tmp.cleanup()
        return done


def warm() -> None:
    """Have the warm parent ready (imports done), e.g. before timing processes that must start together."""
    run([sys.executable, "-c", "pass"], timeout=300)


def start(argv: list[str], env: dict | None = None, cwd=None, input: str | None = None) -> Forked:
    """Start ``argv`` (``python -c``/``-m`` or the ``sda2`` script) as a child of the warm parent; don't wait."""
    argv = [str(a) for a in argv]
    req = _request(argv)
    if req is None:
        raise ValueError(f"{argv[0]!r} cannot be forked from the warm parent; use subprocess for it.")
    return Forked(argv, req, env, cwd, input)


def run(argv: list[str], env: dict | None = None, timeout: float = 300, cwd=None,
        input: str | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, env=env, input=input, capture_output=True, text=True, timeout=timeout)``, forked."""
    argv = [str(a) for a in argv]
    req = _request(argv)
    if req is None:
        return subprocess.run(argv, env=env, input=input, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    return Forked(argv, req, env, cwd, input).result(timeout)
