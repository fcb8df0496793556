"""``moodcast``: one command, one subcommand per job.

Device: run, analyze, serve, bench, eval detector|pipeline (``edge``, ``evaluation``).
Workstation: train, convert (``[train]`` extra) and eval emotion, loaded only when called, so the
daemon never loads ``training``, ``convert`` or TensorFlow. Errors arrive here as exceptions and
leave as exit codes: 2 for configuration and usage, 1 for the rest, 130 for Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from moodcast.edge import cli as device
from moodcast.edge.errors import ConfigError, MissingExtraError, MoodcastError
from moodcast.evaluation import cli as evaluation

DESCRIPTION = "facial expression -> music genre, on the device, published over MQTT"
EXIT_ERROR, EXIT_CONFIG, EXIT_INTERRUPTED = 1, 2, 130

# Workstation subcommands: module with main(argv), the extra it needs, the help line. Each parses its
# own arguments (``moodcast train --help``).
WORKSTATION = {
    "train": ("moodcast.training.cli", "train", "train the emotion model (needs the [train] extra)"),
    "convert": ("moodcast.convert.cli", "train", "produce quantized TFLite models (needs the [train] extra)"),
}
# Top-level packages of the extras, to name the extra when one is missing.
EXTRA_OF = {
    "tensorflow": "train",
    "keras": "train",
    "matplotlib": "train",
    "jax": "train",
    "flask": "api",
    "mpd": "play",
}


def lazy(module: str, attribute: str, what: str) -> Callable:
    """``module.attribute``, imported when called; a missing optional package, on import or while
    it runs, is reported as the extra to install."""

    def call(*args):
        try:
            return getattr(importlib.import_module(module), attribute)(*args)
        except ModuleNotFoundError as exc:
            top = (exc.name or "").split(".")[0]
            if top not in EXTRA_OF:
                raise
            raise MissingExtraError(what, EXTRA_OF[top], top) from None

    return call


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="moodcast", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    device.add_commands(sub)
    evaluation.add_command(sub, lazy("moodcast.training.cli", "eval_emotion", "moodcast eval emotion"))
    for name, (_, _, help_line) in WORKSTATION.items():
        sub.add_parser(name, help=help_line, add_help=False)
    return parser


def dispatch(argv: list[str]) -> int:
    if argv and argv[0] in WORKSTATION:
        module, _, _ = WORKSTATION[argv[0]]
        return lazy(module, "main", f"moodcast {argv[0]}")(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


def main(argv: list[str] | None = None) -> int:
    try:
        return dispatch(sys.argv[1:] if argv is None else list(argv))
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except MoodcastError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
