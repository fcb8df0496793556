"""The page in a real headless Chromium (Debian's, driven by Playwright), with a real mosquitto, a
real daemon on the sample clip and ``moodcast web`` as its own process: the state shown is the one
published, the timeline gains points, a dislike arrives on the feedback topic, the preview starts,
shows boxes and stops by itself, a page bound to the network refuses without its token, and the
browser logs no error. A screenshot of each state goes to $MOODCAST_SCREENSHOTS (default
build/screenshots/)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import require_tool
from localbroker import free_port
from mqtt_helpers import REPO, Recorder, start_daemon, stop, wait_for_line
from playwright.sync_api import expect, sync_playwright

from moodcast.edge.tools.annotate import COLOURS

TOKEN = "page-test-token-0123456789"
PREVIEW_S = 6


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("MOODCAST_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def start_web(port: int, broker_port: int, log: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "moodcast", "web", "--mqtt-port", str(broker_port), "--device-id", "pagetest"]
    cmd += ["--port", str(port), *extra]
    full = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(cmd, cwd=REPO, env=full, stdout=open(log, "w"), stderr=subprocess.STDOUT)


@pytest.fixture
def device(broker, tmp_path):
    """The daemon on the looping sample clip and the page's process, both on the test broker."""
    common = ["--set", f"web.runtime_dir={tmp_path / 'run'}", "--set", f"web.preview_s={PREVIEW_S}"]
    recorder = Recorder(broker.port, topics=("moodcast/pagetest/#",))
    daemon = start_daemon(
        broker.port,
        "pagetest",
        "--source",
        str(REPO / "samples" / "astronaut.avi"),
        "--loop",
        "--set",
        "mqtt.stats_interval_s=1",
        *common,
        log=tmp_path / "daemon.log",
    )
    port = free_port()
    web = start_web(port, broker.port, tmp_path / "web.log", "--set", "web.sample_s=1", *common)
    try:
        wait_for_line(tmp_path / "web.log", f"moodcast page on http://127.0.0.1:{port}/")
        recorder.wait_for(lambda m: m.topic.endswith("/state"), timeout=60, what="the daemon's first state")
        yield {"url": f"http://127.0.0.1:{port}/", "recorder": recorder, "run": tmp_path / "run" / "pagetest"}
    finally:
        assert stop(web) == 0, (tmp_path / "web.log").read_text()[-2000:]
        stop(daemon)
        recorder.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=require_tool("chromium"))
        yield chromium
        chromium.close()


def poll(predicate, what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def last_state(recorder: Recorder) -> dict:
    return json.loads(recorder.on("/state")[-1].payload)


def test_the_page_follows_the_daemon_and_its_controls_reach_it(device, browser, shots):
    page = browser.new_page(viewport={"width": 1000, "height": 1300})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(device["url"])

    # The scene now: what the daemon published last.
    expect(page.locator("#daemon")).to_have_text("daemon online", timeout=15000)
    state = last_state(device["recorder"])
    assert state["emotion"] == "happy" and state["genre"]  # the sample clip's one face
    expect(page.locator("#genre")).to_have_text(state["genre"])
    assert page.inner_text("#emotion").lower() == state["emotion"]
    assert page.inner_text("#faces") == "1 face"
    assert page.inner_text("#strategy") == state["strategy"]
    expect(page.locator("#fps")).to_have_text(re.compile(r"frames/s$"))
    page.screenshot(path=str(shots / "1-now.png"), full_page=True)

    # The timeline gains points (one a second here) and names the genre change with its reason.
    first = int(page.get_attribute("#timeline", "data-points") or 0)
    time.sleep(3)
    page.click("#span-hour")
    poll(lambda: int(page.get_attribute("#timeline", "data-points") or 0) > first, "more timeline points")
    assert "a happy face came into view" in page.inner_text("#changes")
    assert page.locator("#timeline polyline.v").count() == 1 and page.locator("#timeline line.change").count() >= 1
    page.click("#span-day")
    expect(page.locator("#span-day")).to_have_class(re.compile(r"\bon\b"))
    page.screenshot(path=str(shots / "2-timeline-day.png"), full_page=True)
    page.click("#span-hour")

    # What it has learned, in words.
    expect(page.locator("#learned")).to_contain_text("happy plays")

    # A dislike click arrives on the feedback topic, about what the page showed.
    page.click("#dislike")
    got = device["recorder"].wait_for(lambda m: m.topic.endswith("/feedback"), what="the dislike")
    assert json.loads(got.payload) == {"outcome": "disliked", "emotion": "happy", "genre": state["genre"]}
    expect(page.locator("#sent")).to_have_text(re.compile(r"^disliked"))
    page.screenshot(path=str(shots / "3-disliked.png"), full_page=True)

    # The preview: asked for, shows the annotated picture, then stops by itself.
    page.click("#preview-button")
    page.wait_for_selector("#preview-banner:not([hidden])")
    page.wait_for_selector("#preview:not([hidden])", timeout=10000)
    assert "camera is shown" in page.inner_text("#preview-banner")
    picture = page.request.get(device["url"] + "api/preview.jpg")
    assert picture.status == 200 and picture.headers["content-type"] == "image/jpeg"
    rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(picture.body(), np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    box = np.all(np.abs(rgb.astype(int) - COLOURS["happy"]) < 40, axis=2)
    assert box.sum() > 200, "no happy-coloured box drawn on the preview"
    page.locator("#preview-card").scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "4-preview.png"), full_page=True)
    assert (device["run"] / "preview.jpg").exists()
    page.wait_for_selector("#preview-banner[hidden]", state="attached", timeout=(PREVIEW_S + 8) * 1000)
    assert page.locator("#preview").is_hidden()
    deadline = time.monotonic() + 5
    while (device["run"] / "preview.jpg").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (device["run"] / "preview.jpg").exists(), "the daemon left the picture behind"
    page.screenshot(path=str(shots / "5-preview-ended.png"), full_page=True)

    # doctor's summary, run at the start with the page's settings (its --mqtt-port included).
    expect(page.locator("#doctor")).to_have_text(re.compile(r"^(all fine|warnings) \(\d+ checks"), timeout=60000)
    page.locator("#device-card").scroll_into_view_if_needed()

    # A phone's width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(shots / "6-phone.png"), full_page=True)
    assert errors == []
    page.close()


def test_a_page_bound_to_the_network_refuses_without_its_token(broker, browser, shots, tmp_path):
    refused = subprocess.run(
        [sys.executable, "-m", "moodcast", "web", "--host", "0.0.0.0", "--mqtt-port", str(broker.port)],
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k != "MOODCAST_WEB_TOKEN"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "needs a token" in refused.stderr, refused.stderr
    port = free_port()
    web = start_web(port, broker.port, tmp_path / "web.log", "--host", "0.0.0.0", env={"MOODCAST_WEB_TOKEN": TOKEN})
    try:
        wait_for_line(tmp_path / "web.log", "moodcast page on")
        page = browser.new_page()
        answer = page.goto(f"http://127.0.0.1:{port}/")
        assert answer is not None and answer.status == 401
        assert "token" in page.inner_text("body") and page.locator("#emotion").count() == 0
        page.screenshot(path=str(shots / "7-no-token.png"))
        assert page.request.get(f"http://127.0.0.1:{port}/api/now").status == 401
        answer = page.goto(f"http://127.0.0.1:{port}/?token={TOKEN}")
        assert answer is not None and answer.status == 200 and answer.url == f"http://127.0.0.1:{port}/"
        expect(page.locator("#daemon")).to_have_text("daemon offline", timeout=10000)
        page.screenshot(path=str(shots / "8-with-token-no-daemon.png"))
        page.close()
    finally:
        assert stop(web) == 0
