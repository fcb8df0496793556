"""Small helpers shared by tests (schemas, running the CLI in-process)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parent.parent


def schema(name: str) -> dict:
    return json.loads((REPO / "schemas" / f"{name}.schema.json").read_text())


def validate(instance: object, name: str) -> None:
    jsonschema.validate(instance, schema(name))


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``moodcast`` in this process: (exit code, stdout, stderr). Only argparse exits (usage, --help)."""
    from moodcast.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])
