"""Every `radar …` command the README, the docs and the config comments show exists, with its options.

A data lead copies commands from these pages; a command or option that was renamed or never built (the
config once mentioned a `radar --config` option that did not exist) is a dead end for them.
"""

from __future__ import annotations

import re
import shlex

import pytest
import typer
from feedfiles import PROJECT_ROOT

from radar.cli import app

PAGES = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md")),
         *sorted((PROJECT_ROOT / "radar" / "core" / "partnerships").glob("*.toml")), PROJECT_ROOT / "data" / "README.md"]
# `radar` at the start of a code span or a shell line, up to the end of the span, a comment or the line.
COMMAND = re.compile(r"(?:^|`|\$ |^\s+)(radar(?: [^`#\n]*)?)(?=`|#|$)", re.MULTILINE)


def shown_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in COMMAND.finditer(page.read_text(encoding="utf-8")):
            text = match.group(1).strip()
            if text != "radar" and not text.startswith(("radar/", "radar.")):
                found.append((page.name, text))
    return found


def problems_with(text: str) -> list[str]:
    """What is wrong with one shown command line: an unknown command, subcommand or option."""
    try:
        words = shlex.split(text.replace("...", "").replace("…", ""))[1:]
    except ValueError:
        words = text.split()[1:]
    command = typer.main.get_command(app)
    options = {o: p for p in command.params for o in getattr(p, "opts", [])}
    words = iter(words)
    for word in words:
        if word.startswith("-"):
            name, _, value = word.partition("=")
            option = options.get(name)
            if option is None and name != "--help":
                return [f"{text!r}: {name} is not an option of `radar {command.name}`".replace("radar  ", "radar ")]
            if option is not None and not option.is_flag and not value:
                next(words, None)  # the option's value, not a command
            continue
        if hasattr(command, "commands"):  # a group of commands
            sub = command.commands.get(word)
            if sub is None:
                if not any(p.param_type_name == "argument" for p in command.params):
                    return [f"{text!r}: `{word}` is not a command of `radar {command.name}`".replace("radar  ", "radar ")]
                continue
            command = sub
            options |= {o: p for p in command.params for o in getattr(p, "opts", [])}
    return []


def test_the_pages_show_commands():
    assert len(shown_commands()) >= 15  # the scan finds the README's command list, not nothing


@pytest.mark.parametrize(("page", "text"), shown_commands(), ids=lambda v: v if isinstance(v, str) else None)
def test_every_shown_command_exists(page, text):
    assert problems_with(text) == [], page


@pytest.mark.parametrize("text", ["radar --config x.toml cycle", "radar alerts acknowledge KEY", "radar cycle --month 2020-03"])
def test_a_command_that_does_not_exist_is_caught(text):
    assert problems_with(text)
