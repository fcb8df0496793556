"""Type-check the device package and the command with mypy, as installed: ``typecheck.py [mypy args]``.

setup.cfg's package_dir moves the repository's folders inside ``moodcast`` when it is installed;
mypy cannot follow that mapping (nor the editable install's import hook), so it checks a tree of
links laid out as the wheel is (moodcast/edge -> edge/, ...). Settings: pyproject.toml [tool.mypy].
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from checkout import REPO

SUBPACKAGES = ("edge", "evaluation", "training", "convert")  # the rest are only followed, not checked


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "moodcast"
        tree.mkdir()
        for module in (REPO / "moodcast").glob("*.py"):
            (tree / module.name).symlink_to(module)
        for name in SUBPACKAGES:
            (tree / name).symlink_to(REPO / name)
        command = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml")]
        command += ["-p", "moodcast.edge", "-m", "moodcast", "-m", "moodcast.cli", *argv]
        done = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
        # Name the repository's files, not the links.
        print((done.stdout + done.stderr).replace(f"{tmp}/moodcast/", "").replace("moodcast/edge/", "edge/"), end="")
        return done.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
