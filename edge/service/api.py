"""HTTP API (Flask on the waitress WSGI server, the ``[api]`` extra): ``POST /v1/analyze`` and
``GET /healthz``.

Loopback by default. Bad input gets a JSON error with 400/413/415, never a stack trace; only a body
over api.max_body_mb is refused by waitress itself, in plain text (docs/http-api.md). waitress
reads requests asynchronously (a slow client holds no worker thread), refuses a body over the
limit from its Content-Length before reading it, and closes idle connections.
"""

from __future__ import annotations

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


def create_app(config: Config, pipeline: Pipeline | None = None):
    try:
        from flask import Flask, jsonify, request
    except ImportError as exc:
        raise MissingExtraError("moodcast serve", "api", exc.name or "flask") from None
    from werkzeug.exceptions import HTTPException

    app = Flask("moodcast")
    app.config["MAX_CONTENT_LENGTH"] = int(config.api.max_body_mb * 1024 * 1024)
    pipeline = pipeline or Pipeline.from_config(config, still=True)
    lock = threading.Lock()  # one interpreter, one request at a time

    def error(status: int, message: str):
        return jsonify({"error": message, "status": status}), status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code == 413:
            return error(413, f"body larger than {config.api.max_body_mb:g} MB")
        return error(exc.code or 500, exc.description or exc.name)

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
    app = create_app(config)
    announce(f"moodcast API on http://{host}:{port} (POST /v1/analyze, GET /healthz)")
    waitress.serve(
        app,
        host=host,
        port=port,
        threads=threads,
        channel_timeout=channel_timeout_s,
        max_request_body_size=int(config.api.max_body_mb * 1024 * 1024),
        max_request_header_size=64 * 1024,
        ident="moodcast",
        clear_untrusted_proxy_headers=True,
    )
