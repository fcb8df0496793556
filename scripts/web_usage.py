"""Memory and CPU of ``moodcast web`` (the page's process) beside a daemon on the empty-room and
one-face clips (testbed/clips.py, looped) against a local mosquitto: its CPU seconds per wall
second read from /proc over a window after warm-up, with nobody looking and with the page open in
one headless Chromium (it polls every 2 s, the timeline every 10 s), and its resident memory
(VmRSS, and VmHWM: the peak) at the end. The daemon's CPU in the same window for scale.

    .venv/bin/python scripts/web_usage.py [--seconds 30] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import REPO
from clips import make as make_clips
from cpu_usage import cpu_seconds
from localbroker import Broker, free_port, wait_port


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def window(pids: list[int], seconds: float) -> list[float]:
    c0, t0 = [cpu_seconds(p) for p in pids], time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - t0
    return [(cpu_seconds(p) - c) / wall for p, c in zip(pids, c0)]


def measure(port: int, clip: Path, seconds: float, chromium: str, tmp: Path) -> dict:
    env = {**os.environ, "STATE_DIRECTORY": str(tmp / f"state-{clip.stem}"), "MOODCAST_LOG": "WARNING"}
    common = ["--mqtt-port", str(port), "--device-id", "usage"]
    daemon = subprocess.Popen(
        [sys.executable, "-m", "moodcast", "run", "--source", str(clip), "--loop", *common],
        cwd=REPO,
        env=env,
        stderr=subprocess.DEVNULL,
    )
    page_port = free_port()
    web = subprocess.Popen(
        [sys.executable, "-m", "moodcast", "web", "--port", str(page_port), *common], cwd=REPO, env=env
    )
    try:
        wait_port(page_port, timeout=60)
        time.sleep(5)
        idle_web, idle_daemon = window([web.pid, daemon.pid], seconds)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{page_port}/")
            time.sleep(3)
            seen_web, seen_daemon = window([web.pid, daemon.pid], seconds)
            emotion = page.inner_text("#emotion")
            browser.close()
        rss, peak = memory_mb(web.pid)
        return {
            "idle": idle_web,
            "seen": seen_web,
            "daemon": (idle_daemon + seen_daemon) / 2,
            "rss": rss,
            "peak": peak,
            "emotion": emotion,
        }
    finally:
        for proc in (web, daemon):
            proc.terminate()
            proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="each measured window")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_clips(Path(tmp) / "clips", seconds=20.0)
        broker = Broker(Path(tmp)).start()
        try:
            rows = {
                name: measure(broker.port, clips[name], args.seconds, args.chromium, Path(tmp))
                for name in ("empty_room", "one_face")
            }
        finally:
            broker.stop()
    print(f"moodcast web beside moodcast run on looped clips, {args.seconds:g} s windows, {socket.gethostname()}")
    print(
        f"{'clip':<12} {'page shown':>10} {'web CPU idle':>13} {'web CPU page open':>18} {'web RSS MB':>11} "
        f"{'web peak MB':>12} {'daemon CPU':>11}"
    )
    for name, r in rows.items():
        print(
            f"{name:<12} {r['emotion']:>10} {r['idle']:>13.2%} {r['seen']:>18.2%} {r['rss']:>11.1f} "
            f"{r['peak']:>12.1f} {r['daemon']:>11.1%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
