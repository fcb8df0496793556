"""The docs stay true to the code: every relative link and #anchor resolves, every `moodcast` command
and flag they show is one the real parsers accept, every config key and TOML block they show loads,
the example config's defaults are the code's, and the README stays short."""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from conftest import REPO

from moodcast.cli import build_parser
from moodcast.convert.cli import build_parser as convert_parser
from moodcast.edge import config as cfg
from moodcast.training.cli import build_parser as train_parser

DOCS = sorted((REPO / "docs").glob("*.md"))
USER_DOCS = [REPO / "README.md", *DOCS]  # paths in them are written from the repository root
LINKED_DOCS = [*USER_DOCS, REPO / "models" / "README.md", REPO / "THIRD_PARTY_NOTICES.md"]
COMMAND_DOCS = [*USER_DOCS, REPO / "models" / "README.md"]
EXAMPLE = REPO / "config" / "moodcast.example.toml"
README_MOST_LINES = 200

# Shown on purpose as what is refused (docs/configuration.md, docs/robustness.md).
UNKNOWN_ON_PURPOSE = {"scene.mood"}
# `section.key` look-alikes that are file names (models/emotion.json, edge/mood/scene.py, ...).
FILE_SUFFIXES = {"py", "json", "tflite", "keras", "toml", "md", "txt", "csv", "npz", "npy", "zip", "png", "service"}
FILE_SUFFIXES |= {"sqlite"}  # web.sqlite, the page's store (docs/web.md)
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console"}
# Top-level folders: a code span starting with one of them is a repository path.
TOP_FOLDERS = (
    "edge|moodcast|training|convert|evaluation|models|samples|schemas|config"
    "|scripts|tests|systemd|homeassistant|constraints|docs"
)


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(REPO)) for p in paths]


# ---- reading markdown ------------------------------------------------------------------------------


def split_markdown(text: str) -> tuple[str, list[tuple[str, str]]]:
    """The prose (fenced blocks blanked out, so line numbers hold) and the fenced blocks (language, body)."""
    prose, blocks, fence, lang, body = [], [], None, "", []
    for line in text.splitlines():
        opener = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if fence is None and opener:
            fence, lang, body = opener.group(1), opener.group(2).lower(), []
            prose.append("")
        elif fence is not None and line.strip().startswith(fence):
            blocks.append((lang, "\n".join(body)))
            fence = None
            prose.append("")
        elif fence is not None:
            body.append(line)
            prose.append("")
        else:
            prose.append(line)
    return "\n".join(prose), blocks


def code_spans(prose: str) -> list[str]:
    """Inline code, whitespace normalised (a span may wrap), table-escaped pipes restored."""
    return [" ".join(s.replace("\\|", "|").split()) for s in re.findall(r"(?<!`)`([^`]+)`(?!`)", prose)]


def github_slug(heading: str) -> str:
    """GitHub's anchor for a heading: inline markup dropped, lowercase, punctuation other than '-'
    and '_' removed, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose, _ = split_markdown(path.read_text())
    found, seen = set(), {}
    for line in prose.splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = github_slug(heading.group(1))
            found.add(slug if slug not in seen else f"{slug}-{seen[slug]}")
            seen[slug] = seen.get(slug, 0) + 1
    return found


def links(path: Path) -> list[str]:
    prose, _ = split_markdown(path.read_text())
    prose = re.sub(r"(?<!`)`[^`]+`(?!`)", "", prose)  # brackets inside code are not links
    return re.findall(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)


# ---- (a) links -------------------------------------------------------------------------------------


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in links(path):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        resolved = (path.parent / file_part).resolve() if file_part else path
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (resolved.suffix != ".md" or anchor not in anchors(resolved)):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(REPO)}")
    return broken


@pytest.mark.parametrize("path", LINKED_DOCS, ids=ids(LINKED_DOCS))
def test_every_relative_link_and_anchor_resolves(path):
    assert broken_links(path) == []


def test_the_slug_rules_are_githubs():
    assert github_slug("Install on a Raspberry Pi (Raspberry Pi OS Bookworm or Trixie, 64-bit)") == (
        "install-on-a-raspberry-pi-raspberry-pi-os-bookworm-or-trixie-64-bit"
    )
    assert github_slug("The aarch64 check (`scripts/pi-check.sh`)") == "the-aarch64-check-scriptspi-checksh"
    assert github_slug("`mtcnn_{pnet,rnet,onet}.tflite`: MTCNN") == "mtcnn_pnetrnetonettflite-mtcnn"


# ---- (b) commands and flags ------------------------------------------------------------------------


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


# train and convert parse their own arguments (moodcast.cli dispatches argv to their main).
WORKSTATION = {"train": train_parser, "convert": convert_parser}


def parser_for(sub: str) -> argparse.ArgumentParser:
    return WORKSTATION[sub]() if sub in WORKSTATION else subparsers(build_parser())[sub]


def shell_lines(body: str) -> list[str]:
    return [line for line in body.replace("\\\n", " ").splitlines() if line.strip()]


def moodcast_commands(tokens: list[str]) -> list[list[str]]:
    """The argument lists given to `moodcast` (or a path ending in /moodcast) in one command line:
    the word after it must look like a subcommand, so `-u moodcast` or `enable moodcast` are not."""
    found = []
    for i, token in enumerate(tokens[:-1]):
        if (token == "moodcast" or token.endswith("/moodcast")) and re.fullmatch(r"[a-z]+", tokens[i + 1]):
            end = next((j for j in range(i + 1, len(tokens)) if tokens[j] in ("&&", "||", ";", "|", "&")), len(tokens))
            found.append(tokens[i + 1 : end])
    return found


def block_commands(body: str) -> list[list[str]]:
    """Commands of a shell block, with quoted `sh -c '...'` strings looked into."""
    commands, pending = [], shell_lines(body)
    while pending:
        lexer = shlex.shlex(pending.pop(0), posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        tokens = list(lexer)
        commands += moodcast_commands(tokens)
        pending[:0] = [t for t in tokens if " " in t]
    return commands


def parse_error(parser: argparse.ArgumentParser, args: list[str]) -> str | None:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parser.parse_args(args)
    except SystemExit:
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else "exit"
    return None


def check_full_command(args: list[str]) -> list[str]:
    """A command from a code block: the real parser accepts it as written, its flags are spelled in
    full (argparse would take a prefix), and each --set loads."""
    problems = check_flags(args)
    if problems:
        return problems
    sub = args[0]
    parser, rest = (WORKSTATION[sub](), args[1:]) if sub in WORKSTATION else (build_parser(), args)
    error = parse_error(parser, rest)
    if error:
        problems.append(f"moodcast {' '.join(args)}: {error}")
    for i, token in enumerate(args[:-1]):
        if token == "--set":
            try:
                cfg.load(overrides=cfg.parse_assignment(args[i + 1]), environ={})
            except cfg.ConfigError as exc:
                problems.append(f"moodcast {' '.join(args)}: --set {args[i + 1]}: {exc}")
    return problems


def check_flags(args: list[str]) -> list[str]:
    """A command shown inline (it may hold placeholders such as NAME or [--json]): the subcommand,
    its choice word and every --flag are the parser's."""
    sub = args[0]
    known = set(subparsers(build_parser()))
    if sub not in known:
        return [f"moodcast {sub}: no such subcommand (known: {', '.join(sorted(known))})"]
    parser = parser_for(sub)
    choices = [a.choices for a in parser._actions if not a.option_strings and a.choices]
    if choices and len(args) > 1 and isinstance(choices[0], dict) and args[1] in choices[0]:
        parser = choices[0][args[1]]  # a command of subcommands (moodcast convert emotion): its own flags
    options = {o for a in parser._actions for o in a.option_strings}
    problems = []
    for token in args[1:]:
        flag = re.match(r"^\[?(--[a-z][a-z0-9-]*)", token)
        if flag and flag.group(1) not in options:
            problems.append(f"moodcast {' '.join(args)}: {flag.group(1)} is not an option of `moodcast {sub}`")
    if choices and len(args) > 1 and re.fullmatch(r"[a-z]+", args[1]) and args[1] not in choices[0]:
        problems.append(f"moodcast {' '.join(args)}: {args[1]} is not one of {sorted(choices[0])}")
    return problems


def command_problems(path: Path) -> list[str]:
    prose, blocks = split_markdown(path.read_text())
    problems = []
    for lang, body in blocks:
        if lang in SHELL_BLOCKS:
            for args in block_commands(body):
                problems += check_full_command(args)
    for span in code_spans(prose):
        for args in moodcast_commands(span.split()):
            problems += check_flags(args)
    return problems


@pytest.mark.parametrize("path", COMMAND_DOCS, ids=ids(COMMAND_DOCS))
def test_every_moodcast_command_shown_is_one_the_parser_accepts(path):
    assert command_problems(path) == []


def test_the_command_finder_finds_commands_and_only_commands():
    body = """sudo -u moodcast .venv/bin/moodcast doctor --config /etc/moodcast/moodcast.toml
sudo systemctl enable --now moodcast
sudo sh -c 'set -a; . /etc/x.env; exec runuser -u moodcast -- .venv/bin/moodcast run --loop'
moodcast convert detector --arch mtcnn \\
    --out models   # a comment --not-a-flag
"""
    assert block_commands(body) == [
        ["doctor", "--config", "/etc/moodcast/moodcast.toml"],
        ["run", "--loop"],
        ["convert", "detector", "--arch", "mtcnn", "--out", "models"],
    ]
    assert check_full_command(["bench", "--frames", "500"]) == []
    assert check_full_command(["bench", "--frame", "500"]) != []
    assert check_full_command(["run", "--set", "scene.mood=x"]) != []
    assert check_flags(["eval", "detector", "--data", "DIR", "[--no-adjust]"]) == []
    assert check_flags(["eval", "detectors", "--data", "DIR"]) != []
    assert check_flags(["serve", "[--hosts", "H]"]) != []


# ---- (c) config keys -------------------------------------------------------------------------------


def field_names(section: str) -> set[str]:
    return {f for f in cfg._field_types(cfg.SECTIONS[section])}


def key_problems(text: str) -> list[str]:
    """`section.key`, `[section]`, `[section.table]`, `[section] key` and MOODCAST_SECTION_KEY
    mentions whose section is a config section: the key must be one of its fields."""
    problems = []

    def check(section: str, key: str, how: str) -> None:
        if f"{section}.{key}" in UNKNOWN_ON_PURPOSE:
            return
        if key not in field_names(section):
            problems.append(f"{how}: [{section}] has no key {key!r}")

    for section, key in re.findall(r"(?<![\w/.$-])([a-z]+)\.([a-z_]+)\b(?!\.\w)", text):
        if section in cfg.SECTIONS and key not in FILE_SUFFIXES:
            check(section, key, f"{section}.{key}")
    for section, table, key in re.findall(r"\[([a-z]+)(?:\.([a-z_]+))?\](?:[ \t]+([a-z_]+))?", text):
        if section in cfg.SECTIONS:
            for name in (table, key if not table else ""):
                if name:
                    check(section, name, f"[{section}{'.' + table if table else ''}] {key}".strip())
    for name, section, key in re.findall(r"\b(MOODCAST_([A-Z]+)_([A-Z0-9_]+))\b", text):
        if section.lower() in cfg.SECTIONS and name not in cfg.NOT_SETTINGS:
            check(section.lower(), key.lower(), name)
    return problems


def config_problems(path: Path, tmp_path: Path) -> list[str]:
    prose, blocks = split_markdown(path.read_text())
    problems = []
    for span in code_spans(prose):
        problems += key_problems(span)
    for n, (lang, body) in enumerate(blocks):
        if lang in SHELL_BLOCKS:
            problems += key_problems(body)
        elif lang == "toml":
            conf = tmp_path / f"block{n}.toml"
            conf.write_text(body)
            try:
                cfg.load(conf, environ={})
            except cfg.ConfigError as exc:
                problems.append(f"TOML block {n}: {exc}")
    return problems


@pytest.mark.parametrize("path", USER_DOCS, ids=ids(USER_DOCS))
def test_every_config_key_and_toml_block_shown_exists(path, tmp_path):
    assert config_problems(path, tmp_path) == []


def test_the_key_finder_tells_keys_from_files():
    assert key_problems("learn.prior, recommend.match, models/emotion.json, edge/mood/scene.py, emotion.keras") == []
    assert (
        key_problems("[play.targets] [mqtt] host [source] uri = '0' MOODCAST_PLAY_HOLD_S MOODCAST_MQTT_PASSWORD") == []
    )
    assert key_problems("learn.priors") != []
    assert key_problems("[mqtt] hots") != []
    assert key_problems("[play.target]") != []
    assert key_problems("MOODCAST_MQTT_HOSTNAME=x") != []


# ---- repository paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", USER_DOCS, ids=ids(USER_DOCS))
def test_every_repository_path_shown_exists(path):
    prose, _ = split_markdown(path.read_text())
    # A file (a suffix) or a folder (a trailing /): `homeassistant/status` is an MQTT topic.
    shown = [s for s in code_spans(prose) if re.fullmatch(rf"(?:{TOP_FOLDERS})/[\w./-]*(?:\.\w+|/)", s)]
    assert [s for s in shown if not (REPO / s).exists()] == []


# ---- (d) the example config ------------------------------------------------------------------------


def example_values(text: str) -> list[tuple[str, str, object, bool]]:
    """(table, key, value, marked "not the default") for every key the example sets."""
    data = tomllib.loads(text)
    marked, table = set(), ""
    for line in text.splitlines():
        header = re.match(r"^\[([\w.]+)\]", line)
        if header:
            table = header.group(1)
        key = re.match(r"^([\w-]+)\s*=", line)
        if key and "not the default" in line:
            marked.add((table, key.group(1)))
    rows = []
    for section, values in data.items():
        for key, value in values.items():
            if isinstance(value, dict):  # a table: [recommend.match], [play.aliases], ...
                rows += [(f"{section}.{key}", k, v, (f"{section}.{key}", k) in marked) for k, v in value.items()]
            else:
                rows.append((section, key, value, (section, key) in marked))
    return rows


def as_tuples(value: object) -> object:
    return tuple(as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def example_problems(text: str) -> list[str]:
    defaults = cfg.Config()
    problems = []
    for table, key, value, marked in example_values(text):
        section, _, inner = table.partition(".")
        owner = getattr(defaults, section)
        default = getattr(owner, inner).get(key) if inner else getattr(owner, key)
        if marked and as_tuples(value) == as_tuples(default):
            problems.append(f"[{table}] {key} = {value!r} is marked 'not the default' but is the default")
        if not marked and as_tuples(value) != as_tuples(default):
            problems.append(f"[{table}] {key} = {value!r}: the default is {default!r} (or mark it 'not the default')")
    return problems


def test_the_example_config_loads_and_shows_the_defaults_but_where_it_says_not(tmp_path):
    cfg.load(EXAMPLE, environ={})
    text = EXAMPLE.read_text()
    assert "not the default" in text and 'uri = "picamera2"' in text
    assert example_problems(text) == []


def test_the_example_check_catches_a_wrong_default():
    text = EXAMPLE.read_text()
    assert example_problems(text.replace("fps_cap = 10.0", "fps_cap = 12.0", 1)) != []
    assert example_problems(text.replace("# not the default:", "#", 1)) != []
    assert example_problems(text.replace('happy = "pop"', 'happy = "funk"', 1)) != []


# ---- (e) the README --------------------------------------------------------------------------------


def test_the_readme_is_short_and_names_the_two_commands():
    text = (REPO / "README.md").read_text()
    assert len(text.splitlines()) <= README_MOST_LINES
    _, blocks = split_markdown(text)
    quick_start = next(body for lang, body in blocks if "./scripts/quickstart.sh" in body)
    commands = [shlex.split(line, comments=True)[0] for line in shell_lines(quick_start)]
    assert commands == ["./scripts/quickstart.sh", "./scripts/test.sh"]
    for script in commands:
        assert (REPO / script).is_file()
