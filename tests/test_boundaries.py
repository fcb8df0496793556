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
import moodcast.edge.service.daemon, moodcast.edge.pipeline, moodcast.edge.service.api, moodcast.edge.service.mqtt
from moodcast.edge.config import load
from moodcast.edge.paths import SAMPLES_DIR
from moodcast.edge.pipeline import Pipeline
from moodcast.edge.sources.images import read_image
from moodcast.edge.service.api import create_app

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


# The device package's groups (edge/<group>/); its other modules are the shared base (errors,
# labels, parsing, paths, install) or named for themselves (config, pipeline, cli).
EDGE_GROUPS = ("vision", "mood", "sources", "service", "tools", "player", "web")
EDGE_BASE = ("errors", "labels", "parsing", "paths", "install")


def layer(module: str) -> str:
    """The layer a module name belongs to: ``edge.<group>`` inside the device package (``edge.base``
    for its shared base), moodcast's other subpackages by name (the command, ``moodcast.cli``, is
    ``moodcast``), else its top-level package (``paho``, ``tensorflow``)."""
    parts = module.split(".")
    if parts[0] != "moodcast":
        return parts[0]
    if len(parts) < 2 or parts[1] not in ("edge", "evaluation", "training", "convert"):
        return "moodcast"
    if parts[1] != "edge" or len(parts) < 3:
        return parts[1]
    return f"edge.{'base' if parts[2] in EDGE_BASE else parts[2]}"


def imported_modules(package: str) -> dict[str, set[str]]:
    """The layers of everything each module of ``package`` imports, at any depth of the code:
    import statements and ``importlib.import_module("...")`` calls with a literal name."""
    found = {}
    for path in sorted((REPO / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {layer(alias.name) for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(layer(node.module))
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                names.add(layer(node.args[0].value))
        found[str(path.relative_to(REPO))] = names
    return found


WORKSTATION_SIDE = {"training", "convert", "evaluation", "moodcast", "tensorflow", "keras"}
SERVICE_SIDE = {"edge.service", "edge.tools", "edge.player", "edge.config", "edge.pipeline", "edge.cli"}
SERVICE_LIBRARIES = {"paho", "flask", "werkzeug", "waitress", "mpd"}
# The one exception, said in docs/development.md: when neither LiteRT nor tflite-runtime is
# installed, the runtime falls back to TensorFlow's own tf.lite, imported lazily.
ALLOWED = {"edge/vision/runtime.py": {"tensorflow"}}
BASE_FORBIDDEN = WORKSTATION_SIDE | SERVICE_SIDE | {f"edge.{group}" for group in EDGE_GROUPS}


@pytest.mark.parametrize(
    "package, forbidden",
    [
        # Per-frame compute: no processes, no I/O libraries, nothing above it.
        ("edge/sources", WORKSTATION_SIDE | SERVICE_SIDE | SERVICE_LIBRARIES | {"edge.vision", "edge.mood"}),
        ("edge/vision", WORKSTATION_SIDE | SERVICE_SIDE | SERVICE_LIBRARIES | {"edge.mood"}),
        ("edge/mood", WORKSTATION_SIDE | SERVICE_SIDE | SERVICE_LIBRARIES),
        # The shared base imports nothing of the device package but itself.
        *[
            (f"edge/{name}.py", WORKSTATION_SIDE | SERVICE_SIDE | {f"edge.{g}" for g in EDGE_GROUPS})
            for name in EDGE_BASE
        ],
        # The processes and tools: the device's, never the workstation's; the player loads no model.
        ("edge/service", WORKSTATION_SIDE | {"edge.tools", "edge.player", "edge.cli"}),
        ("edge/player", WORKSTATION_SIDE | {"edge.vision", "edge.tools", "edge.cli"}),
        ("edge/tools", WORKSTATION_SIDE | {"edge.cli"}),
        # The page's process follows the daemon over MQTT: it loads no model and draws nothing.
        ("edge/web", WORKSTATION_SIDE | {"edge.vision", "edge.tools", "edge.player", "edge.cli", "edge.pipeline"}),
        ("edge", WORKSTATION_SIDE),
        ("evaluation", {"training", "convert", "moodcast", "tensorflow", "keras"}),
        ("training", {"convert", "moodcast"}),
        ("convert", {"moodcast"}),
    ],
)
def test_imports_point_down_the_layers(package, forbidden):
    modules = imported_modules(package) if (REPO / package).is_dir() else {package: _imports_of_file(package)}
    wrong = {m: sorted(names & forbidden - ALLOWED.get(m, set())) for m, names in modules.items()}
    assert not {m: n for m, n in wrong.items() if n}


def _imports_of_file(relative: str) -> set[str]:
    return imported_modules(relative.rsplit("/", 1)[0])[relative]


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
