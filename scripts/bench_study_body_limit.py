"""Measure what the study server takes in before it refuses an oversized request body.

  python scripts/bench_study_body_limit.py [--mib 300] [--seconds 10]

Starts the real `colorbench study serve` (a study of the test suite's synthetic run, on
127.0.0.1, a free port) and, on a raw socket, sends a POST whose Content-Length declares --mib
MiB (then a chunked POST with no Content-Length), streaming the body in 64 KiB pieces until
the server answers, the body is sent, or --seconds pass. For each it prints the server's
first reply line, the bytes of body the server accepted before answering, the seconds to the
answer, and the largest regular file the server process held open meanwhile (waitress spools
a large body to an unlinked temporary file: /proc/PID/fd shows its size).
"""
from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
PIECE = 64 * 1024


def _largest_open_file(pid: int) -> int:
    largest = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            st = os.stat(fd)
        except OSError:
            continue
        if st.st_mode & 0o170000 == 0o100000:  # a regular file
            largest = max(largest, st.st_size)
    return largest


def probe(url: str, pid: int, head: bytes, body_bytes: int, seconds: float, chunked: bool) -> dict:
    parts = urlsplit(url)
    piece = (b"%x\r\n" % PIECE + b" " * PIECE + b"\r\n") if chunked else b" " * PIECE
    sent, spooled, reply = 0, 0, b""
    with socket.create_connection((parts.hostname, parts.port), timeout=seconds) as s:
        s.sendall(head)
        start = time.monotonic()
        while time.monotonic() - start < seconds and sent < body_bytes:
            readable, writable, _ = select.select([s], [s], [], 0.2)
            if readable:
                reply = s.recv(4096)
                break
            if writable:
                try:
                    sent += s.send(piece)
                except OSError:  # the server closed on us
                    break
            if sent % (16 * PIECE) == 0:
                spooled = max(spooled, _largest_open_file(pid))
        elapsed = time.monotonic() - start
        spooled = max(spooled, _largest_open_file(pid))
        if not reply:
            try:
                s.settimeout(2)
                reply = s.recv(4096)
            except OSError:
                pass
    return {"reply": reply.split(b"\r\n", 1)[0].decode(errors="replace") or "(no reply)", "sent": sent,
            "seconds": elapsed, "spooled": spooled}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=300)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    from ci_browser.study_server import Server, make_study, new_token

    with tempfile.TemporaryDirectory() as tmp:
        study = make_study(Path(tmp), "mos", "--per-baseline", "1", "--practice", "1", "--vigilance", "1")
        server = Server(study)
        try:
            url = server.wait_ready()
            size = args.mib * 2**20
            for chunked in (False, True):
                token = new_token(url)
                length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
                head = (f"POST /s/{token}/answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                        f"{length}\r\n\r\n").encode()
                got = probe(url, server.proc.pid, head, size, args.seconds, chunked)
                what = "chunked, no Content-Length" if chunked else f"Content-Length {args.mib} MiB"
                print(f"{what:>28}: {got['reply']!r} after the client sent {got['sent'] / 2**20:.2f} MiB (socket buffers included) in {got['seconds']:.2f} s; "
                      f"largest file the server held open: {got['spooled'] / 2**20:.2f} MiB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
