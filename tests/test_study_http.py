"""The study server over raw HTTP (the real `colorbench study serve` in a subprocess): every
refused request gets its status and writes nothing; a repeated answer counts once; one server per study."""
from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from urllib.parse import urlsplit

import pytest
from ci_browser.study_server import (
    Server,
    _env,
    db_rows,
    make_study,
    new_token,
    post_json,
    request,
    response_count,
    running,
    serve_command,
    session_of,
)

from colorbench.study.spec import load_study

ANSWER = {"response": "left", "latency_ms": 850}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    study = make_study(tmp_path_factory.mktemp("http"), "2afc", "--per-baseline", "3", "--practice", "2", "--vigilance", "3")
    with running(study) as (server,):
        yield {"study": study, "url": server.url, "spec": load_study(study), "server": server}


def _refused(live, method, path, body=None, content_type="application/json") -> tuple[int, bytes]:
    before = response_count(live["study"])
    status, data, _ = request(live["url"], method, path, body, content_type)
    assert response_count(live["study"]) == before, f"{method} {path} wrote a row"
    return status, data


def test_landing_page_and_a_session(live):
    status, page, headers = request(live["url"], "GET", "/")
    assert status == 200 and b"Which one is the real photo?" in page and b'action="/start"' in page
    assert "default-src 'none'" in headers["Content-Security-Policy"] and headers["Referrer-Policy"] == "no-referrer"
    token = new_token(live["url"])
    status, data, _ = request(live["url"], "GET", f"/s/{token}/next")
    state = json.loads(data)
    _, schedule = session_of(live["study"], token)
    assert status == 200 and state["trial"]["id"] == schedule[0][0] and state["trial"]["practice"] is True
    assert state["progress"] == {"answered": 0, "total": len(schedule), "practice": 2}
    for url in state["trial"]["images"]:
        status, body, headers = request(live["url"], "GET", url)
        assert status == 200 and body[:8] == b"\x89PNG\r\n\x1a\n" and headers["Content-Type"] == "image/png"


def test_wrong_token_is_404_and_writes_nothing(live):
    token = new_token(live["url"])
    trial = session_of(live["study"], token)[1][0][0]
    for bad in ("A" * 32, token[:-1] + ("A" if token[-1] != "A" else "B"), "short", "..%2F..%2Fstudy.json"):
        assert _refused(live, "GET", f"/s/{bad}")[0] == 404
        assert _refused(live, "GET", f"/s/{bad}/next")[0] == 404
        status, data = _refused(live, "POST", f"/s/{bad}/answer", json.dumps({"trial": trial, **ANSWER}).encode())
        assert status == 404
        if "%" not in bad:  # a token with a slash in it matches no route at all
            assert json.loads(data)["error"] == "unknown session"


def test_trial_of_another_session_is_403_unknown_trial_404(live):
    spec = live["spec"]
    a, b = new_token(live["url"]), new_token(live["url"])
    mine = {t for t, _ in session_of(live["study"], a)[1]}
    theirs = [t for t, _ in session_of(live["study"], b)[1] if t not in mine]
    assert theirs, "2AFC sessions differ in their main trials (rotation over baselines)"
    status, data = _refused(live, "POST", f"/s/{a}/answer", json.dumps({"trial": theirs[0], **ANSWER}).encode())
    assert status == 403 and json.loads(data)["error"] == "trial not in this session"
    assert _refused(live, "POST", f"/s/{a}/answer", json.dumps({"trial": "t9999", **ANSWER}).encode())[0] == 404
    # an image only another session's trial uses is not served either
    mine_images = {n for t in mine for n in (spec.trial(t).test, spec.trial(t).reference)}
    other = next(n for t in theirs for n in (spec.trial(t).test, spec.trial(t).reference) if n not in mine_images)
    assert _refused(live, "GET", f"/s/{a}/img/{other}")[0] == 404
    assert _refused(live, "GET", f"/s/{b}/img/{other}")[0] == 200


@pytest.mark.parametrize("path", [
    "/images/../study.json", "/study.json", "/responses.sqlite", "/images/{img}", "/s/{tok}/img/../study.json",
    "/s/{tok}/img/..%2Fstudy.json", "/s/{tok}/img/%2e%2e%2fstudy.json", "/s/{tok}/img/..%2F..%2Frun.json",
    "/s/{tok}/img/%2Fetc%2Fpasswd", "/s/{tok}/img/{img_upper}", "/s/{tok}/img/{img}%00.png", "/s/{tok}/img/{img}/..",
    "/s/{tok}/img/{img}%0A", "/s/{tok}%0A/next",
])
def test_paths_outside_the_study_are_404(live, path):
    token = new_token(live["url"])
    first = live["spec"].trial(session_of(live["study"], token)[1][0][0]).test
    status, body = _refused(live, "GET", path.format(tok=token, img=first, img_upper=first.upper()))
    assert status == 404 and b"colorbench" not in body.lower() and b"schema" not in body


@pytest.mark.parametrize("body, content_type, status", [
    (b"{not json", "application/json", 400),
    (b"\xff\xfe", "application/json", 400),
    (b"[1, 2]", "application/json", 400),
    (b'"left"', "application/json", 400),
    ({"response": "left", "latency_ms": 10}, "application/json", 400),  # no trial
    ({"trial": "{trial}", "response": "left", "latency_ms": 10, "extra": 1}, "application/json", 400),
    ({"trial": "{trial}", "response": "middle", "latency_ms": 10}, "application/json", 400),
    ({"trial": "{trial}", "response": 1, "latency_ms": 10}, "application/json", 400),
    ({"trial": "{trial}", "response": ["left"], "latency_ms": 10}, "application/json", 400),
    ({"trial": "{trial}", "response": "left", "latency_ms": -1}, "application/json", 400),
    ({"trial": "{trial}", "response": "left", "latency_ms": 1.5}, "application/json", 400),
    ({"trial": "{trial}", "response": "left", "latency_ms": True}, "application/json", 400),
    ({"trial": 7, "response": "left", "latency_ms": 10}, "application/json", 400),
    ({"trial": "{trial}", "response": "left", "latency_ms": 10}, "text/plain", 415),
    ({"trial": "{trial}", "response": "left", "latency_ms": 10, "pad": "x" * 10000}, "application/json", 413),
    (b"[" * 2000 + b"]" * 2000, "application/json", 400),  # nested past the parser's recursion limit, under 4 KiB
    (b'{"trial": ' + b"[" * 1500 + b"]" * 1500 + b"}", "application/json", 400),
])
def test_malformed_answers_are_refused(live, body, content_type, status):
    token = new_token(live["url"])
    trial = session_of(live["study"], token)[1][0][0]
    if isinstance(body, dict):
        body = json.dumps({k: (v.format(trial=trial) if isinstance(v, str) else v) for k, v in body.items()}).encode()
    got, data = _refused(live, "POST", f"/s/{token}/answer", body, content_type)
    assert got == status, data
    assert db_rows(live["study"], "SELECT COUNT(*) FROM responses WHERE trial = ?", (trial,)) == [(0,)]


def test_double_submit_counts_once(live):
    token = new_token(live["url"])
    sid, schedule = session_of(live["study"], token)
    first, second = schedule[0][0], schedule[1][0]
    s1, r1 = post_json(live["url"], f"/s/{token}/answer", {"trial": first, "response": "left", "latency_ms": 900})
    s2, r2 = post_json(live["url"], f"/s/{token}/answer", {"trial": first, "response": "right", "latency_ms": 5})
    assert (s1, r1["recorded"], s2, r2["recorded"]) == (200, True, 200, False)
    assert r2["next"]["trial"]["id"] == second  # the reply after a repeat still points at the next question
    assert db_rows(live["study"], "SELECT response, latency_ms FROM responses WHERE session_id = ?", (sid,)) == [("left", 900)]
    # the same answer sent by 8 threads at the same moment: still one row
    barrier, replies = threading.Barrier(8), []

    def send():
        barrier.wait()
        replies.append(post_json(live["url"], f"/s/{token}/answer", {"trial": second, "response": "right", "latency_ms": 700}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r["recorded"] for _, r in replies) == [False] * 7 + [True] and {s for s, _ in replies} == {200}
    assert db_rows(live["study"], "SELECT COUNT(*) FROM responses WHERE session_id = ?", (sid,)) == [(2,)]


def test_scores_follow_the_real_side(live):
    """2AFC: score 1 exactly when the side that is not the real photo was picked; practice gets feedback."""
    token = new_token(live["url"])
    sid, schedule = session_of(live["study"], token)
    for i, (trial, real_side) in enumerate(schedule[:4]):
        pick = real_side if i % 2 else ("left" if real_side == "right" else "right")
        status, reply = post_json(live["url"], f"/s/{token}/answer", {"trial": trial, "response": pick, "latency_ms": 100 + i})
        assert status == 200 and reply["recorded"]
        if live["spec"].trial(trial).kind == "practice":
            assert reply["feedback"] == ("correct" if pick == real_side else "wrong")
        else:
            assert "feedback" not in reply
    scores = db_rows(live["study"], "SELECT trial, score FROM responses WHERE session_id = ? ORDER BY id", (sid,))
    assert scores == [(t, 0 if i % 2 else 1) for i, (t, _) in enumerate(schedule[:4])]


def test_second_server_on_the_same_study_is_refused(live):
    proc = subprocess.run(serve_command(live["study"]), capture_output=True, text=True, timeout=300, env=_env())
    assert proc.returncode == 5, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("colorbench: error: ") and "already being served" in lines[0]
    assert request(live["url"], "GET", "/")[0] == 200  # the first server is unaffected


def test_a_killed_server_loses_no_vote_and_its_stale_lock_is_taken_over(tmp_path):
    study = make_study(tmp_path, "mos", "--per-baseline", "1", "--practice", "1", "--vigilance", "1")
    with running(study) as (server,):
        token = new_token(server.url)
        first = session_of(study, token)[1][0][0]
        assert post_json(server.url, f"/s/{token}/answer", {"trial": first, "response": 4, "latency_ms": 321})[1]["recorded"]
        server.proc.kill()  # SIGKILL, as a crash or power cut to the process would: no cleanup runs
        server.proc.wait()
    assert (study / ".colorbench.lock").exists()
    with running(study) as (again,):  # the lock names a dead process on this host: taken over
        status, data, _ = request(again.url, "GET", f"/s/{token}/next")
        assert status == 200 and json.loads(data)["progress"]["answered"] == 1
    assert db_rows(study, "SELECT trial, response, latency_ms FROM responses") == [(first, "4", 321)]
    assert not (study / ".colorbench.lock").exists()  # a clean stop removes it


def _raw_post(url: str, head: str, first_bytes: bytes) -> tuple[bytes, float]:
    """Send a request head and a first piece of its body on a real socket; the server's first
    reply bytes (b"" if it closed) and the seconds it took, or a socket.timeout after 15 s."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=15) as s:
        start = time.monotonic()
        s.sendall(head.encode() + first_bytes)
        return s.recv(4096), time.monotonic() - start


def test_an_oversized_body_is_refused_before_it_is_read(live):
    """A declared 300 MiB body: 413 after the first KiB, while the rest is still unsent."""
    token = new_token(live["url"])
    before = response_count(live["study"])
    head = (f"POST /s/{token}/answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300 * 2**20}\r\n\r\n")
    reply, seconds = _raw_post(live["url"], head, b" " * 1024)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert seconds < 10 and response_count(live["study"]) == before


def test_a_chunked_body_is_cut_at_the_limit(live):
    """No Content-Length: the body is read up to the 4 KiB limit, then refused (the sender never ends it)."""
    token = new_token(live["url"])
    head = (f"POST /s/{token}/answer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"1000\r\n" + b" " * 4096 + b"\r\n"
    reply, _ = _raw_post(live["url"], head, chunk * 2)  # 8 KiB sent, no closing 0-chunk
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]


def test_a_lan_server_warns_and_sigterm_prints_stopped(tmp_path):
    study = make_study(tmp_path, "mos", "--per-baseline", "1", "--practice", "1", "--vigilance", "1")
    server = Server(study, "--host", "0.0.0.0")
    try:
        server.wait_ready()
        assert request(f"http://127.0.0.1:{urlsplit(server.url).port}", "GET", "/")[0] == 200
    finally:
        err = server.stop()  # SIGTERM
    assert server.proc.returncode == 0, err
    lines = err.strip().splitlines()
    assert any("warning" in line and "--host 0.0.0.0" in line and "no login" in line for line in lines), err
    assert lines[-1] == "colorbench study serve: stopped", err
