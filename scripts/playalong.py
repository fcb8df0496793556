"""Play along with the sample clip: a local broker, a local MPD on generated tagged tracks (the
null output unless --audio), the daemon on samples/astronaut.avi and `moodcast play`; prints
what the player does and, with --skip N, skips N tracks to show the daemon learning."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import mpd
import paho.mqtt.client as mqtt
from checkout import REPO
from localbroker import any_broker
from localmpd import LocalMpd, make_tracks

from moodcast.edge.paths import SAMPLES_DIR

GENRES = {"pop": "Pop", "funk": "Funk", "dance": "Dance", "soul": "Soul", "metal": "Metal"}


def need(program: str) -> str:
    path = shutil.which(program) or (f"/usr/sbin/{program}" if Path(f"/usr/sbin/{program}").exists() else None)
    if path is None:
        sys.exit(f"{program} is missing: sudo apt install {program} (Debian package '{program}')")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40, help="how long to play along")
    parser.add_argument("--track-s", type=float, default=6, help="length of each generated track")
    parser.add_argument("--skip", type=int, default=5, help="pop tracks to skip (the daemon learns)")
    parser.add_argument("--audio", action="store_true", help="MPD's default audio output instead of the null one")
    args = parser.parse_args()
    moodcast = str(Path(sys.executable).parent / "moodcast")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_tracks(need("sox"), work / "music", {genre: (tag, args.track_s, 4) for genre, tag in GENRES.items()})
        broker = any_broker(work)
        broker.start()
        music = LocalMpd(need("mpd"), work, work / "music", args.audio).start()
        mpd_port = music.port
        print(f"== broker 127.0.0.1:{broker.port}, MPD 127.0.0.1:{mpd_port} on {len(GENRES) * 4} generated tracks")
        seen = threading.Event()
        sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)

        def show(client, userdata, m):
            if m.topic.endswith("/player"):
                body = json.loads(m.payload)
                print(f"  player: {body['reason']:<40} genre={body['genre']} track={body['track']}")
                if body["genre"]:
                    seen.set()
            elif m.topic.endswith("/feedback"):
                print(f"  feedback: {m.payload.decode()}")
            elif m.topic.endswith("/preferences"):
                body = json.loads(m.payload)
                print(f"  preferences: happy -> {body['emotions']['happy']['genre']} ({body['updates']} updates)")

        sub.on_connect = lambda c, *_: c.subscribe("moodcast/demo/#", 1)
        sub.on_message = show
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        common = ["--mqtt-port", str(broker.port), "--device-id", "demo", *broker.flags]
        daemon = subprocess.Popen(
            [moodcast, "run", "--source", str(SAMPLES_DIR / "astronaut.avi"), "--loop", *common,
             "--set", f"learn.file={work / 'preferences.json'}"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        player = subprocess.Popen(
            [moodcast, "play", *common, "--mpd-port", str(mpd_port), "--set", "play.hold_s=2",
             "--set", "play.step_back_s=0"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started = time.monotonic()
        try:
            seen.wait(30)
            listener = mpd.MPDClient()
            listener.connect("127.0.0.1", mpd_port)
            for _ in range(args.skip):
                time.sleep(1.0)  # a second into the track, the listener skips it
                if listener.status()["state"] == "play":
                    print(f"== skipping {listener.currentsong().get('title')}")
                    listener.next()
            time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
        except (KeyboardInterrupt, OSError, mpd.MPDError):
            pass
        finally:
            for proc in (player, daemon):
                proc.terminate()
                proc.wait(15)
            music.stop()
            sub.loop_stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
