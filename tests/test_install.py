"""The fixes moodcast prints work for how it was installed: an editable checkout or a wheel (no
package index has moodcast), and on Bookworm they never move numpy off 1.x (apt's picamera2)."""

from __future__ import annotations

import shlex
import sys

import pytest
from conftest import REPO
from packaging.requirements import Requirement

from moodcast.edge import install
from moodcast.edge.config import load
from moodcast.edge.errors import MissingExtraError
from moodcast.edge.tools import doctor
from moodcast.edge.vision import runtime


def test_an_editable_checkout_is_told_to_install_the_extra_from_itself(monkeypatch):
    monkeypatch.setattr(install, "numpy_major", lambda: 2)
    words = shlex.split(install.add_extra_command("api"))
    assert words == [sys.executable, "-m", "pip", "install", "-e", f"{REPO}[api]"]
    assert str(MissingExtraError("moodcast serve", "api", "flask")).endswith(install.add_extra_command("api"))


def test_with_numpy_1_the_checkout_command_keeps_it_with_the_bookworm_constraints(monkeypatch):
    monkeypatch.setattr(install, "numpy_major", lambda: 1)
    words = shlex.split(install.add_extra_command("litert"))
    assert words[-2:] == ["-c", str(REPO / "constraints" / "bookworm.txt")]
    assert (REPO / "constraints" / "bookworm.txt").is_file()


def test_a_wheel_install_is_told_the_extras_requirements_and_the_numpy_1_pins(monkeypatch):
    monkeypatch.setattr(install, "checkout", lambda: None)
    monkeypatch.setattr(install, "numpy_major", lambda: 2)
    asked = [str(Requirement(word)) for word in shlex.split(install.add_extra_command("api"))[4:]]
    assert asked == [str(Requirement(spec)) for spec in ("flask>=3.0", "waitress>=3.0,<4")]
    monkeypatch.setattr(install, "numpy_major", lambda: 1)
    assert shlex.split(install.add_extra_command("litert"))[4:] == ["ai-edge-litert>=1.2", *install.NUMPY1_PINS]
    assert "numpy<2" in shlex.split(install.numpy1_repair_command())


def test_the_numpy_1_pins_are_the_bookworm_constraints():
    lines = (REPO / "constraints" / "bookworm.txt").read_text().splitlines()
    assert tuple(line for line in lines if line and not line.startswith("#")) == install.NUMPY1_PINS


@pytest.fixture
def no_runtime(monkeypatch):
    for module in ("ai_edge_litert", "ai_edge_litert.interpreter", "tflite_runtime", "tflite_runtime.interpreter"):
        monkeypatch.setitem(sys.modules, module, None)  # None: "not installed" to the import system
    monkeypatch.setattr(runtime, "RUNTIMES", ("ai_edge_litert", "tflite_runtime"))


def test_a_missing_runtime_is_one_failure_with_a_fix_that_installs_it(no_runtime):
    checks = doctor.run_checks(load(environ={}), broker=False, source=False)
    failed = [c for c in checks if c.status == doctor.FAIL]
    assert [c.name for c in failed] == ["runtime"]
    assert failed[0].fix == install.add_extra_command("litert")
    models = [c for c in checks if c.name.startswith(("detector", "emotion model"))]
    assert models and all(c.status == doctor.OK and "not loaded (no runtime)" in c.detail for c in models)
