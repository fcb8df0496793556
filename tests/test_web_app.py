"""The page's process against a real mosquitto: what it follows and keeps, what its controls send,
and who may ask (the token, the Host, cross-site POSTs), through Flask's test client."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace

import pytest
from mqtt_helpers import Recorder

from moodcast.edge.config import load
from moodcast.edge.errors import ConfigError
from moodcast.edge.service.preview import PreviewRequest
from moodcast.edge.web.app import COOKIE, check_binding, create_app
from moodcast.edge.web.doctor import DoctorRuns
from moodcast.edge.web.follow import Follower
from moodcast.edge.web.store import Store

TOKEN = "0123456789abcdef0123"
POST = {"X-Moodcast": "1"}
STATE = {
    "seq": 1,
    "boot_id": "0123456789abcdef",
    "ts": "2026-01-01T00:00:00.000Z",
    "emotion": "happy",
    "confidence": 0.81,
    "probabilities": {"happy": 0.81},
    "valence": 0.58,
    "arousal": 0.39,
    "genre": "pop",
    "strategy": "match",
    "faces": 1,
    "enabled": True,
    "source_ok": True,
}


@pytest.fixture
def page(broker, tmp_path):
    """The page's parts on the test broker: follower, store, recorder, client(token)."""
    config = load(
        overrides={
            "mqtt": {"port": broker.port, "device_id": "webtest"},
            "web": {"runtime_dir": str(tmp_path / "run"), "port": 8088},
        },
        environ={},
    )
    store = Store(tmp_path / "web.sqlite", 3600, 100)
    follower = Follower(config, store)
    follower.start()
    assert follower.wait_connected(10)
    recorder = Recorder(broker.port, topics=("moodcast/webtest/#",))

    doctor = DoctorRuns(["--set", f"mqtt.port={broker.port}", "--set", "mqtt.device_id=webtest"])

    def client(token: str | None = None):
        app = create_app(config, follower, store, PreviewRequest(config), token, doctor)
        return app.test_client()

    yield SimpleNamespace(follower=follower, store=store, recorder=recorder, client=client)
    recorder.close()
    follower.stop()


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("timed out")


def test_the_page_shows_what_the_daemon_published_and_keeps_a_timeline(page):
    page.recorder.publish("moodcast/webtest/availability", "online", retain=True)
    page.recorder.publish("moodcast/webtest/state", json.dumps(STATE), retain=True)
    wait_until(lambda: page.follower.snapshot().get("state") is not None)
    now = page.client().get("/api/now", headers={"Host": "127.0.0.1:8088"}).get_json()
    assert now["online"] and now["state"]["emotion"] == "happy" and now["state"]["genre"] == "pop"
    assert page.follower.sample() is not None and page.follower.sample() is not None
    page.recorder.publish("moodcast/webtest/state", json.dumps({**STATE, "seq": 2, "emotion": "sad", "genre": "blues"}))
    wait_until(lambda: page.follower.snapshot()["state"]["genre"] == "blues")
    timeline = page.client().get("/api/timeline?span=hour", headers={"Host": "localhost:8088"}).get_json()
    assert len(timeline["points"]) == 2
    assert [c["genre"] for c in timeline["changes"]] == ["pop", "blues"]
    assert timeline["changes"][1]["reason"] == "the mood changed from happy to sad, which plays blues"


def test_no_timeline_point_while_the_daemon_is_offline(page):
    page.recorder.publish("moodcast/webtest/state", json.dumps(STATE), retain=True)
    page.recorder.publish("moodcast/webtest/availability", "offline", retain=True)
    wait_until(lambda: page.follower.snapshot().get("availability") == "offline")
    assert page.follower.sample() is None and page.store.pending == 1  # the first genre change only


def test_a_dislike_arrives_on_the_feedback_topic_about_the_state_shown(page):
    page.recorder.publish("moodcast/webtest/state", json.dumps(STATE), retain=True)
    wait_until(lambda: page.follower.snapshot().get("state") is not None)
    answer = page.client().post(
        "/api/feedback", json={"outcome": "disliked"}, headers={**POST, "Host": "127.0.0.1:8088"}
    )
    assert answer.status_code == 200, answer.get_json()
    got = page.recorder.wait_for(lambda m: m.topic.endswith("/feedback"), what="the dislike")
    assert json.loads(got.payload) == {"outcome": "disliked", "emotion": "happy", "genre": "pop"} and not got.retain
    page.client().post("/api/strategy", json={"strategy": "uplift"}, headers={**POST, "Host": "127.0.0.1:8088"})
    page.client().post("/api/enabled", json={"enabled": False}, headers={**POST, "Host": "127.0.0.1:8088"})
    page.recorder.wait_for(lambda m: m.topic.endswith("/set/strategy") and m.payload == b"uplift", what="the strategy")
    page.recorder.wait_for(lambda m: m.topic.endswith("/set/enabled") and m.payload == b"OFF", what="the pause")
    later = Recorder(page.recorder.client._port, topics=("moodcast/webtest/#",))  # nothing left retained
    time.sleep(0.5)
    assert [m.topic for m in later.messages if not m.topic.endswith("/state")] == []
    later.close()


def test_cross_site_posts_are_refused(page):
    local = {"Host": "127.0.0.1:8088"}
    # A form on another site can send neither the header nor JSON without a preflight.
    assert page.client().post("/api/feedback", data={"outcome": "disliked"}, headers=local).status_code == 403
    evil = {**POST, **local, "Origin": "http://evil.example"}
    assert page.client().post("/api/feedback", json={"outcome": "disliked"}, headers=evil).status_code == 403
    assert page.client().post("/api/feedback", data="outcome=disliked", headers={**POST, **local}).status_code == 415
    time.sleep(0.3)
    assert page.recorder.on("/feedback") == []


def test_without_a_token_only_this_machine_by_name_is_answered(page):
    assert page.client().get("/api/now", headers={"Host": "127.0.0.1:8088"}).status_code == 200
    # A page elsewhere whose name was rebound to 127.0.0.1 sends its own name.
    assert page.client().get("/api/now", headers={"Host": "evil.example:8088"}).status_code == 403


def test_with_a_token_nothing_is_answered_without_it(page):
    web = page.client(TOKEN)
    host = {"Host": "192.168.1.20:8088"}
    assert web.get("/", headers=host).status_code == 401
    assert web.get("/api/now", headers=host).status_code == 401
    assert web.get("/static/app.js", headers=host).status_code == 401
    assert web.post("/api/feedback", json={"outcome": "liked"}, headers={**POST, **host}).status_code == 401
    assert web.get("/?token=wrong-token-of-some-length", headers=host).status_code == 401
    assert web.get("/api/now", headers={**host, "Authorization": f"Bearer {TOKEN}"}).status_code == 200
    opened = web.get(f"/?token={TOKEN}", headers=host)
    assert opened.status_code == 303 and opened.headers["Location"] == "/"
    cookie = opened.headers["Set-Cookie"]
    assert f"{COOKIE}={TOKEN}" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert web.get("/", headers=host).status_code == 200  # the cookie, from now on
    assert web.get("/api/now", headers=host).status_code == 200


def test_a_page_on_the_network_needs_a_token():
    with pytest.raises(ConfigError, match="MOODCAST_WEB_TOKEN"):
        check_binding("0.0.0.0", None)
    check_binding("0.0.0.0", TOKEN)
    check_binding("127.0.0.1", None)
    check_binding("::1", None)
    with pytest.raises(ConfigError, match="at least 16"):
        load(environ={}).web.read_token({"MOODCAST_WEB_TOKEN": "short"})


def test_the_page_and_its_files_are_served(page):
    host = {"Host": "127.0.0.1:8088"}
    index = page.client().get("/", headers=host)
    assert index.status_code == 200 and b'<script src="/static/app.js"' in index.data
    assert "default-src 'self'" in index.headers["Content-Security-Policy"]
    for name in ("app.js", "style.css", "icon.svg"):
        assert page.client().get(f"/static/{name}", headers=host).status_code == 200
    assert page.client().get("/static/../app.py", headers=host).status_code == 404
    assert page.client().get("/api/preview.jpg", headers=host).status_code == 204  # none asked for


def test_the_checks_run_on_request_in_their_own_process(page):
    host = {"Host": "127.0.0.1:8088"}
    assert page.client().get("/api/now", headers=host).get_json()["doctor"] == {"running": False, "last": None}
    answer = page.client().post("/api/doctor", json={}, headers={**POST, **host})
    assert answer.status_code == 202 and answer.get_json() == {"started": True}
    assert page.client().post("/api/doctor", json={}, headers={**POST, **host}).get_json() == {"started": False}
    wait_until(lambda: page.client().get("/api/now", headers=host).get_json()["doctor"]["last"] is not None, 120)
    last = page.client().get("/api/now", headers=host).get_json()["doctor"]["last"]
    assert last["status"] in ("ok", "warn") and last["checks"] >= 5, last  # the test broker answers
    assert all(p["status"] != "ok" for p in last["problems"])
    assert "broker" not in {p["name"] for p in last["problems"]}
