"""The page's HTTP side (Flask, served by waitress): the page and its static files, and the JSON
it reads and posts.

Who may ask: with a token (``MOODCAST_WEB_TOKEN``, required when bound to anything but loopback)
every request needs it, as a cookie set by opening ``/?token=...`` once or as
``Authorization: Bearer``. Without one (loopback only) a request must name this machine in its
``Host`` (a web page elsewhere cannot reach it through DNS rebinding). POSTs are safe against
cross-site requests: a JSON body with the ``X-Moodcast`` header (a cross-site page can only send
that after a CORS preflight, which is never answered), an ``Origin``, when sent, of this page, and
a ``SameSite=Strict`` cookie.
"""

from __future__ import annotations

import hmac
import logging
import time
from importlib import resources

from moodcast.edge.config import Config
from moodcast.edge.errors import MissingExtraError
from moodcast.edge.mood.recommend import STRATEGIES
from moodcast.edge.service.preview import PreviewRequest
from moodcast.edge.web.doctor import DoctorRuns
from moodcast.edge.web.follow import Follower
from moodcast.edge.web.options import is_loopback
from moodcast.edge.web.store import Store
from moodcast.edge.web.words import learned

log = logging.getLogger("moodcast.web")

COOKIE = "moodcast_token"
CSRF_HEADER = "X-Moodcast"
STATIC = ("app.js", "style.css", "icon.svg")
SPANS = {"hour": 3600, "day": 86400}
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def static_file(name: str) -> bytes:
    return resources.files("moodcast.edge.web").joinpath("static", name).read_bytes()


def create_app(
    config: Config,
    follower: Follower,
    store: Store,
    preview: PreviewRequest,
    token: str | None,
    doctor: DoctorRuns,
    clock=time.time,
):
    try:
        from flask import Flask, jsonify, make_response, redirect, request
    except ImportError as exc:
        raise MissingExtraError("moodcast web", "api", exc.name or "flask") from None

    app = Flask("moodcast.web", static_folder=None)
    served = {name: static_file(name) for name in ("index.html", *STATIC)}  # read once, not per request
    app.config["MAX_CONTENT_LENGTH"] = 4096
    web = config.web
    local_hosts = {f"{name}:{web.port}" for name in ("127.0.0.1", "localhost", "[::1]")}

    def error(status: int, message: str):
        return jsonify({"error": message, "status": status}), status

    def has_token() -> bool:
        if token is None:
            return True
        given = request.cookies.get(COOKIE) or ""
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given = auth[len("Bearer ") :]
        return hmac.compare_digest(given.encode(), token.encode())

    @app.before_request
    def guard():
        if token is None and request.host not in local_hosts:
            return error(403, f"this page answers on {web.host}:{web.port} only (Host {request.host[:64]!r})")
        if request.path == "/" and token is not None and "token" in request.args:
            if not hmac.compare_digest(request.args["token"].encode(), token.encode()):
                return error(401, "wrong token")
            response = redirect("/", 303)  # the token leaves the address bar and the history
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", max_age=90 * 86400)
            return response
        if not has_token():
            if request.path == "/":
                return make_response(
                    "<!doctype html><title>moodcast</title><p>Open this page with its token: "
                    "http://&lt;device&gt;:PORT/?token=... (MOODCAST_WEB_TOKEN in secrets.env)</p>",
                    401,
                )
            return error(401, "a token is needed (open /?token=... once, or send Authorization: Bearer)")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if request.headers.get(CSRF_HEADER) != "1" or (origin and origin != f"http://{request.host}"):
                return error(403, f"a cross-site request: POSTs come from the page itself (header {CSRF_HEADER})")
            if not request.is_json:
                return error(415, "send application/json")
        return None

    @app.after_request
    def headers(response):
        response.headers.update(HEADERS)
        return response

    @app.get("/")
    def page():
        return make_response(served["index.html"], 200, {"Content-Type": "text/html; charset=utf-8"})

    @app.get("/static/<name>")
    def static(name: str):
        if name not in STATIC:
            return error(404, "no such file")
        kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}[name.rsplit(".", 1)[1]]
        return make_response(served[name], 200, {"Content-Type": f"{kind}; charset=utf-8"})

    @app.get("/api/now")
    def now():
        snap = follower.snapshot()
        body = {k: snap.get(k) for k in ("state", "stats", "config", "player", "availability", "player_availability")}
        body.update(
            connected=snap["connected"],
            online=snap["online"],
            preview_until=preview.until(),
            server_time=clock(),
            device=config.device_id,
            preview_s=web.preview_s,
            doctor=doctor.summary(),
            strategies=list(STRATEGIES),
        )
        return jsonify(body)

    @app.get("/api/timeline")
    def timeline():
        span = SPANS.get(request.args.get("span", "hour"))
        if span is None:
            return error(400, f"span: one of {', '.join(SPANS)}")
        return jsonify({"span_s": span, "now": clock(), **store.timeline(clock() - span)})

    @app.get("/api/learned")
    def learned_now():
        prefs = follower.snapshot().get("preferences")
        rows = learned(prefs if isinstance(prefs, dict) else None, config.recommend.match, config.learn)
        return jsonify({"emotions": rows})

    @app.get("/api/preview.jpg")
    def preview_frame():
        data = preview.frame()
        if data is None:  # none asked for, ended, or not written yet: the page polls without errors
            return "", 204
        return make_response(data, 200, {"Content-Type": "image/jpeg"})

    def body() -> dict:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    def sent(action):
        try:
            return action()
        except ConnectionError as exc:
            return error(503, str(exc))

    @app.post("/api/feedback")
    def feedback():
        outcome = body().get("outcome")
        if outcome not in ("liked", "disliked"):
            return error(400, "outcome: liked or disliked")
        return sent(lambda: jsonify({"sent": follower.send_feedback(outcome)}))

    @app.post("/api/strategy")
    def strategy():
        value = body().get("strategy")
        if value not in STRATEGIES:
            return error(400, f"strategy: one of {', '.join(STRATEGIES)}")
        return sent(lambda: jsonify({"sent": follower.set_strategy(value)}))

    @app.post("/api/enabled")
    def enabled():
        value = body().get("enabled")
        if not isinstance(value, bool):
            return error(400, "enabled: true or false")
        return sent(lambda: jsonify({"sent": follower.set_enabled(value)}))

    @app.post("/api/doctor")
    def run_doctor():
        return jsonify({"started": doctor.start()}), 202  # false: one is running already

    @app.post("/api/preview")
    def start_preview():
        try:
            until = preview.ask()
        except PermissionError as exc:
            return error(409, str(exc))
        return jsonify({"until": until, "seconds": web.preview_s})

    return app


def check_binding(host: str, token: str | None) -> None:
    """A page on the LAN only with a token."""
    from moodcast.edge.errors import ConfigError

    if token is None and not is_loopback(host):
        raise ConfigError(
            f"web.host {host}: a page reachable from the network needs a token: "
            "set MOODCAST_WEB_TOKEN (e.g. openssl rand -hex 16) in secrets.env, or web.token_file"
        )
