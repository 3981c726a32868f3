"""One run per output folder: a lock file created exclusively, naming its owner."""
from __future__ import annotations

import os
import socket
from pathlib import Path

from colorbench.errors import ColorbenchError


class OutputLocked(ColorbenchError):
    exit_code = 5


class RunLock:
    def __init__(self, folder: Path):
        self.path = folder / ".colorbench.lock"

    def __enter__(self) -> "RunLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                break
            except FileExistsError:
                if not self._stale():
                    owner = self.path.read_text(errors="replace").strip()
                    raise OutputLocked(f"{self.path.parent} is in use by another colorbench run ({owner}); wait for it or use another output_dir") from None
                self.path.unlink(missing_ok=True)
        with os.fdopen(fd, "w") as fh:
            fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        return self

    def _stale(self) -> bool:
        """A lock left by a killed process on this host is stale."""
        try:
            words = self.path.read_text().split()
            pid, host = int(words[1]), words[3]
        except (OSError, ValueError, IndexError):
            return False
        if host != socket.gethostname():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)
