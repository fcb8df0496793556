"""Run the daemon on the sample clip against a local broker and show what a subscriber sees."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(port: int, workdir: Path) -> tuple[subprocess.Popen, list[str]]:
    """The broker process and the `moodcast run` flags it needs."""
    mosquitto = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if os.environ.get("QUICKSTART_BROKER") == "embedded":
        mosquitto = None
    if mosquitto:
        conf = workdir / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
        print(f"== broker: mosquitto on 127.0.0.1:{port}")
        cmd, flags = [mosquitto, "-c", str(conf)], []
    else:
        if shutil.which("amqtt", path=str(Path(sys.executable).parent)) is None:
            print("== mosquitto is not installed: installing the embedded broker amqtt into .venv")
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "amqtt"], check=True)
        conf = workdir / "amqtt.yaml"
        conf.write_text(
            f"listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:{port}\nplugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
        )
        print(f"== broker: embedded amqtt on 127.0.0.1:{port}")
        cmd = [str(Path(sys.executable).parent / "amqtt"), "-c", str(conf)]
        flags = ["--set", "mqtt.protocol=3.1.1"]  # amqtt speaks MQTT 3.1.1 only
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, flags
        time.sleep(0.1)
    proc.kill()
    sys.exit("the broker did not start")


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
        port = free_port()
        broker, flags = start_broker(port, Path(tmp))
        received = []
        ready = threading.Event()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.on_connect = lambda c, *_: (c.subscribe([("moodcast/#", 1), ("homeassistant/#", 1)]), ready.set())
        sub.on_message = lambda c, u, m: (received.append(m), show(m))
        sub.connect_async("127.0.0.1", port)
        sub.loop_start()
        # A broker may accept TCP before it answers MQTT: wait for a real session.
        if not ready.wait(20):
            broker.kill()
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
        code = subprocess.call(cmd, cwd=REPO)
        time.sleep(0.5)
        sub.loop_stop()
        sub.disconnect()
        broker.terminate()
        broker.wait(5)
    states = [m for m in received if m.topic.endswith("/state")]
    print(f"== daemon exited with {code}; the subscriber received {len(received)} messages, {len(states)} state")
    if states:
        last = json.loads(states[-1].payload)
        print(f"== last state: {last['emotion']} ({last['confidence']:.0%}) -> genre {last['genre']}")
    return code


if __name__ == "__main__":
    sys.exit(main())
