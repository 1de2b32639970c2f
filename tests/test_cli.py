"""The ``annotask`` command as an operator meets it: every command and option
explained with its default, plain text help, quiet when its reader goes away."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from annotask.cli import build_parser
from tests.support.server import server_env

ROOT = Path(__file__).resolve().parents[1]


def _annotask(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "annotask", *args], capture_output=True, text=True, timeout=60
    )


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser, str | None]]:
    """Every (sub)command: its words, its parser and the help it has in its parent's list."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                found.append(((*path, name), child, helps.get(name)))
                found.extend(_commands(child, (*path, name)))
    return found


def test_every_command_and_option_has_help_and_its_default_shown():
    commands = _commands(build_parser())
    assert len(commands) >= 10
    for words, parser, help in [((), build_parser(), "top"), *commands]:
        assert help, f"`annotask {' '.join(words)}` has no help in its parent's list"
        shown = _annotask(*words, "--help")
        assert shown.returncode == 0, shown.stderr
        text = " ".join(shown.stdout.split())  # undo argparse's line wrapping
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            name = "/".join(action.option_strings) or action.dest
            assert action.help, f"`annotask {' '.join(words)}`: {name} has no help"
            takes_value = action.option_strings and action.nargs != 0
            if takes_value:
                assert re.search(r"\(default: [^)]+\)", text.split(action.option_strings[0])[-1]), (
                    f"`annotask {' '.join(words)} --help` shows no default for {name}"
                )


def test_help_is_plain_text():
    for words, _parser, _help in [((), None, None), *_commands(build_parser())]:
        shown = _annotask(*words, "--help").stdout
        assert "``" not in shown and not re.search(r":[a-z]+:`", shown), shown


@pytest.mark.parametrize(
    ("args", "unbuffered"),
    [(("--help",), False), (("check",), True)],
    ids=["help-buffered", "check-unbuffered"],
)
def test_a_reader_that_goes_away_ends_the_command_without_a_traceback(tmp_path, args, unbuffered):
    """``annotask --help | head -1``: the pipe is closed before the output is written."""
    env = server_env(tmp_path / "missing")
    env.pop("PYTHONUNBUFFERED", None)
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "annotask", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=tmp_path,
    )
    process.stdout.close()  # long before the interpreter has started
    _out, err = process.communicate(timeout=120)
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()


def test_the_license_is_an_spdx_expression():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT"
