"""`study serve`: the rater app (app.py) under waitress, one server per study (a lock file in the study folder)."""
from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from pathlib import Path

from colorbench.errors import UsageError
from colorbench.lock import LOCK_NAME, OutputLocked, RunLock, describe, parse_owner
from colorbench.study.app import MAX_BODY, make_app
from colorbench.study.spec import load_study


def _lan_address() -> str | None:
    """This machine's address on its default route (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return s.getsockname()[0]
        except OSError:
            return None


def _stop(signum, frame):
    raise KeyboardInterrupt  # waitress's run() ends on it (and swallows it)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: it may resolve to any address
        return False


def _warn_if_reachable(host: str, port: int) -> None:
    if not _is_loopback(host):
        print(f"colorbench study serve: warning: --host {host} makes the study reachable from other machines; the server has "
              f"no login, so anyone who can reach port {port} can start sessions and submit votes (serve on a trusted network "
              "only, and stop it when the study is done)", file=sys.stderr, flush=True)


def serve(folder: Path, host: str, port: int, threads: int) -> int:
    import waitress

    folder = Path(folder)
    study = load_study(folder)
    app = make_app(folder, study)  # checks responses.sqlite before the lock is taken
    try:
        lock = RunLock(folder).__enter__()
    except OutputLocked:
        text = (folder / LOCK_NAME).read_text(errors="replace")
        raise OutputLocked(f"{folder} is already being served ({describe(parse_owner(text), text)}); "
                           "one server per study") from None
    try:
        try:
            # max_request_body_size: waitress refuses a larger body on its Content-Length before reading it
            # (default 1 GiB, spooled to disk); waitress refuses at >= the limit, hence + 1
            server = waitress.create_server(app, host=host, port=port, threads=threads, ident="colorbench-study",
                                            max_request_body_size=MAX_BODY + 1)
        except OSError as exc:  # port taken, address not on this machine, name not resolvable
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        shown = (_lan_address() or socket.gethostname()) if host in ("0.0.0.0", "::", "") else host
        url = f"http://{f'[{shown}]' if ':' in shown else shown}:{server.effective_port}/"
        print(f"serving study {study.name} ({study.design}, {len(study.trials)} trials) at {url}", flush=True)
        print(f"raters open {url} and press Start; or give each a link from `colorbench study invite {folder}`; Ctrl-C stops", flush=True)
        _warn_if_reachable(host, server.effective_port)
        signal.signal(signal.SIGTERM, _stop)
        try:
            server.run()  # returns on Ctrl-C or SIGTERM (waitress catches the KeyboardInterrupt)
        except KeyboardInterrupt:  # one arriving outside waitress's loop
            pass
        finally:
            server.close()
        print("colorbench study serve: stopped", file=sys.stderr, flush=True)
    finally:
        lock.__exit__(None, None, None)
    return 0
