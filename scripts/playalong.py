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


def programs(*names: str) -> list[str]:
    """The paths of ``names``; all the missing ones named at once, with the line that installs them."""
    found = {n: shutil.which(n) or (f"/usr/sbin/{n}" if Path(f"/usr/sbin/{n}").exists() else None) for n in names}
    missing = [n for n, path in found.items() if path is None]
    if missing:
        sys.exit(f"missing: {', '.join(missing)}; install them: sudo apt install {' '.join(missing)}")
    return [found[n] or "" for n in names]


def tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace").splitlines() if log.exists() else []
    return "\n".join(f"    {line}" for line in text[-lines:]) or "    (nothing)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=40, help="how long to play along")
    parser.add_argument("--track-s", type=float, default=6, help="length of each generated track")
    parser.add_argument("--skip", type=int, default=5, help="pop tracks to skip (the daemon learns)")
    parser.add_argument("--audio", action="store_true", help="MPD's default audio output instead of the null one")
    args = parser.parse_args()
    moodcast = str(Path(sys.executable).parent / "moodcast")
    sox, mpd_program = programs("sox", "mpd")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        make_tracks(sox, work / "music", {genre: (tag, args.track_s, 4) for genre, tag in GENRES.items()})
        broker = any_broker(work)
        broker.start()
        music = LocalMpd(mpd_program, work, work / "music", args.audio).start()
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
        logs = {"daemon": work / "daemon.log", "player": work / "player.log"}
        daemon = subprocess.Popen(
            [moodcast, "run", "--source", str(SAMPLES_DIR / "astronaut.avi"), "--loop", *common,
             "--set", f"learn.file={work / 'preferences.json'}"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=logs["daemon"].open("w"),
        )  # fmt: skip
        player = subprocess.Popen(
            [moodcast, "play", *common, "--mpd-port", str(mpd_port), "--set", "play.hold_s=2",
             "--set", "play.step_back_s=0"],
            cwd=REPO, stdout=subprocess.DEVNULL, stderr=logs["player"].open("w"),
        )  # fmt: skip
        children = {"daemon": daemon, "player": player}
        started, failure = time.monotonic(), ""
        try:
            if not seen.wait(30):
                failure = "the player never played the daemon's genre within 30 s"
                raise TimeoutError(failure)
            listener = mpd.MPDClient()
            listener.connect("127.0.0.1", mpd_port)
            for _ in range(args.skip):
                time.sleep(1.0)  # a second into the track, the listener skips it
                if listener.status()["state"] == "play":
                    print(f"== skipping {listener.currentsong().get('title')}")
                    listener.next()
            time.sleep(max(0.0, args.seconds - (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        except (OSError, mpd.MPDError) as exc:
            failure = failure or f"{type(exc).__name__}: {exc}"
        finally:
            ended = {name: proc.poll() for name, proc in children.items()}  # before we stop them
            for proc in (player, daemon):
                proc.terminate()
                proc.wait(15)
            music.stop()
            sub.loop_stop()
            broker.stop()
            crashed = [name for name, code in ended.items() if code is not None]
            if crashed and not failure:
                failure = " and ".join(f"the {n} exited early ({ended[n]})" for n in crashed)
            if failure:
                print(f"== failed: {failure}", file=sys.stderr)
                for name, log in logs.items():
                    print(f"== the {name}'s log (last lines):\n{tail(log)}", file=sys.stderr)
    return 1 if failure else 0


if __name__ == "__main__":
    sys.exit(main())
