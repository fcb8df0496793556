"""Run the daemon on the sample clip against a local broker, show what a subscriber sees, and serve
the page (``moodcast web``) on 127.0.0.1: in a terminal the daemon then goes on looping over the
clip, so that the page has something to show, until Ctrl-C."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from checkout import REPO
from localbroker import AmqttBroker, any_broker, free_port, wait_port

PAGE_PORT = 8088  # web.port's default; another one when it is taken


def show(message) -> None:
    text = message.payload.decode(errors="replace")
    try:
        body = json.loads(text)
        if message.topic.endswith("/state"):
            text = (
                f"seq={body['seq']} emotion={body['emotion']} confidence={body['confidence']} "
                f"genre={body['genre']} faces={body['faces']} valence={body['valence']}"
            )
        elif message.topic.startswith("homeassistant/"):
            text = f"Home Assistant device with {len(body['cmps'])} entities: {', '.join(body['cmps'])}"
        else:
            text = json.dumps(body, separators=(",", ":"))[:160]
    except ValueError:
        pass
    print(f"  {message.topic}{' (retained)' if message.retain else ''}: {text}")


def page_port() -> int:
    import socket

    with socket.socket() as s:
        return PAGE_PORT if s.connect_ex(("127.0.0.1", PAGE_PORT)) != 0 else free_port()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        broker = any_broker(Path(tmp), prefer_embedded=os.environ.get("QUICKSTART_BROKER") == "embedded")
        kind = "embedded amqtt" if isinstance(broker, AmqttBroker) else "mosquitto"
        print(f"== broker: {kind} on 127.0.0.1:{broker.port}")
        broker.start()
        port, flags = broker.port, broker.flags
        received = []
        ready = threading.Event()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.on_connect = lambda c, *_: (c.subscribe([("moodcast/#", 1), ("homeassistant/#", 1)]), ready.set())
        sub.on_message = lambda c, u, m: (received.append(m), show(m))
        sub.connect_async("127.0.0.1", port)
        sub.loop_start()
        # A broker may accept TCP before it answers MQTT: wait for a real session.
        if not ready.wait(20):
            broker.stop()
            sys.exit("the broker does not answer MQTT")
        time.sleep(0.3)
        # Its own state folder: the demo neither reads nor changes what this user's moodcast learned.
        state = Path(tmp) / "state"
        env = {**os.environ, "STATE_DIRECTORY": str(state)}
        moodcast = [sys.executable, "-m", "moodcast"]  # this checkout's, run from REPO
        page = page_port()
        common = ["--mqtt-port", str(port), "--device-id", "demo", *flags]
        web = subprocess.Popen(
            [*moodcast, "web", "--port", str(page), *common, "--set", "web.sample_s=2"],
            cwd=REPO,
            env={**env, "MOODCAST_LOG": "WARNING"},
            stdout=subprocess.DEVNULL,
        )
        wait_port(page, timeout=30)
        print(f"== the page: http://127.0.0.1:{page}/ (moodcast web; open it in a browser)")
        print("== moodcast run on samples/astronaut.avi (a 4 s clip); a subscriber prints what arrives:")
        cmd = [*moodcast, "run", *common, "--set", "mqtt.stats_interval_s=2", *sys.argv[1:]]
        code = subprocess.call(cmd, cwd=REPO, env=env)
        time.sleep(0.5)
        sub.loop_stop()
        sub.disconnect()
        if code == 0 and sys.stdout.isatty():
            print(f"== the daemon goes on looping over the clip for the page, http://127.0.0.1:{page}/ ; Ctrl-C ends")
            with contextlib.suppress(KeyboardInterrupt):
                subprocess.call(
                    [*cmd, "--loop"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
        web.terminate()
        web.wait(10)
        broker.stop()
    states = [m for m in received if m.topic.endswith("/state")]
    print(f"== daemon exited with {code}; the subscriber received {len(received)} messages, {len(states)} state")
    if states:
        last = json.loads(states[-1].payload)
        print(f"== last state: {last['emotion']} ({last['confidence']:.0%}) -> genre {last['genre']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
