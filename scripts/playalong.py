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
from localbroker import any_broker, free_port, wait_port

from edge.paths import REPO, SAMPLES_DIR

GENRES = {"pop": "Pop", "funk": "Funk", "dance": "Dance", "soul": "Soul", "metal": "Metal"}


def need(program: str) -> str:
    path = shutil.which(program) or (f"/usr/sbin/{program}" if Path(f"/usr/sbin/{program}").exists() else None)
    if path is None:
        sys.exit(f"{program} is missing: sudo apt install {program} (Debian package '{program}')")
    return path


def make_tracks(folder: Path, seconds: float) -> None:
    sox = need("sox")
    folder.mkdir(parents=True)
    for g, (genre, tag) in enumerate(GENRES.items()):
        for i in range(4):
            tags = [
                "--comment",
                f"GENRE={tag}",
                "--add-comment",
                f"TITLE={genre} {i + 1}",
                "--add-comment",
                "ARTIST=sox",
            ]
            freq = str(220 * (g + 2) / 2 + 30 * i)
            out = str(folder / f"{genre}-{i + 1}.flac")
            subprocess.run(
                [sox, "-q", "-n", "-r", "22050", *tags, out, "synth", str(seconds), "sine", freq], check=True
            )


def start_mpd(workdir: Path, music: Path, audio: bool) -> tuple[subprocess.Popen, int]:
    port = free_port()
    output = "" if audio else 'audio_output {\n  type "null"\n  name "null"\n  mixer_type "software"\n}\n'
    (workdir / "playlists").mkdir()
    conf = workdir / "mpd.conf"
    conf.write_text(
        f'music_directory "{music}"\nplaylist_directory "{workdir / "playlists"}"\n'
        f'db_file "{workdir / "database"}"\nbind_to_address "127.0.0.1"\nport "{port}"\n'
        f'zeroconf_enabled "no"\n{output}'
    )
    log = open(workdir / "mpd.log", "w")
    proc = subprocess.Popen([need("mpd"), "--no-daemon", "--stderr", str(conf)], stdout=log, stderr=log)
    wait_port(port)
    client = mpd.MPDClient()
    client.connect("127.0.0.1", port)
    job = client.update()
    while client.status().get("updating_db") == job:
        time.sleep(0.05)
    client.disconnect()
    return proc, port


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
        make_tracks(work / "music", args.track_s)
        broker = any_broker(work)
        broker.start()
        mpd_proc, mpd_port = start_mpd(work, work / "music", args.audio)
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
            mpd_proc.terminate()
            mpd_proc.wait(10)
            sub.loop_stop()
            broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
