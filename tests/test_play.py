"""`moodcast play` against a real MPD and a real mosquitto on 127.0.0.1: the genre's tracks are
queued behind the current one and start at its end, a playlist chosen by hand is left alone, a
skip is fed back, MPD restarting mid-run is survived, and skipping what the daemon recommends
moves its recommendation."""

from __future__ import annotations

import json
import sys
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from helpers import validate
from mpd_helpers import Mpd, make_tracks, start_player, wait_until
from mqtt_helpers import Recorder, start_daemon, stop

from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.player.decide import Decision, Kind
from moodcast.edge.player.follow import Follower
from moodcast.edge.player.music import Music, normalise
from moodcast.edge.player.options import PlayOptions

TRACKS = {
    "metal": ("Metal", 2.0, 3),
    "pop": ("Pop", 2.0, 8),
    "funk": ("funk", 3.0, 3),
    "jazz": ("Jazz", 30.0, 1),  # the listener's own: long enough to outlast a slow start
    "hiphop": ("Hip-Hop", 1.0, 1),
    "chill": ("Chillhop", 1.0, 1),
    "radio": ("Radio", 60.0, 1),  # played over HTTP as a stream
}
FAST = ("--set", "play.hold_s=0.5", "--set", "play.heartbeat_s=0.5", "--set", "mqtt.reconnect_max_s=1")


@pytest.fixture
def music_server(tmp_path):
    make_tracks(tmp_path / "music", TRACKS)
    server = Mpd(tmp_path / "mpd", tmp_path / "music").start()
    yield server
    server.stop()


def state(genre: str | None, emotion: str | None) -> str:
    return json.dumps({"genre": genre, "emotion": emotion, "faces": 1})


def current_name(client) -> str:
    return client.currentsong().get("title", "")


def test_genre_tags_match_whatever_their_case_spaces_and_aliases(music_server):
    assert normalise("Hip-Hop") == normalise("hip hop") == normalise("HIP_HOP")
    music = Music(PlayOptions(port=music_server.port, aliases={"lo-fi": ["chillhop"]}))
    music.connect()
    assert sorted(music.resolve("hip hop")) == ["hiphop-0.flac"]
    assert sorted(music.resolve("lo-fi")) == ["chill-0.flac"]  # by its alias
    assert len(music.resolve("pop")) == 8 and music.resolve("polka") == []
    music.close()
    few = Music(PlayOptions(port=music_server.port, max_tracks=3))
    few.connect()
    assert len(few.resolve("pop")) == 3
    few.close()


def test_the_genre_starts_at_the_track_boundary_and_a_played_track_is_fed_back(broker, music_server, tmp_path):
    listener = music_server.client()
    listener.add("jazz-0.flac")  # the listener's own 30 s track is playing
    listener.play(0)
    rec = Recorder(broker.port)
    rec.publish("moodcast/p1/state", state("metal", "angry"), retain=True)
    player = start_player(broker.port, music_server.port, "p1", *FAST, log=tmp_path / "play.log")
    try:
        queued = wait_until(lambda: listener.playlistinfo()[1:], what="metal queued after the current track")
        player_said(rec, "p1", "holding metal")  # play.hold_s first
        assert {s["genre"] for s in queued} == {"Metal"}
        assert current_name(listener) == "jazz 0"  # no cut
        listener.seekcur(28.5)  # the listener jumps near its end: a seek is not a skip
        # The boundary, watched every 10 ms: the last look at the jazz track, the first at metal.
        last_jazz, deadline = time.monotonic(), time.monotonic() + 10
        while not (name := current_name(listener)).startswith("metal"):  # one look per turn: no race
            assert name in ("jazz 0", "") and time.monotonic() < deadline
            last_jazz = time.monotonic()
            time.sleep(0.01)
        gap = time.monotonic() - last_jazz
        print(f"switch delay at the track boundary: {gap * 1000:.0f} ms (MPD looked at every 10 ms)")
        assert gap < 0.2
        following = rec.wait_for(
            lambda m: m.topic == "moodcast/p1/player" and m.json()["genre"] == "metal", what="player state"
        ).json()
        validate(following, "player")
        assert following["playing"] and following["reason"] == "following" and following["track"].startswith("metal")
        played = rec.wait_for(lambda m: m.topic == "moodcast/p1/feedback", timeout=10, what="played feedback")
        validate(played.json(), "feedback")
        assert played.json() == {"emotion": "angry", "genre": "metal", "outcome": "played"}
        discovery = rec.wait_for(lambda m: m.topic == "homeassistant/device/p1_player/config").json()
        assert discovery["dev"]["ids"] == ["moodcast_p1"] and discovery["state_topic"] == "moodcast/p1/player"
    finally:
        assert stop(player) == 0
    rec.wait_for(lambda m: m.topic == "moodcast/p1/player/availability" and m.payload == b"offline")
    rec.close()


def player_said(rec: Recorder, device: str, words: str, since: float = 0.0):
    return rec.wait_for(
        lambda m: m.topic == f"moodcast/{device}/player" and m.at > since and words in m.json()["reason"],
        timeout=15,
        what=f"player: {words}",
    ).json()


def test_a_playlist_chosen_by_hand_is_left_alone_and_a_skip_is_fed_back(broker, music_server, tmp_path):
    rec = Recorder(broker.port)
    rec.publish("moodcast/p2/state", state("pop", "happy"), retain=True)
    player = start_player(
        broker.port, music_server.port, "p2", *FAST, "--set", "play.step_back_s=2", log=tmp_path / "play.log"
    )
    listener = music_server.client()
    try:
        # The listener skips a pop track early, well before its end (a skip within
        # play.skip_within_s): fed back as skipped, and moodcast steps back. Not in the first
        # 0.3 s: a skip between moodcast's own `play` and its look after it is not one it can see.
        wait_until(
            lambda: current_name(listener).startswith("pop") and 0.3 < float(listener.status().get("elapsed", 0)) < 1.0,
            what="a pop track under way",
        )
        skipped_at = time.monotonic()
        listener.next()
        skip = rec.wait_for(lambda m: m.topic == "moodcast/p2/feedback" and m.json()["outcome"] == "skipped").json()
        assert skip == {"emotion": "happy", "genre": "pop", "outcome": "skipped"}
        player_said(rec, "p2", "stepped back: skipped by the listener", skipped_at)
        # Their own playlist, by hand: left alone, even when the scene's genre changes meanwhile.
        listener.clear()
        for name in ("jazz-0.flac", "funk-0.flac", "funk-1.flac"):
            listener.playlistadd("mine", name)
        listener.load("mine")
        listener.play(0)
        mine = [s["file"] for s in listener.playlistinfo()]
        chosen_at = time.monotonic()
        player_said(rec, "p2", "stepped back: queue changed by the listener", chosen_at)
        rec.publish("moodcast/p2/state", state("metal", "angry"), retain=True)
        changed_at = time.monotonic()
        for _ in range(3):  # heartbeats 0.5 s apart, past play.hold_s: still hands off
            changed_at = player_said(rec, "p2", "stepped back", changed_at) and time.monotonic()
        assert [s["file"] for s in listener.playlistinfo()] == mine and current_name(listener) == "jazz 0"
        # A pause is the listener's too; moodcast never un-pauses.
        listener.pause(1)
        paused_at = time.monotonic()
        player_said(rec, "p2", "stepped back: paused by the listener", paused_at)
        rec.wait_for(  # after step_back_s, still paused: moodcast never un-pauses
            lambda m: (
                m.topic == "moodcast/p2/player" and m.at > paused_at and m.json()["reason"] == "paused by the listener"
            )
        )
        assert listener.status()["state"] == "pause"
        # After step_back_s and the pause lifted, moodcast takes over again at the track's end.
        listener.pause(0)
        wait_until(lambda: any(s["genre"] == "Metal" for s in listener.playlistinfo()), what="metal queued again")
        assert current_name(listener) == "jazz 0"  # still not cut
    finally:
        assert stop(player) == 0
    rec.close()


def test_mpd_restarted_mid_run_is_survived(broker, music_server, tmp_path):
    rec = Recorder(broker.port)
    rec.publish("moodcast/p3/state", state("funk", "happy"), retain=True)
    player = start_player(
        broker.port, music_server.port, "p3", *FAST, "--set", "play.reconnect_max_s=1", log=tmp_path / "play.log"
    )
    try:
        wait_until(lambda: current_name(music_server.client()).startswith("funk"), what="funk playing")
        music_server.stop()
        gone_at = time.monotonic()
        down = rec.wait_for(
            lambda m: m.topic == "moodcast/p3/player" and m.at > gone_at and not m.json()["mpd_ok"]
        ).json()
        validate(down, "player")
        assert down["reason"].startswith("MPD unreachable") and player.poll() is None
        music_server.start()
        back_at = time.monotonic()
        rec.wait_for(
            lambda m: (
                m.topic == "moodcast/p3/player"
                and m.at > back_at
                and m.json()["genre"] == "funk"
                and m.json()["playing"]
            ),
            what="funk playing again",
        )
        assert current_name(music_server.client()).startswith("funk")
    finally:
        assert stop(player) == 0
    assert "MPD at 127.0.0.1" in (tmp_path / "play.log").read_text()
    rec.close()


def test_consume_mode_is_mpds_not_the_listeners(broker, music_server, tmp_path):
    """With consume on, MPD removes each track as it finishes: a track's end is still "played" and
    moodcast keeps following; a skip is still the listener's skip, not a queue they edited."""
    listener = music_server.client()
    listener.consume(1)
    rec = Recorder(broker.port)
    rec.publish("moodcast/p8/state", state("pop", "happy"), retain=True)
    player = start_player(broker.port, music_server.port, "p8", *FAST, log=tmp_path / "play.log")
    try:
        wait_until(lambda: current_name(listener).startswith("pop"), what="pop playing")
        played = rec.wait_for(lambda m: m.topic == "moodcast/p8/feedback", timeout=10, what="a track's end").json()
        assert played == {"emotion": "happy", "genre": "pop", "outcome": "played"}
        ended_at = time.monotonic()
        player_said(rec, "p8", "following", ended_at)  # not "stepped back: queue changed by the listener"
        wait_until(lambda: 0.3 < float(listener.status().get("elapsed", 0)) < 1.0, what="a pop track under way")
        skipped_at = time.monotonic()
        listener.next()
        skip = rec.wait_for(lambda m: m.topic == "moodcast/p8/feedback" and m.at > skipped_at).json()
        assert skip == {"emotion": "happy", "genre": "pop", "outcome": "skipped"}
        player_said(rec, "p8", "stepped back: skipped by the listener", skipped_at)
        assert not [m for m in rec.on("/p8/player") if "queue changed" in m.json()["reason"]]
        # A song the listener removes is theirs, consume or not.
        deleted_at = time.monotonic()
        listener.delete(1)
        player_said(rec, "p8", "stepped back: queue changed by the listener", deleted_at)
    finally:
        assert stop(player) == 0
    rec.close()


@pytest.fixture
def web(music_server):
    """The music folder over HTTP: MPD plays its files as remote songs, whose tags may change."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(music_server.music)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_a_streams_new_title_is_not_the_listeners_edit(broker, music_server, web, tmp_path):
    """A stream's ICY title changes the current song's tags, and MPD counts that as a queue change.
    MPD's own tag change is neither a listener's queue nor a skip: moodcast keeps following."""
    url = f"{web}/radio-0.flac"
    rec = Recorder(broker.port)
    rec.publish("moodcast/p9/state", state("jazz", "sad"), retain=True)
    config = tmp_path / "moodcast.toml"
    config.write_text(f'[play.targets]\njazz = "{url}"\n')
    extra = ("--config", str(config))
    player = start_player(broker.port, music_server.port, "p9", *FAST, *extra, log=tmp_path / "play.log")
    listener = music_server.client()
    try:
        wait_until(lambda: listener.currentsong().get("file") == url, what="the stream playing")
        # The decoder sets the stream's own title once it has read it: retagging before that would
        # be overwritten by it (a busy machine is slow to start decoding).
        wait_until(lambda: listener.currentsong().get("title") == "radio 0", what="the stream's own title")
        player_said(rec, "p9", "following")
        songid = listener.status()["songid"]
        for title in ("First song", "Second song"):
            listener.cleartagid(songid, "title")  # as a new ICY title replaces the old one
            listener.addtagid(songid, "title", title)
            retitled = rec.wait_for(
                lambda m, t=title: m.topic == "moodcast/p9/player" and m.json()["track"] == t, what=title
            ).json()
            assert retitled["reason"] == "following" and retitled["genre"] == "jazz", retitled
        assert listener.status()["songid"] == songid and not rec.on("/p9/feedback")
    finally:
        assert stop(player) == 0
    rec.close()


def test_while_the_daemon_is_offline_the_music_is_left_alone(broker, music_server, tmp_path):
    """The daemon's availability says offline (its last will, or a clean stop): its retained state
    is stale, so moodcast switches nothing until the daemon is back online with a new state."""
    rec = Recorder(broker.port)
    rec.publish("moodcast/p10/availability", "online", retain=True)
    rec.publish("moodcast/p10/state", state("pop", "happy"), retain=True)
    player = start_player(broker.port, music_server.port, "p10", *FAST, log=tmp_path / "play.log")
    listener = music_server.client()
    try:
        wait_until(lambda: current_name(listener).startswith("pop"), what="pop playing")
        rec.publish("moodcast/p10/availability", "offline", retain=True)
        offline_at = time.monotonic()
        validate(player_said(rec, "p10", "daemon offline", offline_at), "player")
        rec.publish("moodcast/p10/state", state("metal", "angry"), retain=True)  # not the daemon's now
        since = time.monotonic()
        for _ in range(3):  # heartbeats 0.5 s apart, past play.hold_s: still hands off
            since = player_said(rec, "p10", "daemon offline", since) and time.monotonic()
        assert {s["genre"] for s in listener.playlistinfo()} == {"Pop"} and listener.status()["state"] == "play"
        rec.publish("moodcast/p10/availability", "online", retain=True)
        player_said(rec, "p10", "waiting for the daemon's state", time.monotonic())  # not the stale one
        assert {s["genre"] for s in listener.playlistinfo()} == {"Pop"}
        rec.publish("moodcast/p10/state", state("metal", "angry"), retain=True)
        wait_until(lambda: any(s["genre"] == "Metal" for s in listener.playlistinfo()), what="metal queued")
    finally:
        assert stop(player) == 0
    rec.close()


def test_skipping_the_daemons_genre_moves_it(broker, music_server, tmp_path):
    """The whole loop: the daemon on the sample clip (happy -> pop), the player plays pop, the
    listener skips five pop tracks, the daemon learns and recommends another genre, the player
    follows it; the daemon stopped, the player says so."""
    rec = Recorder(broker.port)
    daemon = start_daemon(
        broker.port,
        "p4",
        "--source",
        str(SAMPLES_DIR / "astronaut.avi"),
        "--loop",
        "--set",
        f"learn.file={tmp_path / 'preferences.json'}",
        log=tmp_path / "daemon.log",
    )
    player = start_player(
        broker.port, music_server.port, "p4", *FAST, "--set", "play.step_back_s=0", log=tmp_path / "play.log"
    )
    listener = music_server.client()
    try:
        wait_until(lambda: current_name(listener).startswith("pop"), timeout=30, what="pop playing")
        for n in range(5):
            # Well before its end (2 s tracks): a skip within play.END_MARGIN_S of it is a track's end.
            wait_until(lambda: 0.3 < float(listener.status().get("elapsed", 0)) < 1.0, what="a pop track under way")
            skipped_at = time.monotonic()
            listener.next()
            rec.wait_for(
                lambda m, t=skipped_at: m.topic == "moodcast/p4/feedback" and m.at > t and b"skipped" in m.payload,
                what=f"skip {n + 1} fed back",
            )
        learned = rec.wait_for(
            lambda m: m.topic == "moodcast/p4/preferences" and m.json()["emotions"]["happy"]["genre"] != "pop",
            what="happy moved away from pop",
        ).json()
        moved = learned["emotions"]["happy"]["genre"]
        rec.wait_for(lambda m: m.topic == "moodcast/p4/state" and m.json()["genre"] == moved, what="the new genre")
        if moved == "funk":
            wait_until(lambda: any(s["genre"] == "funk" for s in listener.playlistinfo()), what="funk queued")
        stopped_at = time.monotonic()
        assert stop(daemon) == 0
        player_said(rec, "p4", "daemon offline", stopped_at)  # the daemon's own availability topic
    finally:
        assert stop(player) == 0
        assert stop(daemon) == 0  # (again: its exit code)
    rec.close()


def test_play_without_the_extra_names_it(monkeypatch):
    from helpers import run_cli

    monkeypatch.setitem(sys.modules, "mpd", None)  # python-mpd2 not installed
    code, _, err = run_cli("play", "--mqtt-port", "1")
    assert (
        code == 1 and "moodcast play needs the [play] extra" in err and "-m pip install -e" in err and "[play]'" in err
    )


def test_a_genre_with_nothing_to_play_is_reported_once_and_switch_now_fades_at_once(broker, music_server, tmp_path):
    rec = Recorder(broker.port)
    rec.publish("moodcast/p5/state", state("classical", "sad"), retain=True)  # no classical tracks
    log = tmp_path / "play.log"
    player = start_player(
        broker.port, music_server.port, "p5", *FAST, "--set", "play.switch=now", "--set", "play.fade_s=0.5", log=log
    )
    listener = music_server.client()
    try:
        said = player_said(rec, "p5", "nothing to play for classical")
        validate(said, "player")
        since = time.monotonic()
        for _ in range(3):  # heartbeats: still skipped, and said once in the log
            since = player_said(rec, "p5", "nothing to play for classical", since) and time.monotonic()
        assert log.read_text().count("nothing to play for classical") == 1
        assert listener.status()["state"] == "stop"
        listener.add("jazz-0.flac")
        listener.play(0)
        rec.publish("moodcast/p5/state", state("funk", "happy"), retain=True)
        wait_until(lambda: current_name(listener).startswith("funk"), timeout=10, what="funk at once")
        assert float(listener.status()["elapsed"]) < 1.5 and listener.status()["volume"] == "100"  # restored
    finally:
        assert stop(player) == 0
    rec.close()


def test_the_broker_going_away_is_survived(broker, music_server, tmp_path):
    rec = Recorder(broker.port)
    rec.publish("moodcast/p6/state", state("pop", "happy"), retain=True)
    player = start_player(broker.port, music_server.port, "p6", *FAST, log=tmp_path / "play.log")
    listener = music_server.client()
    try:
        wait_until(lambda: current_name(listener).startswith("pop"), what="pop playing")
        broker.stop()  # no persistence: the retained messages are gone with it
        broker.start()
        back_at = time.monotonic()
        for topic, payload in (("moodcast/p6/player/availability", b"online"), ("moodcast/p6/player", None)):
            rec.wait_for(
                lambda m, t=topic, p=payload: m.topic == t and m.at > back_at and p in (None, m.payload),
                timeout=20,
                what=f"{topic} again",
            )
        rec.wait_for(lambda m: m.topic == "homeassistant/device/p6_player/config" and m.at > back_at, timeout=20)
        assert player.poll() is None and listener.status()["state"] == "play"
    finally:
        assert stop(player) == 0
    rec.close()


def test_home_assistant_online_republishes_the_discovery_once_then_once_more_after_the_interval(broker):
    """A flood of "online" on homeassistant/status: the player's discovery (retained) is published
    once at once and once more DISCOVERY_REPUBLISH_S later, by the player's own clock (injected
    here; MPD unreachable is no matter). Before: never republished, so a Home Assistant restarted
    without the broker keeping it lost the player's entities."""
    from moodcast.edge.config import load
    from moodcast.edge.player.service import Player
    from moodcast.edge.service.republish import DISCOVERY_REPUBLISH_S

    config = load(overrides={"mqtt": {"device_id": "ha", "port": broker.port}, "play": {"port": 1}}, environ={})
    clock = [0.0]
    player = Player(config, clock=lambda: clock[0])
    rec = Recorder(broker.port)
    topic = "homeassistant/device/ha_player/config"
    sent = lambda: len(rec.on(topic))  # noqa: E731

    def steps(at: float, until=lambda: False, for_s: float = 10.0) -> None:
        """The player's loop at its clock's ``at``, until ``until()`` or ``for_s`` of real time."""
        clock[0], deadline = at, time.monotonic() + for_s
        while not until() and time.monotonic() < deadline:
            player.step()
            time.sleep(0.02)

    player.client.connect("127.0.0.1", broker.port)
    player.client.loop_start()
    try:
        rec.wait_for(lambda m: m.topic == topic, what="the discovery at connect")
        deadline = time.monotonic() + 15
        while sent() < 2:  # one "online" after another until the player's subscription is in place
            assert time.monotonic() < deadline, "no republish for homeassistant/status online"
            rec.publish("homeassistant/status", "online")
            steps(0.0, lambda: sent() >= 2, for_s=0.5)
        for _ in range(300):
            rec.client.publish("homeassistant/status", "online", qos=0)
        rec.publish("moodcast/ha/state", state("pop", "happy"))  # after the flood, in order: it has arrived
        steps(0.0, lambda: player.follower.wanted is not None)
        assert player.follower.wanted is not None
        steps(DISCOVERY_REPUBLISH_S - 0.01, for_s=1.0)
        assert sent() == 2
        steps(DISCOVERY_REPUBLISH_S, lambda: sent() >= 3)
        steps(2 * DISCOVERY_REPUBLISH_S - 0.01, for_s=1.0)
        assert sent() == 3 and all(json.loads(m.payload)["state_topic"] == "moodcast/ha/player" for m in rec.on(topic))
        late = Recorder(broker.port)  # the broker keeps it: a Home Assistant that subscribes later gets it
        assert late.wait_for(lambda m: m.topic == topic).retain
        late.close()
    finally:
        player.client.disconnect()
        player.client.loop_stop()
        player.music.close()
        rec.close()


def test_malformed_states_never_stop_the_player_following(broker, music_server, tmp_path):
    """A state too deeply nested for json (RecursionError), or of another shape, is ignored: paho's
    thread must live on, so the next state is still followed."""
    rec = Recorder(broker.port)
    player = start_player(broker.port, music_server.port, "p7", *FAST, log=tmp_path / "play.log")
    try:
        player_said(rec, "p7", "waiting for the daemon's state")
        for bad in ("[" * 3000, '{"genre": 1e999, "emotion": []}', "[]", '"x"', "\xff"):
            rec.publish("moodcast/p7/state", bad)
        rec.publish("moodcast/p7/state", state("classical", "sad"))  # nothing to play: a stable reason
        player_said(rec, "p7", "nothing to play for classical")
        assert player.poll() is None
    finally:
        assert stop(player) == 0
    rec.close()


def test_a_stored_playlist_naming_a_missing_file_plays_the_rest(music_server):
    """A file MPD refuses (gone from the library since the playlist was saved) is passed over, not
    taken for MPD being gone; a playlist of nothing but such files is a genre with nothing to play."""
    (music_server.playlists / "mixed.m3u").write_text("gone.flac\npop-0.flac\npop-1.flac\n")
    (music_server.playlists / "stale.m3u").write_text("gone.flac\n")
    options = PlayOptions(
        port=music_server.port, hold_s=0, targets={"pop": "playlist:mixed", "metal": "playlist:stale"}
    )
    music = Music(options)
    music.connect()
    follower = Follower(options, music, lambda feedback: None)
    listener = music_server.client()
    try:
        follower.want("pop", "happy", 0.0)
        assert follower.tick(1.0).decision == Decision(Kind.FOLLOWING)
        assert sorted(s["file"] for s in listener.playlistinfo()) == ["pop-0.flac", "pop-1.flac"]
        assert listener.status()["state"] == "play"
        follower.want("metal", "angry", 2.0)
        nothing = Decision(Kind.NOTHING_TO_PLAY, "metal")
        assert follower.tick(3.0).decision == nothing
        assert follower.tick(3.5).decision == nothing  # not our edit taken for the listener's
    finally:
        music.close()


def test_an_mpd_with_a_password_is_played_with_it_and_refused_without_it_at_a_slowing_pace(
    broker, tmp_path, monkeypatch, caplog
):
    """Before: no way to give the password, and a connection MPD accepted reset the backoff, so
    the player reconnected about twice a second forever. The pace is counted by the player's
    clock (injected: 8 s of it in ticks of 0.1 s) and MPD's own log of the connections."""
    from moodcast.edge.config import load
    from moodcast.edge.player.service import Player

    make_tracks(tmp_path / "music", {"funk": ("funk", 3.0, 3)})
    server = Mpd(tmp_path / "mpd", tmp_path / "music", password="s3cret").start()
    rec = Recorder(broker.port)
    rec.publish("moodcast/pw/state", state("funk", "happy"), retain=True)
    try:
        with_it = start_player(
            broker.port, server.port, "pw", *FAST, log=tmp_path / "with.log", env={"MOODCAST_MPD_PASSWORD": "s3cret"}
        )
        try:
            wait_until(lambda: current_name(server.client()).startswith("funk"), what="funk playing")
        finally:
            assert stop(with_it) == 0
        assert "s3cret" not in (tmp_path / "with.log").read_text()

        monkeypatch.delenv("MOODCAST_MPD_PASSWORD", raising=False)
        (tmp_path / "guess").write_text("guess\n")
        connects = lambda: (tmp_path / "mpd" / "mpd.log").read_text().count("opened from")  # noqa: E731
        for name, play in (("none", {}), ("wrong", {"password_file": str(tmp_path / "guess")})):
            before, clock = connects(), [0.0]
            overrides = {"mqtt": {"device_id": "pw", "port": broker.port}, "play": {"port": server.port, **play}}
            player = Player(load(overrides=overrides, environ={}), clock=lambda c=clock: c[0])  # (no broker needed)
            try:
                states = []
                for tenth in range(81):
                    clock[0] = tenth / 10
                    states.append(player.step())
            finally:
                player.music.close()
            assert not any(s.mpd_ok for s in states) and "password" in states[0].reason, (name, states[0])
            # Backoff 0.5, 1, 2, 4 s: tries at 0, 0.5, 1.5, 3.5 and 7.5 s, where twice a second made 16.
            wait_until(lambda b=before: connects() - b >= 5, timeout=10, what="MPD logging the connections")
            assert connects() - before == 5, (name, connects() - before)
        assert "guess" not in caplog.text and "MPD at 127.0.0.1" in caplog.text
    finally:
        rec.close()
        server.stop()


class OddMpd:
    """An MPD-speaking TCP peer on 127.0.0.1 whose ``status`` reply is given: what an MPD fork or
    a future version may send."""

    def __init__(self, status: str):
        import socket

        self.status = status
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn, conn.makefile("rwb") as stream:
                stream.write(b"OK MPD 0.23.5\n")
                stream.flush()
                for line in stream:
                    command = line.decode().strip()
                    body = self.status if command == "status" else ""
                    stream.write(f"{body}OK\n".encode())
                    stream.flush()

    def close(self):
        self.server.close()


def test_a_fractional_volume_is_read_and_a_nonsense_number_is_an_mpd_error_not_a_crash():
    """Before: ``volume: 50.5`` raised an uncaught ValueError (exit 1, restarted every 5 s)."""
    from moodcast.edge.player.music import MusicError

    odd = OddMpd("volume: 50.5\nstate: play\nsong: 0\nsongid: 7\nelapsed: 1.5\nplaylist: 3\nplaylistlength: 1\n")
    music = Music(PlayOptions(port=odd.port))
    music.connect()
    status = music.status()
    assert status.volume == 50 and status.position == 0 and status.elapsed == 1.5 and status.length == 1
    music.close()
    odd.close()
    broken = OddMpd("volume: loud\nstate: play\n")
    music = Music(PlayOptions(port=broken.port))
    music.connect()
    with pytest.raises(MusicError, match="unreadable volume: 'loud'"):
        music.status()
    music.close()
    broken.close()


@pytest.mark.slow
def test_a_genre_larger_than_one_mpd_reply_still_plays(tmp_path):
    """A genre whose ``find`` reply overflows MPD's output buffer (8 MiB: about 14,000 tracks; here
    256 KiB and 2,500 tracks): before, MPD dropped the connection and the genre never played."""
    import shutil

    import mpd

    make_tracks(tmp_path / "one", {"rock": ("Rock", 0.2, 1)})
    (tmp_path / "music").mkdir()
    for i in range(2500):
        shutil.copy(tmp_path / "one" / "rock-0.flac", tmp_path / "music" / f"rock-{i}.flac")
    server = Mpd(tmp_path / "mpd", tmp_path / "music", extra='max_output_buffer_size "256"\n').start(timeout=60)
    try:
        with pytest.raises(mpd.ConnectionError):  # the reply in one piece is more than MPD will send
            server.client().find("genre", "Rock")
        music = Music(PlayOptions(port=server.port, max_tracks=50))
        music.connect()
        files = music.resolve("rock")
        assert len(files) == 50 and len(set(files)) == 50
        music.close()
    finally:
        server.stop()
