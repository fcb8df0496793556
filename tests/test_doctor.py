"""`moodcast doctor` against the real parts: a mosquitto with and without the right password, the
shipped models and broken copies, the sample clip as the camera, a picamera2 that fails to import."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import shutil
import subprocess
import sys

import pytest
from conftest import make_broker, require_tool
from helpers import last_json, run_cli

from moodcast.edge.config import load
from moodcast.edge.paths import MODELS_DIR
from moodcast.edge.sources import SourceError, SourceOptions, open_source
from moodcast.edge.tools.doctor import FAIL, OK, WARN, run_checks
from moodcast.edge.tools.machine import check_versions


def by_name(report: dict) -> dict[str, dict]:
    return {c["name"]: c for c in report["checks"]}


def test_a_healthy_setup_passes_with_the_fix_for_each_warning(broker):
    code, out, _ = run_cli("doctor", "--set", f"mqtt.port={broker.port}", "--json")
    report = last_json(out)
    checks = by_name(report)
    assert code == 0 and report["status"] in (OK, WARN)
    assert checks["runtime"]["status"] == OK and checks["runtime"]["detail"].startswith("ai-edge-litert")
    for name in ("blazeface_full.tflite", "mtcnn_rnet.tflite", "mtcnn_onet.tflite"):
        assert checks[f"detector {name}"]["detail"] == "loads; sha256 matches its card"
    assert checks["emotion model emotion.tflite"]["status"] == OK
    assert checks["source"]["status"] == OK and "640x480, 10 frames" in checks["source"]["detail"]
    assert checks["broker"]["status"] == OK and "a message went round" in checks["broker"]["detail"]
    assert all(c["fix"] for c in report["checks"] if c["status"] != OK)
    assert "FAIL" not in out


def test_a_wrong_password_and_no_broker_fail_with_the_fix(tmp_path):
    passwd = tmp_path / "passwd"
    tool = require_tool("mosquitto_passwd")
    subprocess.run([tool, "-b", "-c", str(passwd), "speaker", "right"], check=True, capture_output=True)
    passwd.chmod(0o600)
    broker = make_broker(tmp_path, f"password_file {passwd}\n")
    broker.conf.write_text(broker.conf.read_text().replace("allow_anonymous true", "allow_anonymous false"))
    broker.start()
    try:
        secret = tmp_path / "secret"
        secret.write_text("wrong\n")
        config = load(
            overrides={"mqtt": {"port": broker.port, "username": "speaker", "password_file": str(secret)}}, environ={}
        )
        checks = {c.name: c for c in run_checks(config, source=False)}
        assert checks["broker"].status == FAIL and "refused" in checks["broker"].detail
        assert "password" in checks["broker"].fix and "wrong" not in checks["broker"].detail
    finally:
        broker.stop()
    code, out, _ = run_cli("doctor", "--set", f"mqtt.port={broker.port}", "--no-source", "--json")
    report = last_json(out)
    assert code == 1 and report["status"] == FAIL
    assert by_name(report)["broker"]["fix"].startswith("is the broker running")


def test_missing_and_changed_models_are_named(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(MODELS_DIR, models)
    onet = models / "mtcnn_onet.tflite"
    data = bytearray(onet.read_bytes())
    data[-1] ^= 0xFF  # one byte of a weight: still a valid model, not the shipped one
    onet.write_bytes(bytes(data))
    config = load(
        overrides={"detector": {"model": str(models)}, "emotion": {"model": str(tmp_path / "nope.tflite")}},
        environ={},
    )
    checks = {c.name: c for c in run_checks(config, broker=False, source=False)}
    assert (
        checks["detector mtcnn_onet.tflite"].status == WARN
        and "not the card's" in checks["detector mtcnn_onet.tflite"].detail
    )
    assert checks["detector mtcnn_rnet.tflite"].status == OK
    assert (
        checks["emotion model"].status == FAIL and "nope.tflite: model file not found" in checks["emotion model"].detail
    )


def test_a_dark_camera_is_a_warning(tmp_path):
    import cv2
    import numpy as np

    clip = tmp_path / "dark.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for _ in range(12):
        writer.write(np.full((48, 64, 3), 10, np.uint8))
    writer.release()
    config = load(overrides={"source": {"uri": str(clip), "realtime": False}}, environ={})
    source = next(c for c in run_checks(config, broker=False) if c.name == "source")
    assert source.status == WARN and "too dark" in source.detail and source.fix


class BrokenPicamera2(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """picamera2 built against another numpy: importing it raises what that raises."""

    def find_spec(self, name, path=None, target=None):
        return importlib.machinery.ModuleSpec(name, self) if name == "picamera2" else None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ValueError("numpy.dtype size changed, may indicate binary incompatibility")


@pytest.fixture
def broken_picamera2(monkeypatch):
    monkeypatch.delitem(sys.modules, "picamera2", raising=False)
    monkeypatch.setattr(sys, "meta_path", [BrokenPicamera2(), *sys.meta_path])


def test_picamera2_against_another_numpy_is_named_by_doctor_and_by_the_source(broken_picamera2):
    check = next(c for c in check_versions() if c.name == "picamera2")
    assert check.status == FAIL and "dtype size changed" in check.detail and "numpy" in check.fix
    with pytest.raises(SourceError, match="does not import with this venv's numpy"):
        open_source(SourceOptions(uri="picamera2"))
