"""Study fixtures for tests: a study made with the CLI from the synthetic run, and the real
`colorbench study serve` command running in a subprocess on a free port."""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import queue
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

from ci_browser.synthetic_run import build_run
from colorbench.cli import main

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 180  # seconds; the CLI imports torch, slow on a busy 2-core runner


def make_study(root: Path, design: str, *args: str, name: str | None = None) -> Path:
    """A study of the synthetic run (built once under `root`), created with `colorbench study create`."""
    run = root / "run-1"
    if not (run / "run.json").exists():
        build_run(run)
    name = name or design
    assert main(["study", "create", str(run), "--design", design, "--name", name, *args]) == 0
    return run / "studies" / name


def serve_command(study: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "colorbench", "study", "serve", str(study), "--port", "0", *extra]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


class Server:
    """`colorbench study serve` as a child process; `url` is read from its first line."""

    def __init__(self, study: Path, *extra: str):
        self.study = study
        self.proc = subprocess.Popen(serve_command(study, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.url = ""

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_ready(self) -> str:
        try:
            line = self._lines.get(timeout=START_TIMEOUT)
        except queue.Empty:
            line = None
        if not line or " at http://" not in line:
            self.stop()
            raise RuntimeError(f"study server did not start: {line!r}; stderr: {self.proc.stderr.read()[-2000:]}")
        self.url = line.split(" at ", 1)[1].split()[0]
        return self.url

    def stop(self) -> str:
        """Stop the child (SIGTERM: it releases its lock and exits); its stderr."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()  # only the process this helper started
                self.proc.wait()
        return self.proc.stderr.read() if self.proc.stderr else ""


@contextlib.contextmanager
def running(*studies: Path):
    """Start one server per study at once (the slow imports overlap), yield them, stop them."""
    servers = [Server(s) for s in studies]
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


def request(base: str, method: str, path: str, body: bytes | None = None, content_type: str | None = "application/json") -> tuple[int, bytes, dict]:
    """One raw HTTP request: the path is sent exactly as given (no client-side normalisation)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": content_type} if content_type and body is not None else {}
    try:
        conn.request(method, path, body=body, headers=headers)
        r = conn.getresponse()
        return r.status, r.read(), dict(r.getheaders())
    finally:
        conn.close()


def post_json(base: str, path: str, obj) -> tuple[int, dict]:
    status, data, _ = request(base, "POST", path, json.dumps(obj).encode())
    return status, json.loads(data or b"{}")


def new_token(base: str) -> str:
    status, _, headers = request(base, "POST", "/start", b"", content_type="application/x-www-form-urlencoded")
    assert status == 303, status
    return headers["Location"].rsplit("/s/", 1)[1]


def db_rows(study: Path, sql: str = "SELECT COUNT(*) FROM responses", args=()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(study / "responses.sqlite")) as db:
        return db.execute(sql, args).fetchall()


def response_count(study: Path) -> int:
    return db_rows(study)[0][0]


def session_of(study: Path, token: str) -> tuple[int, list[list[str]]]:
    """(session id, schedule) of a token, read from the database."""
    digest = hashlib.sha256(token.encode()).hexdigest()
    (sid, schedule), = db_rows(study, "SELECT id, schedule FROM sessions WHERE token_sha256 = ?", (digest,))
    return sid, json.loads(schedule)
