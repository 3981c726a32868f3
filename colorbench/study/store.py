"""responses.sqlite: rater sessions and their votes (SQLite, WAL mode, one connection per call).

One row per (session, trial), enforced by UNIQUE: the first answer wins, so a double submit or
a reload never writes twice. Tokens are stored as SHA-256 digests only; a rater is known by the
session's number (rater id "r001", ...), never by the token that is the secret in their link.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from colorbench.errors import DataError

DB_SCHEMA = "colorbench.study-responses/1"
_TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sessions (
  id INTEGER PRIMARY KEY, token_sha256 TEXT NOT NULL UNIQUE, created TEXT NOT NULL,
  origin TEXT NOT NULL, schedule TEXT NOT NULL);
CREATE TABLE responses (
  id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id), trial TEXT NOT NULL,
  kind TEXT NOT NULL, response TEXT NOT NULL, score INTEGER NOT NULL, latency_ms INTEGER NOT NULL,
  time TEXT NOT NULL, UNIQUE (session_id, trial));
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def rater_id(session_id: int) -> str:
    return f"r{session_id:03d}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Session:
    id: int
    schedule: list[list[str]]  # [[trial_id, real_side], ...]

    @property
    def rater(self) -> str:
        return rater_id(self.id)


def create_db(path: Path, study_fingerprint: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")  # persistent: set once, on creation
        db.executescript(_TABLES)
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("schema", DB_SCHEMA), ("study_fingerprint", study_fingerprint)])
        db.commit()


class Store:
    def __init__(self, path: Path, study_fingerprint: str):
        self.path = Path(path)
        if not self.path.is_file():
            raise DataError(f"{self.path}: missing; the study's votes are gone (restore the file, or recreate the study with --force)")
        try:
            with self._connect() as db:
                meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{self.path}: not a readable study database ({exc})") from None
        if meta.get("schema") != DB_SCHEMA or meta.get("study_fingerprint") != study_fingerprint:
            raise DataError(f"{self.path}: belongs to another study or version (schema {meta.get('schema')!r}); the votes do not match study.json")

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout = 10000")
            db.execute("PRAGMA synchronous = FULL")  # a vote acknowledged is a vote on disk
            yield db
        finally:
            db.close()

    def new_session(self, make_schedule: Callable[[str, int], list], origin: str) -> str:
        """A fresh random token; its schedule is drawn from the token and the session's number."""
        token = secrets.token_urlsafe(24)
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                index = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
                schedule = make_schedule(token, index)
                db.execute("INSERT INTO sessions (id, token_sha256, created, origin, schedule) VALUES (?, ?, ?, ?, ?)",
                           (index + 1, _digest(token), now(), origin, json.dumps(schedule)))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return token

    def session(self, token: str) -> Session | None:
        with self._connect() as db:
            row = db.execute("SELECT id, schedule FROM sessions WHERE token_sha256 = ?", (_digest(token),)).fetchone()
        return None if row is None else Session(row[0], json.loads(row[1]))

    def answered(self, session_id: int) -> set[str]:
        with self._connect() as db:
            return {r[0] for r in db.execute("SELECT trial FROM responses WHERE session_id = ?", (session_id,))}

    def record(self, session_id: int, trial: str, kind: str, response: str, score: int, latency_ms: int) -> bool:
        """Insert one vote; False when this session already answered this trial (nothing written)."""
        with self._connect() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO responses (session_id, trial, kind, response, score, latency_ms, time) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (session_id, trial, kind, response, score, latency_ms, now()))
            return cur.rowcount == 1

    def count(self) -> int:
        with self._connect() as db:
            return db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def rows(self) -> tuple[list[dict], dict[int, int]]:
        """Every vote as a dict, and each session's schedule length."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            votes = [dict(r) for r in db.execute("SELECT * FROM responses ORDER BY id")]
            lengths = {r["id"]: len(json.loads(r["schedule"])) for r in db.execute("SELECT id, schedule FROM sessions")}
        return votes, lengths
