"""One run per output folder: a lock file created exclusively, naming its owner.

The owner is recorded as pid, host, boot id and the process's start time. A pid alone is not an
identity: after a container restart the new process may have the dead one's pid (often 1), and
would then wait for itself forever. A lock is stale, and taken over, when on this host its boot
id differs, its pid is gone, or its pid now belongs to a process that started at another time.
"""
from __future__ import annotations

import json
import os
import socket
from pathlib import Path

from colorbench.errors import OutputLocked

LOCK_NAME = ".colorbench.lock"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except OSError:
        return None


def boot_id() -> str | None:
    text = _read("/proc/sys/kernel/random/boot_id")
    return text.strip() if text else None


def start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22), if known."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # the command name may hold spaces and parentheses
    return fields[19] if len(fields) > 19 else None


def owner_record(pid: int | None = None) -> dict:
    pid = os.getpid() if pid is None else pid
    return {"pid": pid, "host": socket.gethostname(), "boot_id": boot_id(), "start": start_time(pid)}


def parse_owner(text: str) -> dict | None:
    """The owner of a lock file: the JSON record, or the older 'pid N on HOST' line."""
    try:
        record = json.loads(text)
        return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None
    except ValueError:
        words = text.split()
        if len(words) >= 4 and words[0] == "pid" and words[1].isdigit():
            return {"pid": int(words[1]), "host": words[3], "boot_id": None, "start": None}
        return None


def is_stale(owner: dict) -> bool:
    """True only when the owner is certainly gone (an unreadable lock is never taken over)."""
    if owner.get("host") != socket.gethostname():
        return False
    if owner.get("boot_id") and boot_id() and owner["boot_id"] != boot_id():
        return True
    try:
        os.kill(owner["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's: compare start times below
    recorded, current = owner.get("start"), start_time(owner["pid"])
    return bool(recorded and current and recorded != current)


def describe(owner: dict | None, text: str) -> str:
    if owner is None:
        return text.strip()[:80] or "unreadable owner"
    return f"pid {owner['pid']} on {owner.get('host')}"


def holder(folder: Path) -> str | None:
    """Who holds the folder's lock, unless it is free or certainly stale."""
    text = _read(str(Path(folder) / LOCK_NAME))
    if text is None:
        return None
    owner = parse_owner(text)
    return None if owner is not None and is_stale(owner) else describe(owner, text)


class RunLock:
    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                break
            except FileExistsError:
                text = _read(str(self.path)) or ""
                owner = parse_owner(text)
                if owner is None or not is_stale(owner):
                    raise OutputLocked(f"{self.path.parent} is in use by another colorbench run "
                                       f"({describe(owner, text)}); wait for it or use another output folder") from None
                self.path.unlink(missing_ok=True)
        with os.fdopen(fd, "w") as fh:
            fh.write(json.dumps(owner_record()) + "\n")
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
