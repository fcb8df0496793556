"""The HTTP API with good, corrupt, empty, huge and non-image bodies."""

import io
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from helpers import REPO, validate

from moodcast.edge.config import load
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.service.api import create_app


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


def test_the_unregistered_image_jpg_that_clients_send_is_accepted(client):
    r = client.post("/v1/analyze", data=JPEG, content_type="image/jpg")
    assert r.status_code == 200 and r.get_json()["scene"]["emotion"] == "happy"


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


@pytest.fixture
def server(tmp_path):
    """`moodcast serve` as its own process on a free port of 127.0.0.1."""
    from localbroker import free_port, wait_port

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moodcast", "serve", "--port", str(port), "--set", "api.max_body_mb=1"],
            cwd=REPO,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(port, timeout=30)
        yield port, proc, log
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


def get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
        return r.status, r.read()


def test_a_slow_client_does_not_block_the_others(server, record_property):
    port, proc, log = server
    slow = []
    for _ in range(3):  # three clients trickling their headers, a byte at a time
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"POST /v1/analyze HTTP/1.1\r\nHo")
        slow.append(s)
    stop = threading.Event()

    def trickle():
        while not stop.wait(0.5):
            for s in slow:
                s.sendall(b"s")

    threading.Thread(target=trickle, daemon=True).start()
    try:
        started = time.monotonic()
        for _ in range(5):
            assert get(port, "/healthz")[0] == 200
        record_property("five_healthz_behind_slow_clients_s", round(time.monotonic() - started, 3))
        assert time.monotonic() - started < 2.0  # before the fix: 14-18 s behind one slow client
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/analyze", data=JPEG, headers={"Content-Type": "image/jpeg"}
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            assert json.loads(r.read())["scene"]["emotion"] == "happy"
    finally:
        stop.set()
        for s in slow:
            s.close()
    assert proc.poll() is None
    assert "development server" not in log.read_text()


def test_a_body_over_the_limit_is_refused_before_it_is_sent(server):
    port, _, _ = server
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(
            b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\n"
            + f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = s.recv(4096)  # no body byte was sent
    assert answer.startswith(b"HTTP/1.1 413")


def documented(spec: dict) -> set[tuple[str, str, int]]:
    return {
        (method.upper(), path, int(code))
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
        for code in operation["responses"]
    }


def response_schema(spec: dict, method: str, path: str, status: int, content_type: str) -> dict:
    """The documented schema of an answer, its file references read from schemas/."""
    content = spec["paths"][path][method.lower()]["responses"][str(status)]["content"]
    assert content_type in content, f"{method} {path} {status}: {content_type} is not documented"
    ref = content[content_type]["schema"].get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    if ref:
        return json.loads((REPO / "schemas" / ref).read_text())
    return content[content_type]["schema"]


def test_the_openapi_description_matches_the_servers_answers(server):
    """Every documented status code of every operation, produced by a real request to `moodcast
    serve`, and the answer validated against the documented schema; the Postman collection is the
    one generated from this description."""
    import jsonschema
    import postman
    from test_images import jpeg_declaring

    port = server[0]
    spec = json.loads((REPO / "schemas" / "openapi.json").read_text())
    requests = [
        ("GET", "/healthz", None, None, 200),
        ("POST", "/v1/analyze", JPEG, "image/jpeg", 200),
        ("POST", "/v1/analyze", b"\xff\xd8\xff broken", "image/jpeg", 400),
        ("POST", "/v1/analyze", jpeg_declaring(30000, 30000), "image/jpeg", 413),
        ("POST", "/v1/analyze", b"hello", "text/plain", 415),
        ("GET", "/v1/analyze", None, None, 405),
    ]
    seen = set()
    for method, path, body, ctype, status in requests:
        headers = {"Content-Type": ctype} if ctype else {}
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                code, answer_type, answer = r.status, r.headers.get_content_type(), r.read()
        except urllib.error.HTTPError as e:
            code, answer_type, answer = e.code, e.headers.get_content_type(), e.read()
        assert code == status, (method, path, code, answer[:200])
        jsonschema.validate(json.loads(answer), response_schema(spec, method, path, code, answer_type))
        seen.add((method, path, code))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # the other 413: waitress's
        s.sendall(
            b"POST /v1/analyze HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: 99999999\r\n\r\n"
        )
        head = s.recv(4096).decode(errors="replace")
    assert head.startswith("HTTP/1.1 413") and "text/plain" in head.lower()
    response_schema(spec, "POST", "/v1/analyze", 413, "text/plain")
    assert seen == documented(spec)
    made = postman.collection(spec)
    assert json.loads((REPO / "schemas" / "moodcast.postman_collection.json").read_text()) == made
    assert [i["name"] for i in made["item"]] == ["healthz", "analyze", "analyzeWrongMethod"]
