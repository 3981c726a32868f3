"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (stdlib only).

Chromium reads NUL-terminated JSON commands from fd 3 and writes replies and events to fd 4;
no websocket library, no driver binary, no open port.
"""
from __future__ import annotations

import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time

INSTALL_HINT = "apt-get install -y chromium   (Debian/Ubuntu; or set COLORBENCH_CHROMIUM to a Chrome/Chromium binary)"


def find_chromium() -> str | None:
    for candidate in (os.environ.get("COLORBENCH_CHROMIUM"), "chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if candidate and (path := shutil.which(candidate)):
            return path
    return None


def _high_fd(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return high


class CDPError(RuntimeError):
    pass


class Browser:
    def __init__(self, binary: str, width: int = 1280, height: int = 900):
        self.profile = tempfile.mkdtemp(prefix="cb-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # lift the child's ends above 9, so moving them onto 3 and 4 cannot clobber one another
        to_chrome_r, from_chrome_w = (_high_fd(fd) for fd in (to_chrome_r, from_chrome_w))
        args = [
            binary, "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", f"--window-size={width},{height}",
            f"--user-data-dir={self.profile}", "about:blank",
        ]

        def onto_3_and_4():  # in the child, before exec: dup2'd fds are inheritable, the originals close on exec
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        # close_fds=False: subprocess would otherwise close 3 and 4 after this hook; every other
        # Python fd is close-on-exec anyway
        self.log_path = os.path.join(self.profile, "chromium.log")  # a file: a full stderr pipe would block Chromium
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(args, preexec_fn=onto_3_and_4, close_fds=False, stdout=subprocess.DEVNULL, stderr=log)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next_id = 0
        self._replies: dict[int, queue.Queue] = {}
        self._lock = threading.Lock()
        self.events: list[dict] = []
        self._event_added = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.session = None

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._event_added:
                    self.events.append({"method": "_closed"})
                    self._event_added.notify_all()
                for q in list(self._replies.values()):
                    q.put({"error": {"message": "browser closed the pipe"}})
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        q = self._replies.get(msg["id"])
                    if q is not None:
                        q.put(msg)
                else:
                    with self._event_added:
                        self.events.append(msg)
                        self._event_added.notify_all()

    def send(self, method: str, params: dict | None = None, timeout: float = 30.0, session: bool = True) -> dict:
        with self._lock:
            self._next_id += 1
            msg_id = self._next_id
            self._replies[msg_id] = q = queue.Queue()
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        try:
            reply = q.get(timeout=timeout)
        except queue.Empty:
            raise CDPError(f"{method}: no reply in {timeout}s; browser log tail: {self.log_tail()}") from None
        finally:
            with self._lock:
                self._replies.pop(msg_id, None)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')}; browser log tail: {self.log_tail()}")
        return reply.get("result", {})

    def wait_event(self, method: str, since: int = 0, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        with self._event_added:
            while True:
                for ev in self.events[since:]:
                    if ev.get("method") == method:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    raise CDPError(f"no {method} event in {timeout}s")
                self._event_added.wait(left)

    def log_tail(self, n: int = 1500) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                return fh.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""

    def open_page(self) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")

    def navigate(self, url: str, timeout: float = 30.0) -> None:
        mark = len(self.events)
        self.send("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", since=mark, timeout=timeout)

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            raise CDPError(f"JS exception: {result['exceptionDetails'].get('exception', {}).get('description') or result['exceptionDetails']}")
        return result["result"].get("value")

    def click(self, x: float, y: float) -> None:
        """A real mouse click (press and release) at viewport coordinates."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1})

    def screenshot(self, path, full_page: bool = True) -> None:
        import base64

        params = {"format": "png"}
        if full_page:
            size = self.send("Page.getLayoutMetrics")["cssContentSize"]
            params.update(captureBeyondViewport=True, clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1})
        with open(path, "wb") as fh:
            fh.write(base64.b64decode(self.send("Page.captureScreenshot", params)["data"]))

    def problems(self, since: int = 0) -> list[str]:
        """Console errors, uncaught exceptions, error log entries (e.g. failed loads), dialogs."""
        out = []
        for ev in self.events[since:]:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append(f"log: {e.get('text')} {e.get('url', '')}")
            elif method == "Page.javascriptDialogOpening":
                out.append(f"dialog: {p.get('message')}")
        return out

    def close(self) -> None:
        try:
            self.send("Browser.close", session=False, timeout=5)
        except (CDPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()  # only the process this helper started
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
