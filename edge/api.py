"""HTTP API (Flask, the ``[api]`` extra): ``POST /v1/analyze`` and ``GET /healthz``.

Loopback by default. Bad input gets a JSON error with 400/413/415, never a stack trace.
"""

from __future__ import annotations

import threading

from edge.config import Config
from edge.errors import MissingExtraError
from edge.pipeline import Pipeline
from edge.sources.base import SourceError
from edge.sources.images import decode_image

IMAGE_TYPES = ("image/jpeg", "image/png", "image/bmp", "image/tiff", "image/webp", "application/octet-stream")


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
        try:
            rgb = decode_image(data, name)
        except SourceError as exc:
            return error(400, str(exc))
        with lock:
            result = pipeline.process(rgb)
        return jsonify({"image": name, "width": rgb.shape[1], "height": rgb.shape[0], **result.as_dict()})

    return app
