"""Run the daemon on the sample clip against a local broker and show what a subscriber sees."""

from __future__ import annotations

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
from localbroker import AmqttBroker, any_broker


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
        print("== moodcast run on samples/astronaut.avi (a 4 s clip); a subscriber prints what arrives:")
        cmd = [
            str(Path(sys.executable).parent / "moodcast"),
            "run",
            "--mqtt-port",
            str(port),
            "--device-id",
            "demo",
            "--set",
            "mqtt.stats_interval_s=2",
            *flags,
            *sys.argv[1:],
        ]
        # Its own state folder: the demo neither reads nor changes what this user's moodcast learned.
        state = Path(tmp) / "state"
        code = subprocess.call(cmd, cwd=REPO, env={**os.environ, "STATE_DIRECTORY": str(state)})
        time.sleep(0.5)
        sub.loop_stop()
        sub.disconnect()
        broker.stop()
    states = [m for m in received if m.topic.endswith("/state")]
    print(f"== daemon exited with {code}; the subscriber received {len(received)} messages, {len(states)} state")
    if states:
        last = json.loads(states[-1].payload)
        print(f"== last state: {last['emotion']} ({last['confidence']:.0%}) -> genre {last['genre']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
