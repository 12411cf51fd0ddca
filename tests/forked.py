"""Run Python in a real child process forked from a warm interpreter that has already imported FiftyOne.

A fresh interpreter spends 4-10 s of CPU importing FiftyOne, and the suite starts over a hundred of them
(crash points, the CLI, the doctor). ``run`` keeps one warm parent per pytest worker and forks it per call:
the child is a real process with its own pid, environment, working folder, stdout and stderr; it talks to
the real database and dies by a real SIGKILL at a crash point (``returncode == -9``), exactly like
``subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)``.

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
from pathlib import Path

SERVER = r'''
import atexit, json, os, runpy, sys, traceback
import fiftyone as fo
import fiftyone.core.config as foc
import PIL.Image, numpy, pandas, sklearn.linear_model  # noqa: F401  (the other slow imports)

reply = os.fdopen(os.dup(1), "w", buffering=1)
for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
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
    reply.write(json.dumps({"pid": pid}) + "\n")
    _, status = os.waitpid(pid, 0)
    reply.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
'''

_lock = threading.Lock()
_server: subprocess.Popen | None = None
_pending = b""


def _start() -> subprocess.Popen:
    """The warm parent of this pytest worker, started on first use (and again if it died)."""
    global _server, _pending
    if _server is None or _server.poll() is not None:
        _pending = b""
        _server = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   env=dict(os.environ), cwd=Path(__file__).resolve().parent.parent)
    return _server


def _reply(server: subprocess.Popen, timeout: float | None) -> dict | None:
    """The next JSON line from the warm parent, or None when ``timeout`` seconds pass first."""
    global _pending
    fd = server.stdout.fileno()
    while b"\n" not in _pending:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            raise RuntimeError("the warm test parent process died; see the test output above")
        _pending += chunk
    line, _pending = _pending.split(b"\n", 1)
    return json.loads(line)


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


def run(argv: list[str], env: dict | None = None, timeout: float = 300, cwd=None,
        input: str | None = None) -> subprocess.CompletedProcess:
    """``subprocess.run(argv, env=env, input=input, capture_output=True, text=True, timeout=timeout)``, forked."""
    argv = [str(a) for a in argv]
    req = _request(argv)
    if req is None:
        return subprocess.run(argv, env=env, input=input, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    with _lock, tempfile.TemporaryDirectory(prefix="sda2_forked_") as tmp:
        out, err, stdin = Path(tmp) / "stdout", Path(tmp) / "stderr", Path(tmp) / "stdin"
        stdin.write_text(input or "")
        req.update(env=dict(os.environ if env is None else env), cwd=str(cwd or os.getcwd()), stdin=str(stdin),
                   stdout=str(out), stderr=str(err))
        server = _start()
        server.stdin.write((json.dumps(req) + "\n").encode())
        server.stdin.flush()
        pid = _reply(server, 120)["pid"]
        done = _reply(server, timeout)
        if done is None:
            os.kill(pid, signal.SIGKILL)
            _reply(server, None)
            raise subprocess.TimeoutExpired(argv, timeout, out.read_text(errors="replace"),
                                            err.read_text(errors="replace"))
        return subprocess.CompletedProcess(argv, done["returncode"], out.read_text(errors="replace"),
                                           err.read_text(errors="replace"))
