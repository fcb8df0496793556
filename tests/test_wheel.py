"""A built wheel works anywhere: installed into a fresh venv with the litert extra, run from a folder
that is not the checkout, it finds its shipped models and sample and puts one name in site-packages."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
import venv
import zipfile
from pathlib import Path

import pytest
from conftest import REPO, require_tool
from localbroker import free_port
from mqtt_helpers import Recorder

LOCK = REPO / "constraints" / "lock.txt"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Built from a copy of the files git would commit (a build writes egg-info and build/ into its source)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    git = require_tool("git")
    listing = [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"]
    tracked = subprocess.run(listing, cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if name and (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("moodcast-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv (no system packages) with the wheel and the litert extra, at the locked versions."""
    env = tmp_path_factory.mktemp("venv")
    venv.create(env, with_pip=True)
    subprocess.run(
        [env / "bin" / "python", "-m", "pip", "install", "-q", f"{wheel}[litert]", "-c", LOCK],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return env


@pytest.mark.slow
def test_the_wheel_holds_one_package_with_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert tops == {"moodcast", wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"}
    for shipped in (
        "moodcast/models/emotion.tflite",
        "moodcast/models/blazeface_full.tflite",
        "moodcast/models/emotion.json",
        "moodcast/models/licenses/mtcnn-MIT.txt",
        "moodcast/samples/astronaut.avi",
        "moodcast/schemas/state.schema.json",
        "moodcast/config/moodcast.example.toml",
        *(f"moodcast/edge/web/static/{name}" for name in ("index.html", "app.js", "style.css", "icon.svg")),
    ):
        assert shipped in names
    assert "moodcast/models/emotion.keras" not in names  # the float weights are the workstation's
    # Every module of the checkout is in it (setup.cfg lists the packages one by one).
    for folder, package in (("moodcast", "moodcast"), ("edge", "moodcast/edge"), ("evaluation", "moodcast/evaluation"),
                            ("training", "moodcast/training"), ("convert", "moodcast/convert")):  # fmt: skip
        for module in (REPO / folder).rglob("*.py"):
            assert f"{package}/{module.relative_to(REPO / folder).as_posix()}" in names, module


@pytest.mark.slow
def test_site_packages_gets_moodcast_and_nothing_else_of_ours(installed):
    (record,) = installed.glob("lib/python*/site-packages/moodcast-*.dist-info/RECORD")
    tops = {line.split(",")[0].split("/")[0] for line in record.read_text().splitlines()}
    ours = {t for t in tops if t not in ("..", record.parent.name)}
    assert ours == {"moodcast"}, ours
    assert (record.parent / "top_level.txt").read_text().split() == ["moodcast"]


@pytest.mark.slow
def test_the_installed_command_analyzes_and_runs_from_another_folder(installed, tmp_path, broker):
    moodcast = installed / "bin" / "moodcast"
    photo = tmp_path / "photo.jpg"
    photo.write_bytes((REPO / "samples" / "astronaut.jpg").read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    analyzed = subprocess.run([moodcast, "analyze", photo], cwd=elsewhere, capture_output=True, text=True, timeout=120)
    assert analyzed.returncode == 0, analyzed.stderr
    assert "1 face(s), scene happy" in analyzed.stdout

    recorder = Recorder(broker.port)
    try:
        ran = subprocess.run(
            [moodcast, "run", "--max-frames", "3", "--mqtt-port", str(broker.port), "--device-id", "wheel"],
            cwd=elsewhere,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        # The default source is the shipped sample clip, found inside the installed package.
        assert "site-packages/moodcast/samples/astronaut.avi" in ran.stderr
        state = recorder.wait_for(lambda m: m.topic == "moodcast/wheel/state", what="the state message").json()
        assert state["faces"] >= 1
    finally:
        recorder.close()


@pytest.mark.slow
def test_a_missing_extra_names_a_command_that_installs_it_into_the_wheel(installed, tmp_path):
    """moodcast is on no package index: the fix for a wheel names the extra's own requirements."""
    served = subprocess.run(
        [installed / "bin" / "moodcast", "serve", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert served.returncode == 1 and "needs the [api] extra" in served.stderr, served.stderr
    found = re.search(r"needs the \[api\] extra \(\w+ is missing\): (.+)", served.stderr)
    assert found and "moodcast API on" not in served.stdout, (served.stdout, served.stderr)
    command = found.group(1)
    assert command.startswith(f"{installed / 'bin' / 'python'} -m pip install") and "moodcast[" not in command
    subprocess.run([*shlex.split(command), "-q", "-c", str(LOCK)], check=True, capture_output=True, timeout=300)
    probe = subprocess.run([installed / "bin" / "python", "-c", "import flask, waitress"], capture_output=True)
    assert probe.returncode == 0, probe.stderr
    # With the extra, the page is served from the package's data, from any folder.
    port = free_port()
    web = subprocess.Popen(
        [installed / "bin" / "moodcast", "web", "--port", str(port), "--set", f"web.store={tmp_path / 'web.sqlite'}"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert "moodcast page on" in (web.stdout.readline() if web.stdout else "")
        for path, words in (("/", '<script src="/static/app.js"'), ("/static/app.js", "X-Moodcast")):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
                assert words in answer.read().decode()
    finally:
        web.terminate()
        assert web.wait(10) == 0
