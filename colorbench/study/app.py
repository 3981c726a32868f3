"""The rater web app (Flask): every request is checked before anything is written. What a trial
shows, which answers are allowed and how they are scored is the study's design (Study.rules);
the pages include the design's partial (templates/designs/).

Routes (TOKEN is the secret in a rater's link; an unknown one is 404):
  GET  /                     instructions and a Start button (POST /start makes a session)
  GET  /s/TOKEN              the trial page, or the thank-you page once every trial is answered
  GET  /s/TOKEN/next         JSON: the next unanswered trial (resume after a reload or closed tab)
  POST /s/TOKEN/answer       JSON {"trial", "response", "latency_ms"}: 400 malformed (or nested
                             too deeply, or a response the design does not allow), 415 not JSON,
                             413 over MAX_BODY, 404 unknown trial, 403 a trial of another session;
                             200 {"recorded": false} for a repeat (the first answer stands)
  GET  /s/TOKEN/img/NAME     an image of one of this session's trials, else 404

Bodies: waitress itself refuses one over MAX_BODY (serve.py sets its max_request_body_size):
on the Content-Length header, before reading any of it, or, chunked, as soon as the limit is
passed. Flask's MAX_CONTENT_LENGTH refuses it again should the app run under another server.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from flask import (
    Flask,
    abort,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from colorbench.study.spec import DB_FILE, IMAGE_NAME, IMAGES_DIR, Study
from colorbench.study.store import Session, Store
from colorbench.study.trials import session_schedule

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,128}$")
MAX_LATENCY_MS = 24 * 3600 * 1000
MAX_BODY = 4096
_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")


def _refuse(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    abort(response)


def _session(store: Store, token: str) -> Session:
    session = store.session(token) if TOKEN.fullmatch(token) else None
    if session is None:
        _refuse(404, "unknown session")
    return session


def _state(study: Study, store: Store, token: str, session: Session) -> dict:
    done = store.answered(session.id)
    practice = sum(1 for t, _ in session.schedule if study.trial(t).kind == "practice")
    progress = {"answered": len(done), "total": len(session.schedule), "practice": practice}
    for trial_id, real_side in session.schedule:
        if trial_id in done:
            continue
        t = study.trial(trial_id)
        images = [url_for("image", token=token, name=name) for name in study.rules.shown(t, real_side)]
        return {"done": False, "trial": {"id": t.id, "practice": t.kind == "practice", "images": images}, "progress": progress}
    return {"done": True, "trial": None, "progress": progress}


def parse_answer(study: Study, body: bytes) -> tuple[str, int | str, int]:
    """(trial, response, latency_ms) from a request body, or a 400 naming what is wrong."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        _refuse(400, "body is not JSON")
    except RecursionError:  # "[[[[...": nested deeper than the parser's recursion limit, well under MAX_BODY
        _refuse(400, "body is nested too deeply")
    if not isinstance(data, dict) or set(data) != {"trial", "response", "latency_ms"}:
        _refuse(400, "body must be an object with exactly: trial, response, latency_ms")
    trial, response, latency = data["trial"], data["response"], data["latency_ms"]
    if not isinstance(trial, str):
        _refuse(400, "trial must be a string")
    if type(latency) is not int or not 0 <= latency <= MAX_LATENCY_MS:
        _refuse(400, f"latency_ms must be an integer in [0, {MAX_LATENCY_MS}]")
    allowed = study.rules.answer_values
    if type(response) not in (int, str) or response not in allowed:
        _refuse(400, f"response must be one of {allowed}")
    return trial, response, latency


def _answer(study: Study, store: Store, token: str) -> dict:
    session = _session(store, token)
    if request.mimetype != "application/json":
        _refuse(415, "send the answer as application/json")
    trial_id, response, latency = parse_answer(study, request.get_data(cache=False))
    sides = dict(map(tuple, session.schedule))
    if trial_id not in sides:
        _refuse(403 if study.has_trial(trial_id) else 404, "trial not in this session")
    trial = study.trial(trial_id)
    score = study.rules.score(response, sides[trial_id])
    recorded = store.record(session.id, trial_id, trial.kind, str(response), score, latency)
    out = {"recorded": recorded, "next": _state(study, store, token, session)}
    if trial.kind == "practice" and study.rules.practice_feedback:
        out["feedback"] = study.rules.practice_feedback(response, sides[trial_id])
    return out


def _image(study: Study, store: Store, images: Path, token: str, name: str):
    session = _session(store, token)
    used = {n for t, _ in session.schedule for n in (study.trial(t).test, study.trial(t).reference)}
    if not IMAGE_NAME.fullmatch(name) or name not in used:  # checked before `name` touches the file system
        abort(404)
    path = (images / name).resolve()
    if path.parent != images or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/png", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def make_app(folder: Path, study: Study) -> Flask:
    store = Store(Path(folder) / DB_FILE, study.fingerprint)
    images = (Path(folder) / IMAGES_DIR).resolve()
    app = Flask(__name__)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    texts = {"design": study.rules}  # the templates include its partial (design.page)

    @app.after_request
    def headers(response):
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/")
    def landing():
        return render_template("landing.html", n_practice=study.settings.practice, **texts)

    @app.get("/favicon.ico")
    def favicon():  # browsers ask for one; an empty answer keeps their consoles clean
        return "", 204

    @app.post("/start")
    def start():
        token = store.new_session(lambda tok, index: session_schedule(study, tok, index), origin="landing")
        return redirect(url_for("trial_page", token=token), code=303)

    @app.get("/s/<token>")
    def trial_page(token):
        session = _session(store, token)
        if len(store.answered(session.id)) == len(session.schedule):
            return render_template("done.html", **texts)
        return render_template("trial.html", base=url_for("trial_page", token=token), **texts)

    @app.get("/s/<token>/next")
    def next_trial(token):
        return jsonify(_state(study, store, token, _session(store, token)))

    @app.post("/s/<token>/answer")
    def answer(token):
        return jsonify(_answer(study, store, token))

    @app.get("/s/<token>/img/<name>")
    def image(token, name):
        return _image(study, store, images, token, name)

    return app
