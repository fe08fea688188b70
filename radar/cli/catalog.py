"""`radar catalog`, `radar docs` and `radar synth`: the catalogue, the agencies' feed specification and sample
feed files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import PeriodOption, Table, app, console, print_json, print_table, progress


@app.command()
def catalog(as_json: Annotated[bool, typer.Option("--json", help="Print the catalogue as JSON.")] = False) -> None:
    """Show the feeds and indicators agencies send and Radar computes."""
    from radar.core.config import get_context

    ctx = get_context()
    due = {f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds}
    public = ctx.catalogue.to_public(ctx.la_code, ctx.config.partnership.name, due)
    if as_json:
        print_json(public)
        return
    table = Table("indicator", "name", "feed", "unit", "polarity", "subgroup", title=public["partnership"]["name"])
    for i in public["indicators"]:
        table.add_row(i["id"], i["name"], i["feed"], i["unit"], i["polarity"], i["subgroup"])
    print_table(table)


@app.command()
def synth(
    out: Annotated[Path, typer.Option(help="Folder to write the feed files into.")],
    start: PeriodOption = "2017-04",
    end: PeriodOption = "2020-03",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same files.")] = 2020,
    with_bad_files: Annotated[bool, typer.Option(
        help="Also write a few bad files for the rejected-files view.")] = False,
) -> None:
    """Write realistic sample feed files for every feed and month."""
    from radar.core.config import get_context
    from radar.synth import generate

    ctx = get_context()
    with progress() as bars:
        bar = bars.add_task("Writing sample feeds", total=None)
        files = generate(out, ctx.catalogue, start=start, end=end, seed=seed, with_bad_files=with_bad_files,
                         progress=lambda done, total: bars.update(bar, completed=done, total=total),
                         due_days={f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds})
    console.print(f"Wrote {len(files)} files to {out}")


@app.command()
def docs(
    out: Annotated[Path, typer.Option(help="Where to write the feed specification.")] = Path("docs/feeds.md"),
) -> None:
    """Regenerate the agencies' feed specification (docs/feeds.md) from the catalogue."""
    from radar.core.config import get_context
    from radar.feedspec import render_feed_spec

    ctx = get_context()
    out.write_text(render_feed_spec(ctx.catalogue, ctx.config), encoding="utf-8")
    console.print(f"Wrote {out}")
