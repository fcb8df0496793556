"""Faults and hostile input against `moodcast run` as a process and a real mosquitto on 127.0.0.1:
retained and flooding commands, broker restarts and full queues, restarts and reloads, a second
daemon with the same device id, a camera that fails or a stream that never answers."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import threading
import time

import pytest
from conftest import make_broker
from helpers import validate
from mqtt_helpers import Recorder, start_daemon, stop, wait_for_line

from moodcast.edge.paths import SAMPLES_DIR

CLIP = str(SAMPLES_DIR / "astronaut.avi")


def on(rec: Recorder, device: str, suffix: str):
    return lambda m: m.topic == f"moodcast/{device}/{suffix}"


def test_a_retained_command_is_ignored_and_a_live_one_applied(broker, tmp_path):
    rec = Recorder(broker.port)
    rec.publish("moodcast/f5/set/enabled", "OFF", retain=True)  # left on the broker by some client
    log = tmp_path / "d.log"
    proc = start_daemon(broker.port, "f5", "--source", CLIP, "--loop", log=log)
    try:
        state = rec.wait_for(lambda m: on(rec, "f5", "state")(m) and m.json()["emotion"] == "happy", timeout=20)
        assert state.json()["enabled"] is True
        wait_for_line(log, "ignored a retained command on moodcast/f5/set/enabled")
        rec.publish("moodcast/f5/set/enabled", "OFF")
        rec.wait_for(lambda m: on(rec, "f5", "state")(m) and m.json()["enabled"] is False, what="live OFF applied")
    finally:
        assert stop(proc) == 0
        rec.publish("moodcast/f5/set/enabled", "", retain=True)
        rec.close()


def test_retained_topics_come_back_soon_after_a_broker_restart(tmp_path, record_property):
    broker = make_broker(tmp_path).start()  # no persistence: a restart forgets every retained message
    proc = start_daemon(broker.port, "f6", "--source", CLIP, "--loop", "--set", "mqtt.keepalive=5")
    try:
        rec = Recorder(broker.port)
        rec.wait_for(on(rec, "f6", "config"), timeout=20)
        rec.close()
        broker.stop()
        broker.start()
        restarted = time.monotonic()
        live = Recorder(broker.port, client_id="f6-live")
        for suffix in ("availability", "config", "state"):
            live.wait_for(on(live, "f6", suffix), timeout=15, what=suffix)
        record_property("retained_back_after_restart_s", round(time.monotonic() - restarted, 2))
        assert time.monotonic() - restarted < 15  # the state heartbeat is 30 s
        live.close()
        late = Recorder(broker.port, client_id="f6-late")
        for suffix in ("availability", "config", "state"):
            message = late.wait_for(on(late, "f6", suffix), what=f"retained {suffix}")
            assert message.retain
        assert late.wait_for(on(late, "f6", "availability")).payload == b"online"
        validate(late.wait_for(on(late, "f6", "config")).json(), "config")
        late.close()
    finally:
        stop(proc)
        broker.stop()


def test_a_restart_is_told_from_a_replay_by_boot_id(broker):
    rec = Recorder(broker.port)
    first = start_daemon(broker.port, "f13", "--source", CLIP)
    assert first.wait(30) == 0
    second = start_daemon(broker.port, "f13", "--source", CLIP)
    assert second.wait(30) == 0
    rec.wait_for(lambda m: on(rec, "f13", "availability")(m) and m.payload == b"offline")
    states = [m.json() for m in rec.on("/f13/state")]
    for s in states:
        validate(s, "state")
    boots = list(dict.fromkeys(s["boot_id"] for s in states))
    assert len(boots) == 2
    for boot in boots:
        seqs = [s["seq"] for s in states if s["boot_id"] == boot]
        assert seqs[0] == 1 and seqs == sorted(seqs)
    stats = [m.json() for m in rec.on("/f13/stats")]
    assert {s["boot_id"] for s in stats} <= set(boots)
    for s in stats:
        validate(s, "stats")
    rec.close()


def test_sighup_reloads_the_configuration_in_place(broker, tmp_path):
    conf = tmp_path / "moodcast.toml"
    conf.write_text("[recommend]\nstrategy = 'match'\n")
    rec = Recorder(broker.port)
    proc = start_daemon(broker.port, "f11", "--config", str(conf), "--source", CLIP, "--loop")
    try:
        first = rec.wait_for(lambda m: on(rec, "f11", "state")(m) and m.json()["emotion"], timeout=20).json()
        assert first["strategy"] == "match"
        conf.write_text("[recommend]\nstrategy = 'uplift'\n")
        os.kill(proc.pid, signal.SIGHUP)
        rec.wait_for(lambda m: on(rec, "f11", "availability")(m) and m.payload == b"offline", what="clean stop")
        after = rec.wait_for(
            lambda m: on(rec, "f11", "state")(m) and m.json()["boot_id"] != first["boot_id"], timeout=20
        ).json()
        assert after["strategy"] == "uplift" and after["seq"] == 1 and after["emotion"] == "happy"
        assert rec.wait_for(on(rec, "f11", "config")).json()["strategy"] in ("match", "uplift")
        assert rec.on("/f11/availability")[-1].payload == b"online"
        assert proc.poll() is None  # the same process (systemd keeps its PID), running
    finally:
        assert stop(proc) == 0
        rec.close()


def test_a_flood_of_commands_is_bounded_truncated_and_does_not_stop_state(broker, tmp_path, record_property):
    rec = Recorder(broker.port)
    log = tmp_path / "d.log"
    proc = start_daemon(broker.port, "f9", "--source", CLIP, "--loop", "--set", "mqtt.heartbeat_s=0.5", log=log)
    try:
        rec.wait_for(on(rec, "f9", "state"), timeout=20)
        rec.publish("moodcast/f9/set/strategy", "x" * 1_000_000)
        refused = rec.wait_for(lambda m: on(rec, "f9", "config")(m) and (m.json()["last_command"] or {}).get("key"))
        assert refused.json()["last_command"]["error"] == "payload too long (1000000 bytes; at most 256)"
        assert refused.json()["last_command"]["value"] == "x" * 64 + "..."
        for i in range(5000):
            rec.client.publish("moodcast/f9/set/strategy", f"bad{i}", qos=0)
        rec.publish("moodcast/f9/set/strategy", "uplift")
        flood_sent = time.monotonic()
        rec.wait_for(
            lambda m: on(rec, "f9", "state")(m) and m.at > flood_sent and m.json()["strategy"] == "uplift",
            timeout=20,
            what="state after the flood",
        )
        assert proc.poll() is None
    finally:
        assert stop(proc) == 0
    text = log.read_text()
    configs = [m for m in rec.messages if m.topic == "moodcast/f9/config"]
    record_property("flood_log_lines", len(text.splitlines()))
    record_property("flood_config_messages", len(configs))
    assert len(text.splitlines()) < 60, text[-3000:]  # not one log line per command
    assert "x" * 100 not in text
    assert all(len(m.payload) < 600 for m in configs)
    assert len(configs) < 200  # not a publish per command
    rec.close()


@pytest.mark.slow
def test_two_daemons_with_one_device_id_back_off_instead_of_fighting(broker, tmp_path, record_property):
    rec = Recorder(broker.port)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    procs = [start_daemon(broker.port, "f10", "--source", CLIP, "--loop", log=log) for log in logs]
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any("another moodcast" in p.read_text() for p in logs):
            time.sleep(0.1)
        said = [p.read_text() for p in logs]
        assert any("is a second one running with mqtt.device_id 'f10'?" in s for s in said), said
        counted_from = time.monotonic()
        time.sleep(10)
        flips = [m for m in rec.on("/f10/availability") if m.at >= counted_from]
        record_property("twin_availability_messages_in_10_s", len(flips))
        assert len(flips) <= 2, [m.payload for m in flips]  # not one a second
        assert all(p.poll() is None for p in procs)
    finally:
        for p in procs:
            stop(p)
        rec.close()


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a hung RTSP camera)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for s in self.held:
            s.close()


@pytest.mark.slow
def test_the_watchdog_is_fed_and_commands_answered_while_the_camera_fails(broker, tmp_path, record_property):
    server = SilentServer()
    address = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(address))
    sock.settimeout(1)
    rec = Recorder(broker.port)
    watchdog_s = 12  # systemd's WatchdogSec: the daemon pings every 3 s, a blocked open lasts 5 s at most
    proc = start_daemon(
        broker.port,
        "f3",
        "--source",
        f"rtsp://127.0.0.1:{server.port}/cam",
        "--set",
        "source.retry_max_s=8",
        env={"NOTIFY_SOCKET": str(address), "WATCHDOG_USEC": str(watchdog_s * 1_000_000)},
    )
    pings = []
    try:
        rec.wait_for(lambda m: on(rec, "f3", "state")(m) and m.json()["source_ok"] is False, timeout=30)
        asked = time.monotonic()
        rec.publish("moodcast/f3/set/strategy", "uplift")
        ack = rec.wait_for(lambda m: on(rec, "f3", "config")(m) and (m.json()["last_command"] or {}).get("ok"))
        record_property("command_ack_during_backoff_s", round(ack.at - asked, 2))
        assert ack.at - asked < 2.0  # answered during the backoff, not after it
        until = time.monotonic() + 25
        while time.monotonic() < until:
            try:
                if sock.recv(4096).startswith(b"WATCHDOG=1"):
                    pings.append(time.monotonic())
            except TimeoutError:
                pass
        assert proc.poll() is None
    finally:
        stop(proc)
        sock.close()
        server.close()
        rec.close()
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    record_property("watchdog_max_gap_s", round(max(gaps), 2) if gaps else None)
    assert len(pings) >= 4 and max(gaps) < watchdog_s, gaps  # fed during the backoff too
