"""Frame sources: a video written here read through OpenCV, image folders, the Picamera2 adapter
against a stand-in module, and reopening a failed source with backoff."""

import sys
import types

import cv2
import numpy as np
import pytest

from moodcast.edge.sources import ResilientSource, SourceError, SourceOptions, backoff, open_source
from moodcast.edge.sources.images import ImageSource
from moodcast.edge.sources.opencv import OpenCVSource
from moodcast.edge.sources.picamera import Picamera2Source


@pytest.fixture
def video(tmp_path):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20, (64, 48))
    for i in range(10):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :, 2] = 25 * i  # red in BGR: the frame number
        writer.write(frame)
    writer.release()
    return path


def test_video_file_yields_rgb_frames_with_media_time(video):
    # A frame is decoded when its rgb is read, before the next one is taken; the odd ones never are.
    frames = [(f.ts, f.rgb if f.index % 2 == 0 else None) for f in OpenCVSource(str(video), realtime=False).frames()]
    assert len(frames) == 10
    assert frames[0][1].shape == (48, 64, 3) and frames[1][1] is None
    assert abs(int(frames[4][1][..., 0].mean()) - 100) <= 3  # red channel first: RGB
    np.testing.assert_allclose([ts for ts, _ in frames], np.arange(10) / 20, atol=1e-3)


def test_video_loop_repeats_with_increasing_time(video):
    source = OpenCVSource(str(video), realtime=False, loop=True)
    frames = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 25:
            break
    source.close()
    ts = [f.ts for f in frames]
    assert ts == sorted(ts) and ts[-1] > 1.0


def test_realtime_playback_takes_the_clip_duration(video):
    import time

    started = time.monotonic()
    assert len(list(OpenCVSource(str(video), realtime=True).frames())) == 10
    assert time.monotonic() - started >= 0.4  # 10 frames at 20 fps


def test_images_folder_and_errors(tmp_path, data):
    source = open_source(SourceOptions(uri=str(data / "photos")))
    assert isinstance(source, ImageSource)
    assert len(list(source.frames())) == 8
    with pytest.raises(SourceError, match="no such file or folder"):
        ImageSource(tmp_path / "nothing")
    with pytest.raises(SourceError, match="no such video file"):
        open_source(SourceOptions(uri=str(tmp_path / "missing.mp4")))
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    with pytest.raises(SourceError, match="bad.jpg: not a readable image"):
        list(ImageSource(tmp_path / "bad.jpg").frames())


def test_a_corrupt_file_in_a_folder_is_skipped_and_the_rest_is_read(tmp_path, data, caplog):
    photos = sorted((data / "photos").glob("*.jpg"))[:2]
    for name, photo in zip(("a.jpg", "c.jpg"), photos):
        (tmp_path / name).write_bytes(photo.read_bytes())
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff broken")
    source = ImageSource(tmp_path, loop=True)
    frames = source.frames()
    shapes = [next(frames).rgb.shape for _ in range(6)]  # three passes over a, c
    assert shapes[:2] == shapes[2:4] == shapes[4:6] and source.skipped == 3
    assert "skipped: " in caplog.text and "b.jpg: not a readable image" in caplog.text
    (tmp_path / "a.jpg").write_bytes(b"")
    (tmp_path / "c.jpg").write_bytes(b"")
    with pytest.raises(SourceError, match="no readable image"):
        list(ImageSource(tmp_path).frames())


def test_backoff_is_bounded_however_long_the_camera_stays_away():
    assert [backoff(n, 30.0) for n in (1, 2, 3, 7, 1025, 10**6)] == [0.5, 1.0, 2.0, 30.0, 30.0, 30.0]
    with pytest.raises(ValueError, match="max_backoff_s"):
        ResilientSource(lambda: None, lambda failure: None, max_backoff_s=0)


def test_picamera2_missing_tells_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # import fails
    with pytest.raises(SourceError, match="apt install python3-picamera2.*--system-site-packages"):
        open_source(SourceOptions(uri="picamera2"))


class FakePicamera2:
    """Stand-in for picamera2.Picamera2: the calls the adapter makes, with RGBA frames."""

    instances: list = []

    def __init__(self, camera):
        self.camera, self.started, self.closed, self.config = camera, False, False, None
        self.captures = 0
        FakePicamera2.instances.append(self)

    def create_video_configuration(self, main):
        return {"main": main}

    def configure(self, config):
        self.config = config

    def start(self):
        self.started = True

    def capture_array(self, stream):
        self.captures += 1
        if self.captures > 3:
            raise RuntimeError("camera unplugged")
        w, h = self.config["main"]["size"]
        frame = np.zeros((h, w, 4), np.uint8)
        frame[..., 0] = 200  # R in XBGR8888 memory order
        return frame

    def stop(self):
        self.started = False

    def close(self):
        self.closed = True


def test_picamera2_adapter_against_a_stand_in(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    source = open_source(SourceOptions(uri="picamera2:1", width=320, height=240))
    assert isinstance(source, Picamera2Source)
    frames = []
    with pytest.raises(SourceError, match="camera 1: capture failed"):
        for frame in source.frames():
            frames.append(frame)
    cam = FakePicamera2.instances[-1]
    assert cam.camera == 1 and cam.config["main"] == {"size": (320, 240), "format": "XBGR8888"}
    assert len(frames) == 3 and frames[0].rgb.shape == (240, 320, 3) and frames[0].rgb[0, 0, 0] == 200
    source.close()
    assert cam.closed


@pytest.fixture
def wall_clock_stepping_back(monkeypatch):
    """``time.time`` going back an hour at each call, as NTP steps a Pi without an RTC at boot."""
    import time

    calls = iter(range(10**6))
    monkeypatch.setattr(time, "time", lambda: 2e9 - 3600 * next(calls))


def test_frame_times_never_go_back_when_the_wall_clock_does(tmp_path, monkeypatch, wall_clock_stepping_back):
    # Every interval downstream (detection schedule, smoothing, uplift's steps) is a difference of
    # frame times: a step back would stall them for as long as the clock went back.
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((32, 32, 3), 50 * i, np.uint8))
    images = ImageSource(tmp_path, loop=True).frames()
    ts = [next(images).ts for _ in range(6)]
    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    with pytest.raises(SourceError, match="capture failed"):  # the stand-in fails after 3 frames
        for frame in open_source(SourceOptions(uri="picamera2:0")).frames():
            ts.append(frame.ts)
    assert len(ts) == 9 and ts == sorted(ts)


def test_resilient_source_reopens_with_backoff_and_reports(video):
    attempts, failures, waits = [], [], []

    class Flaky:
        name = "flaky"

        def __init__(self, n):
            self.n = n

        def frames(self):
            if self.n < 2:
                raise SourceError(f"cannot open (try {self.n})")
            yield from OpenCVSource(str(video), realtime=False).frames()

        def close(self):
            pass

    def factory():
        attempts.append(1)
        return Flaky(len(attempts) - 1)

    source = ResilientSource(factory, failures.append, max_backoff_s=10, sleep=waits.append)
    assert len(list(source.frames())) == 10
    assert [f.attempt for f in failures] == [1, 2]
    assert waits == [0.5, 1.0]
    assert "try 0" in failures[0].error


def test_a_truncated_video_file_ends_the_run_instead_of_being_retried_like_a_camera(video, broker):
    """Before: retried with backoff forever (0.5 s -> 16 s), while a missing file exits 1."""
    import time

    from helpers import run_cli

    truncated = video.with_name("truncated.avi")
    truncated.write_bytes(video.read_bytes()[:200])
    failures = []
    source = ResilientSource(
        lambda: OpenCVSource(str(truncated), realtime=False),
        failures.append,
        sleep=lambda s: None,
        should_stop=lambda: len(failures) >= 3,  # were it retried: three tries, then the test fails
    )
    with pytest.raises(SourceError, match="cannot open this video file"):
        next(iter(source.frames()))
    assert failures == []
    started = time.monotonic()
    code, _, err = run_cli("run", "--source", str(truncated), "--mqtt-port", str(broker.port), "--device-id", "trunc")
    assert code == 1 and "truncated.avi: cannot open this video file" in err
    assert time.monotonic() - started < 20
