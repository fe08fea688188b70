"""What every command group shares: the `radar` Typer app, the console, the common options and printing.

A command is meant to answer at once, so nothing here imports more than Typer: rich's console and tables are
made when a command first prints one (a command asked for JSON never imports them), and the help is Click's
plain help, not Typer's rich one (rich's markdown and syntax highlighting took longer to import than Python,
polars and SQLAlchemy together).  tests/test_cli_package.py checks what `radar --help` and a `--json` read
import.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table as RichTable
    from sqlalchemy import Engine

    from radar.core.config import Context

app = typer.Typer(help="Radar: a live strategic threat assessment for a Safeguarding Children Partnership.",
                  no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@cache
def stderr_console() -> Console:
    from rich.console import Console

    return Console(stderr=True)


class _Messages:
    """`console`: messages on standard error, through rich's console made on first use."""

    def __getattr__(self, name: str):
        return getattr(stderr_console(), name)


console = _Messages()

PeriodOption = Annotated[str, typer.Option(help="Month as YYYY-MM.", metavar="YYYY-MM")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ByOption = Annotated[str, typer.Option(help="Who is making the change (kept in the risk's history).")]
AsOfOption = Annotated[datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="The day the assessment is made (default: today, or for a month long "
                                          "past the end of the month after it).")]


def print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def Table(*columns: str, **options) -> RichTable:  # rich's class, imported when first used
    from rich.table import Table

    return Table(*columns, **options)


def print_table(table) -> None:
    """A table on standard output (messages go to standard error)."""
    from rich.console import Console

    Console().print(table)


def store() -> tuple[Context, Engine]:
    """The partnership context and the store's engine (opened, and upgraded, once per process)."""
    from radar.core.config import get_context
    from radar.models.engine import get_engine

    ctx = get_context()
    return ctx, get_engine(ctx.settings.database_url)


def fail(message: str, code: int = 2) -> typer.Exit:
    console.print(f"[red]{message}[/]")
    return typer.Exit(code)


@contextlib.contextmanager
def refusals(*kinds: type[Exception]) -> Iterator[None]:
    """A refusal of the actions floor, a register file's problem or a refusal of `kinds`, printed in plain
    words, one problem a line; exits 2."""
    from radar.core.register import FileProblem
    from radar.models.register import RegisterRefusal

    try:
        yield
    except (RegisterRefusal, FileProblem, *kinds) as error:
        problems = getattr(error, "problems", None)
        if problems:
            console.print("[red]Nothing was saved:[/]", soft_wrap=True)
            for problem in problems:
                console.print(f"[red]  {problem}[/]", soft_wrap=True)
        else:
            console.print(f"[red]{error}[/]", soft_wrap=True)
        raise typer.Exit(2)


def progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=stderr_console(), transient=True)
