"""CPU of `moodcast run` on clips, as a 24/7 device spends it: the daemon on each clip (looped, at
its own frame rate, the default fps cap) against a local mosquitto, its CPU seconds per wall second
read from /proc over a window after warm-up. Each configuration runs in the same sitting, the
first as the baseline, so the table gives ratios too.

    .venv/bin/python scripts/cpu_usage.py [--seconds 20] [--clips DIR] [--config NAME=SET,SET ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkout import REPO
from clips import make as make_clips
from localbroker import Broker

BASELINE = "full pipeline every frame"
CONFIGS = {
    BASELINE: ["motion.enabled=false", "tracking.enabled=false", "source.idle_fps_cap=0"],
    "default (motion gate, tracking, classify every 3rd)": [],
    "analysis off (frames only read)": ["runtime.enabled=false"],
}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port: int, clip: Path, sets: list[str], seconds: float, warmup: float = 4.0) -> float:
    """Share of one core the daemon uses on ``clip``."""
    flags = [arg for s in sets for arg in ("--set", s)]
    cmd = [sys.executable, "-m", "moodcast", "run", "--source", str(clip), "--loop", "--mqtt-port", str(port)]
    proc = subprocess.Popen([*cmd, "--device-id", "cpu", *flags], cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        time.sleep(warmup)
        c0, t0 = cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(proc.pid) - c0) / (time.monotonic() - t0)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured window per run")
    parser.add_argument("--clips", type=Path, help="folder of clips (default: made now by testbed/clips.py)")
    parser.add_argument("--config", action="append", default=[], metavar="NAME=KEY=V,KEY=V", help="another row")
    args = parser.parse_args()
    configs = dict(CONFIGS)
    for extra in args.config:
        name, _, sets = extra.partition("=")
        configs[name] = [s for s in sets.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        made = make_clips(args.clips or Path(tmp) / "clips", seconds=20.0) if not args.clips else None
        paths = made or {p.stem: p for p in sorted(args.clips.glob("*.avi"))}
        broker = Broker(Path(tmp)).start()
        try:
            rows = {
                name: {c: measure(broker.port, p, sets, args.seconds) for c, p in paths.items()}
                for name, sets in configs.items()
            }
        finally:
            broker.stop()
    names = list(paths)
    print(f"CPU of one core, `moodcast run` at the default fps cap, {args.seconds:g} s per run, this machine")
    print(f"{'configuration':<54}" + "".join(f"{n:>18}" for n in names))
    base = rows[BASELINE]
    for name, row in rows.items():
        cells = "".join(f"{row[n]:>10.1%} {base[n] / max(row[n], 1e-9):>5.1f}x " for n in names)
        print(f"{name:<54}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
