"""`moodcast run` against a real mosquitto on 127.0.0.1: the contract, retained messages and the
last will, commands, discovery, reconnecting without loss, TLS and authentication."""

import os
import signal
import time

import pytest
from conftest import make_broker
from helpers import validate
from mqtt_helpers import Recorder, start_daemon, stop

from moodcast.edge.paths import SAMPLES_DIR

CLIP = str(SAMPLES_DIR / "astronaut.avi")


def test_contract_schemas_and_clean_end_of_file(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(
        broker.port, "t1", "--source", CLIP, "--set", "mqtt.stats_interval_s=0.5", "--set", "mqtt.faces=true"
    )
    assert proc.wait(30) == 0  # the 4 s clip ends, the daemon ends cleanly
    rec.wait_for(lambda m: m.topic == "moodcast/t1/availability" and m.payload == b"offline", what="offline")
    states = [m.json() for m in rec.on("/t1/state")]
    assert states, "no state message"
    for s in states:
        validate(s, "state")
    assert [s["seq"] for s in states] == list(range(1, len(states) + 1))
    assert states[-1]["emotion"] == "happy" and states[-1]["genre"] == "pop" and states[-1]["faces"] == 1
    for m in rec.on("/t1/stats"):
        validate(m.json(), "stats")
    fps = [m.json()["fps"] for m in rec.on("/t1/stats")]
    assert fps[0] is None and 0.0 not in fps and fps[-1] > 0  # unknown until measured, never a false 0.0
    for m in rec.on("/t1/faces"):
        validate(m.json(), "faces")
    validate(rec.on("moodcast/t1/config")[-1].json(), "config")
    discovery = rec.on("homeassistant/device/t1/config")
    assert discovery
    validate(discovery[-1].json(), "discovery")
    rec.close()
    # A new subscriber gets the retained state, availability and discovery.
    late = Recorder(broker.port, client_id="late")
    late.wait_for(lambda m: m.topic.endswith("/t1/state") and m.retain, what="retained state")
    late.wait_for(lambda m: m.topic.endswith("/t1/availability") and m.payload == b"offline" and m.retain)
    late.wait_for(lambda m: m.topic == "homeassistant/device/t1/config" and m.retain)
    late.close()


def test_sigterm_publishes_offline_and_exits_0(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t2", "--source", CLIP, "--loop")
    rec.wait_for(lambda m: m.topic.endswith("/t2/state"), timeout=20, what="first state")
    started = time.monotonic()
    assert stop(proc) == 0
    assert time.monotonic() - started < 5
    rec.wait_for(lambda m: m.topic.endswith("/t2/availability") and m.payload == b"offline")
    rec.close()


def test_last_will_after_kill_9(broker):
    keepalive = 5
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t3", "--source", CLIP, "--loop", "--set", f"mqtt.keepalive={keepalive}")
    rec.wait_for(lambda m: m.topic.endswith("/t3/availability") and m.payload == b"online", timeout=20)
    killed = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    offline = rec.wait_for(
        lambda m: m.topic.endswith("/t3/availability") and m.payload == b"offline",
        timeout=keepalive * 2,
        what="the last will",
    )
    assert offline.at - killed <= 1.5 * keepalive + 0.5
    rec.close()


def test_commands_are_applied_or_rejected_with_a_message(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t4", "--source", CLIP, "--loop")
    rec.wait_for(lambda m: m.topic.endswith("/t4/state"), timeout=20)

    def ack(key):
        return rec.wait_for(
            lambda m: (
                m.topic == "moodcast/t4/config" and (m.json()["last_command"] or {}).get("key") == key and m not in seen
            ),
            what=f"ack for {key}",
        )

    seen = []
    rec.publish("moodcast/t4/set/strategy", "uplift")
    m = ack("strategy")
    seen.append(m)
    assert m.json()["last_command"]["ok"] and m.json()["strategy"] == "uplift"
    rec.wait_for(lambda m: m.topic.endswith("/t4/state") and m.json()["strategy"] == "uplift")
    rec.publish("moodcast/t4/set/strategy", "shuffle")
    m = ack("strategy")
    assert not m.json()["last_command"]["ok"] and "shuffle" in m.json()["last_command"]["error"]
    assert m.json()["strategy"] == "uplift"
    rec.publish("moodcast/t4/set/volume", "11")
    m = ack("volume")
    assert "unknown setting" in m.json()["last_command"]["error"]
    rec.publish("moodcast/t4/set/enabled", "OFF")
    rec.wait_for(
        lambda m: m.topic.endswith("/t4/state") and m.json()["enabled"] is False and m.json()["emotion"] is None,
        what="disabled state",
    )
    assert proc.poll() is None  # nothing crashed it
    assert stop(proc) == 0
    rec.close()


def test_discovery_is_published_again_when_home_assistant_restarts(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t5", "--source", CLIP, "--loop")
    rec.wait_for(lambda m: m.topic == "homeassistant/device/t5/config", timeout=20)
    before = len(rec.on("homeassistant/device/t5/config"))
    rec.publish("homeassistant/status", "online")
    deadline = time.monotonic() + 5
    while len(rec.on("homeassistant/device/t5/config")) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(rec.on("homeassistant/device/t5/config")) > before
    stop(proc)
    rec.close()


@pytest.mark.slow
def test_a_flood_of_home_assistant_online_gets_one_republish_then_one_more(broker):
    """3,000 "online" on homeassistant/status: one discovery at once, one when the interval is
    up, none for the rest: no retained 2.8 KB document per message."""
    from moodcast.edge.service.republish import DISCOVERY_REPUBLISH_S

    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "flood", "--source", CLIP, "--loop")
    topic = "homeassistant/device/flood/config"
    rec.wait_for(lambda m: m.topic == topic, timeout=20)
    time.sleep(0.5)
    before = len(rec.on(topic))
    flood = time.monotonic()
    for _ in range(3000):
        rec.client.publish("homeassistant/status", "online", qos=0)
    time.sleep(3)
    assert len(rec.on(topic)) - before == 1
    time.sleep(max(0.0, flood + DISCOVERY_REPUBLISH_S + 3 - time.monotonic()))
    assert len(rec.on(topic)) - before == 2
    assert proc.poll() is None
    stop(proc)
    rec.close()


@pytest.mark.slow
def test_broker_outage_loses_no_state_and_keeps_order(tmp_path):
    """Broker stopped for OUTAGE_S while the daemon keeps producing state; after it is back,
    every state message arrives, in order, seq contiguous."""
    outage = float(os.environ.get("OUTAGE_S", "30"))
    store = tmp_path / "store"
    store.mkdir()
    broker = make_broker(tmp_path, f"persistence true\npersistence_location {store}/\nautosave_interval 1\n").start()
    rec = Recorder(broker.port, topics=("moodcast/t6/state",), client_id="outage-sub", persistent=True)
    proc = start_daemon(
        broker.port,
        "t6",
        "--source",
        CLIP,
        "--loop",
        "--set",
        "mqtt.heartbeat_s=0.25",
        "--set",
        "mqtt.queue_size=1000",
        "--set",
        "mqtt.keepalive=5",
        log=tmp_path / "daemon.log",
    )
    try:
        rec.wait_for(lambda m: m.json()["seq"] >= 5, timeout=20)
        broker.stop()
        time.sleep(outage)
        broker.start()
        time.sleep(3)  # reconnect backoff is at most a few seconds after a short outage
        mark = rec.wait_for(lambda m: m.json()["seq"] > 4 * outage + 10, timeout=30, what="state after the outage")
        assert stop(proc) == 0
        time.sleep(0.5)
        seqs = [m.json()["seq"] for m in rec.on("/t6/state")]
        first_seen = list(dict.fromkeys(seqs))  # QoS 1 may repeat a message; order of first arrival
        assert first_seen == sorted(first_seen), "state arrived out of order"
        assert first_seen == list(range(first_seen[0], first_seen[-1] + 1)), "a state message was lost"
        assert first_seen[-1] >= mark.json()["seq"]
    finally:
        if proc.poll() is None:
            proc.kill()
        rec.close()
        broker.stop()


def test_a_camera_that_cannot_be_opened_is_retried_and_reported(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t7", "--source", "/dev/video63", "--set", "mqtt.stats_interval_s=0.5")
    state = rec.wait_for(
        lambda m: m.topic == "moodcast/t7/state" and m.json()["source_ok"] is False,
        timeout=20,
        what="state reporting the failed camera",
    )
    validate(state.json(), "state")
    stats = rec.wait_for(lambda m: m.topic == "moodcast/t7/stats" and m.json()["source_failures"] >= 2, timeout=20)
    assert "/dev/video63: cannot open" in stats.json()["source_error"]
    assert proc.poll() is None
    assert stop(proc) == 0
    rec.close()


def test_missing_video_file_and_bad_config_exit_with_a_message(broker, tmp_path):
    missing = start_daemon(broker.port, "t8", "--source", str(tmp_path / "nope.mp4"), log=tmp_path / "a.log")
    assert missing.wait(30) == 1
    assert "nope.mp4: no such video file" in (tmp_path / "a.log").read_text()
    bad = start_daemon(broker.port, "t8", "--set", "mqtt.qos=3", log=tmp_path / "b.log")
    assert bad.wait(30) == 2
    assert "mqtt.qos: must be 0, 1 or 2" in (tmp_path / "b.log").read_text()


def test_systemd_notify_ready_status_and_watchdog(broker, tmp_path):
    import socket

    address = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(address))
    sock.settimeout(20)
    proc = start_daemon(
        broker.port, "t9", "--source", CLIP, "--loop", env={"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": "1000000"}
    )
    got = []
    try:
        while not any(m.startswith("WATCHDOG=1") for m in got) or len(got) < 4:
            got.append(sock.recv(4096).decode())
    finally:
        assert stop(proc) == 0
    sock.settimeout(5)
    got.append(sock.recv(4096).decode())
    sock.close()
    assert got[0] == "READY=1"
    assert any(m.startswith("STATUS=running") for m in got)
    assert "STOPPING=1" in got


def test_mqtt_3_1_1_works_too(broker):
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "t10", "--source", CLIP, "--set", "mqtt.protocol=3.1.1")
    assert proc.wait(30) == 0
    state = rec.wait_for(lambda m: m.topic == "moodcast/t10/state", what="state over MQTT 3.1.1")
    validate(state.json(), "state")
    rec.wait_for(lambda m: m.topic == "moodcast/t10/availability" and m.payload == b"offline")
    rec.close()


def test_queue_bound_drops_are_counted_and_reported_and_the_device_is_available_again(broker, tmp_path):
    """The bound drops state only: availability, discovery and config get through after the outage."""
    rec = Recorder(broker.port)
    proc = start_daemon(
        broker.port,
        "t11",
        "--source",
        CLIP,
        "--loop",
        "--set",
        "mqtt.heartbeat_s=0.1",
        "--set",
        "mqtt.queue_size=5",
        "--set",
        "mqtt.stats_interval_s=0.5",
        "--set",
        "mqtt.keepalive=5",
    )
    try:
        rec.wait_for(lambda m: m.topic == "moodcast/t11/state", timeout=20)
        broker.stop()
        time.sleep(3)  # ~30 state messages for a queue of 5
        broker.start()
        stats = rec.wait_for(
            lambda m: m.topic == "moodcast/t11/stats" and m.json()["dropped_messages"] > 0,
            timeout=30,
            what="stats reporting dropped messages",
        )
        validate(stats.json(), "stats")
        assert proc.poll() is None
        late = Recorder(broker.port, client_id="t11-late")
        availability = late.wait_for(lambda m: m.topic == "moodcast/t11/availability" and m.retain)
        assert availability.payload == b"online"
        late.wait_for(lambda m: m.topic == "homeassistant/device/t11/config" and m.retain, what="discovery")
        late.wait_for(lambda m: m.topic == "moodcast/t11/config" and m.retain, what="config")
        late.close()
    finally:
        stop(proc)
        rec.close()
