"""HTTP API (Flask on the waitress WSGI server, the ``[api]`` extra): ``POST /v1/analyze`` and
``GET /healthz``.

Loopback by default. Bad input gets a JSON error with 400/413/415, never a stack trace; what is
refused before the app sees the request is answered by waitress, in plain text (docs/http-api.md):
a body over api.max_body_mb, ambiguous framing and a body over the in-flight budget (framing.py).
waitress reads requests asynchronously (a slow client holds no worker thread), refuses a body over
the limit from its Content-Length before reading it, and closes idle connections.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from moodcast.edge.config import Config
from moodcast.edge.errors import MissingExtraError, SourceError
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import ImageTooLarge, UnsupportedImage, decode

# image/jpg is not registered, but clients send it.
IMAGE_TYPES = (
    "image/jpeg",
    "image/jpg",
    "image/png",
    "image/bmp",
    "image/tiff",
    "image/webp",
    "application/octet-stream",
)
# The image and a few fields a form may add; werkzeug's default, 1,000, made a 0.3 MB body of
# 5,000 parts cost a file object each before being refused.
MAX_FORM_PARTS = 16


def max_body(config: Config) -> int:
    return int(config.api.max_body_mb * 1024 * 1024)


def create_app(config: Config, pipeline: Pipeline | None = None):
    try:
        from flask import Flask, jsonify, request
    except ImportError as exc:
        raise MissingExtraError("moodcast serve", "api", exc.name or "flask") from None
    from werkzeug.exceptions import HTTPException

    app = Flask("moodcast")
    app.config["MAX_CONTENT_LENGTH"] = max_body(config)
    app.config["MAX_FORM_PARTS"] = MAX_FORM_PARTS
    # A text field is bounded by the body's limit like a raw body is (read whole either way), and
    # leaving werkzeug's own 500 KB limit off keeps a 413 for a multipart body down to two causes.
    app.config["MAX_FORM_MEMORY_SIZE"] = None
    pipeline = pipeline or Pipeline.from_config(config, still=True)
    lock = threading.Lock()  # one interpreter, one request at a time

    def error(status: int, message: str):
        return jsonify({"error": message, "status": status}), status

    def too_large() -> str:
        length = request.content_length
        if request.mimetype == "multipart/form-data" and length is not None and length <= max_body(config):
            return f"a multipart upload of more than {MAX_FORM_PARTS} parts: send the image as one part"
        return f"body larger than {config.api.max_body_mb:g} MB"

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = too_large() if exc.code == 413 else exc.description or exc.name
        response, status = error(exc.code or 500, message)
        # Allow on a 405 (RFC 9110 section 15.5.6), from the exception's own headers.
        response.headers.extend((k, v) for k, v in exc.get_headers() if k.lower() != "content-type")
        return response, status

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("analyze failed")
        return error(500, "internal error; see the server log")

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "detector": config.detector.name, "runtime": pipeline.classifier.model.runtime})

    @app.post("/v1/analyze")
    def analyze():
        if request.files:
            upload = next(iter(request.files.values()))
            data, name = upload.read(), upload.filename or "upload"
        else:
            ctype = (request.mimetype or "").lower()
            if ctype not in IMAGE_TYPES:
                return error(
                    415, f"send an image body (image/jpeg, image/png, ...) or a multipart upload, not {ctype!r}"
                )
            data, name = request.get_data(), "body"
        if not data:
            return error(400, "empty body: send the image bytes")
        with lock:  # decoding too: four large images at once would not fit a Pi's memory
            try:
                image = decode(data, name, config.source.max_image_pixels, config.source.max_image_side)
            except ImageTooLarge as exc:
                return error(413, str(exc))
            except UnsupportedImage as exc:
                return error(415, str(exc))
            except SourceError as exc:
                return error(400, str(exc))
            result = pipeline.process(image.rgb)
        body = {"image": name, "width": image.width, "height": image.height}
        return jsonify({**body, **result.as_dict(box_scale=1 / image.scale)})

    return app


def serve(
    config: Config,
    host: str,
    port: int,
    threads: int = 4,
    channel_timeout_s: int = 30,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the API with waitress until interrupted; inference runs one request at a time. The
    address is announced once the app is built: a missing extra fails before anything is said."""
    try:
        import waitress
    except ImportError as exc:
        raise MissingExtraError("moodcast serve", "api", exc.name or "waitress") from None
    from moodcast.edge.service.framing import BodyBudget, use_framing

    logging.basicConfig()  # as waitress.serve does: its warnings reach stderr
    app = create_app(config)
    sockets: dict = {}
    server = waitress.create_server(
        app,
        map=sockets,
        host=host,
        port=port,
        threads=threads,
        channel_timeout=channel_timeout_s,
        max_request_body_size=max_body(config),
        max_request_header_size=64 * 1024,
        ident="moodcast",
        clear_untrusted_proxy_headers=True,
    )
    # As many largest bodies as there are workers to take them: more would only wait, spooled.
    use_framing(sockets, BodyBudget(limit=threads * max_body(config)))
    announce(f"moodcast API on http://{host}:{port} (POST /v1/analyze, GET /healthz)")
    server.run()
