"""`radar sta` and `radar report`: the month's strategic threat assessment, and the Board pack
(both assembled by radar.actions.board_pack, as the dashboard's overview and the quarterly flow do)."""

from __future__ import annotations

from datetime import date
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import (
    AsOfOption,
    JsonOption,
    PeriodOption,
    Table,
    app,
    console,
    print_json,
    print_table,
    refusals,
    store,
)
from radar.core import periods


@app.command()
def sta(period: PeriodOption, as_json: JsonOption = False, as_of: AsOfOption = None) -> None:
    """The strategic threat assessment for a month: every theme and open risk ranked, with why and what changed
    since the last Board."""
    from radar.actions.board_pack import assessment

    ctx, engine = store()
    today = date.today()
    day = as_of.date() if as_of else periods.as_of(period, today)
    result = assessment(engine, ctx, period, day)[1]
    if as_json:
        print_json(result)
        return
    table = Table("rank", "threat", "score", "harm", "likelihood", "trend", "confidence", "why",
                  title=f"Strategic threat assessment, {periods.label(period)} (last Board {result['last_board']})")
    for t in result["threats"]:
        table.add_row(str(t["rank"]), t["title"], f"{t['score']:g}", str(t["harm"]), f"{t['likelihood']:g}",
                      f"{t['direction']} ({t['trend']:+g})", t["confidence"], t["reason"])
    print_table(table)


class PackFormat(str, Enum):
    html = "html"
    pdf = "pdf"


@app.command()
def report(
    period: PeriodOption,
    out: Annotated[Path, typer.Option(help="Where to write the pack.")],
    fmt: Annotated[PackFormat, typer.Option("--format", help="html or pdf.")] = PackFormat.pdf,
    publication: Annotated[bool, typer.Option("--publication", help="The version for publication: counts from 1 "
                                                                     "to 5, and any they could be worked out "
                                                                     "from, shown as c.")] = False,
    as_of: AsOfOption = None,
) -> None:
    """The Board pack for a month: threat assessment, register heat map, key indicators with SPC charts, Impact
    Log, agencies' submission performance, methods and sources."""
    from radar.actions.board_pack import board_pack

    if not periods.is_period(period):
        console.print(f"[red]--period must be a month as YYYY-MM, such as 2020-03, not {period!r}[/]")
        raise typer.Exit(2)
    ctx, engine = store()
    with refusals():
        pack = board_pack(engine, ctx, period, fmt.value, as_of=as_of.date() if as_of else None,
                          publication=publication)
    out.write_bytes(pack)
    console.print(f"Wrote the {'published' if publication else 'internal'} Board pack for {periods.label(period)} "
                  f"to {out}")
