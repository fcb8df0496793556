"""The HTTP API with good, corrupt, empty, huge and non-image bodies."""

import io

import pytest
from helpers import validate

from edge.api import create_app
from edge.config import load
from edge.paths import SAMPLES_DIR


@pytest.fixture(scope="module")
def client():
    app = create_app(load(overrides={"api": {"max_body_mb": 1.0}}, environ={}))
    return app.test_client()


JPEG = (SAMPLES_DIR / "astronaut.jpg").read_bytes()


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json()["status"] == "ok"


def test_analyze_raw_body(client):
    r = client.post("/v1/analyze", data=JPEG, content_type="image/jpeg")
    assert r.status_code == 200
    body = r.get_json()
    validate(body, "analyze")
    assert body["scene"]["emotion"] == "happy" and len(body["faces"]) == 1


def test_analyze_multipart(client):
    r = client.post("/v1/analyze", data={"image": (io.BytesIO(JPEG), "me.jpg")}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.get_json()["image"] == "me.jpg"


@pytest.mark.parametrize(
    "body, ctype, status, words",
    [
        (b"\xff\xd8\xff\xe0 corrupt", "image/jpeg", 400, "not a readable image"),
        (b"", "image/jpeg", 400, "empty body"),
        (b"hello", "text/plain", 415, "send an image body"),
        (b'{"a": 1}', "application/json", 415, "send an image body"),
        (b"\x00" * (2 * 1024 * 1024), "image/jpeg", 413, "larger than 1 MB"),
    ],
)
def test_bad_bodies_get_json_errors(client, body, ctype, status, words):
    r = client.post("/v1/analyze", data=body, content_type=ctype)
    assert r.status_code == status
    payload = r.get_json()
    assert words in payload["error"] and "Traceback" not in r.get_data(as_text=True)


def test_unknown_route_and_method_are_json(client):
    assert client.get("/nope").get_json()["status"] == 404
    assert client.get("/v1/analyze").status_code == 405
