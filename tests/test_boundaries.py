"""The layers keep their rules: ``edge`` is a leaf, the measuring package sits above it only, and
the tests run only the programs that scripts/test.sh installs."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import pytest
from conftest import REPO, listed_tools

WORKSTATION = ("tensorflow", "keras", "training", "convert")

DEVICE_RUN = """
import sys
from moodcast.cli import main
import moodcast.edge.daemon, moodcast.edge.pipeline, moodcast.edge.api, moodcast.edge.mqtt
from moodcast.edge.config import load
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import read_image
from moodcast.edge.api import create_app

config = load(environ={})
result = Pipeline.from_config(config).process(read_image(SAMPLES_DIR / "astronaut.jpg"))
assert result.scene.emotion == "happy", result.scene
client = create_app(config).test_client()
assert client.get("/healthz").status_code == 200
assert main(["analyze", str(SAMPLES_DIR / "astronaut.jpg")]) == 0
assert main(["run", "--source", str(SAMPLES_DIR / "astronaut.jpg"), "--mqtt-port", "1", "--max-frames", "1"]) == 0
loaded = sorted({n.removeprefix("moodcast.").split(".")[0] for n in sys.modules} & set(sys.argv[1:]))
print("loaded:", loaded)
sys.exit(1 if loaded else 0)
"""


def test_the_device_entry_points_load_nothing_of_the_workstation():
    """CLI, daemon, pipeline and API import, process a frame (analyze, one daemon frame, the API),
    and never load TensorFlow, Keras, training or convert."""
    run = subprocess.run(
        [sys.executable, "-c", DEVICE_RUN, *WORKSTATION], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-3000:]
    assert "loaded: []" in run.stdout


def layer(module: str) -> str:
    """The layer a module name belongs to: moodcast's subpackage (``moodcast.edge.x`` -> ``edge``;
    the command, ``moodcast.cli``, -> ``moodcast``), else its top-level package."""
    parts = module.split(".")
    if parts[0] != "moodcast":
        return parts[0]
    return parts[1] if len(parts) > 1 and parts[1] in ("edge", "evaluation", "training", "convert") else "moodcast"


def imported_modules(package: str) -> dict[str, set[str]]:
    """The layers of everything each module of ``package`` imports (at any depth of the code)."""
    found = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {layer(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(layer(node.module))
        found[str(path.relative_to(REPO))] = names
    return found


@pytest.mark.parametrize(
    "package, forbidden",
    [
        ("edge", {"training", "convert", "evaluation", "moodcast", "tensorflow", "keras"}),
        ("evaluation", {"training", "convert", "moodcast", "tensorflow", "keras"}),
        ("training", {"convert", "moodcast"}),
        ("convert", {"moodcast"}),
    ],
)
def test_imports_point_down_the_layers(package, forbidden):
    wrong = {module: sorted(names & forbidden) for module, names in imported_modules(package).items()}
    assert not {m: n for m, n in wrong.items() if n}


def test_the_tests_run_only_the_programs_that_test_sh_installs():
    listed = set(listed_tools())
    used = set()
    for path in (REPO / "tests").glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'require_tool\("([^"]+)"\)', text))
        # A program started by name rather than through require_tool would escape the list.
        bare = re.findall(r'subprocess\.\w+\(\s*\[\s*"([^"]+)"', text)
        assert not bare, f"{path.name} runs {bare} without require_tool"
    assert used == listed, f"used {sorted(used)}, listed in tests/tools.txt {sorted(listed)}"
    assert "tests/tools.txt" in (REPO / "scripts" / "test.sh").read_text()
