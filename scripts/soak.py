"""Soak run: the daemon on N frames against a local mosquitto; prints resident memory and queued
messages over time from its own `stats`, and whether RSS stayed flat (within 10% after warm-up).

    .venv/bin/python scripts/soak.py [--frames 20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from checkout import REPO
from localbroker import Broker


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=20000)
    parser.add_argument("--input", default=str(REPO / "samples" / "astronaut.jpg"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp)).start()
        port = broker.port
        samples = []
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        sub.on_connect = lambda c, *_: c.subscribe("moodcast/soak/stats")
        sub.on_message = lambda c, u, m: samples.append(json.loads(m.payload))
        sub.connect("127.0.0.1", port)
        sub.loop_start()
        started = time.monotonic()
        code = subprocess.call(
            [
                sys.executable,
                "-m",
                "moodcast",
                "run",
                "--mqtt-port",
                str(port),
                "--device-id",
                "soak",
                "--source",
                args.input,
                "--loop",
                "--max-frames",
                str(args.frames),
                "--set",
                "source.fps_cap=0",
                "--set",
                "mqtt.stats_interval_s=2",
                "--set",
                "mqtt.heartbeat_s=1",
            ],
            cwd=REPO,
            stderr=subprocess.DEVNULL,
        )
        elapsed = time.monotonic() - started
        time.sleep(0.5)
        sub.loop_stop()
        broker.stop()
    print(f"{args.frames} frames in {elapsed:.0f} s (exit {code}); stats every 2 s:")
    print(f"{'frames':>8}{'rss MB':>9}{'queued':>8}{'dropped msgs':>14}{'fps':>7}")
    for s in samples:
        print(
            f"{s['frames']:>8}{s['rss_mb']:>9.1f}{s['queued_messages']:>8}{s['dropped_messages']:>14}{s['fps']:>7.1f}"
        )
    settled = [s for s in samples if s["frames"] >= min(1000, args.frames // 10)]
    if not settled:
        print("too few samples")
        return 1
    rss = [s["rss_mb"] for s in settled]
    growth = (max(rss) - min(rss)) / min(rss)
    queued = max(s["queued_messages"] for s in settled)
    verdict = growth <= 0.10 and queued <= 5
    print(
        f"RSS after warm-up: {min(rss):.1f}-{max(rss):.1f} MB ({growth:.1%} spread); "
        f"queued messages at most {queued}: {'flat' if verdict else 'NOT flat'}"
    )
    return 0 if verdict and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
