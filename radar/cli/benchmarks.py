"""`radar benchmarks`: DfE's published statistics loaded as benchmarks, and the authority beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import Table, app, console, print_json, print_table, store
from radar.cli.plumbing import prefect

benchmarks_app = typer.Typer(help="National, regional and statistical-neighbour benchmarks (DfE statistics).",
                             no_args_is_help=True)
app.add_typer(benchmarks_app, name="benchmarks")


def run_benchmark_import(paths: list[Path]) -> dict:
    from radar.flows.benchmarks import import_benchmarks

    with prefect(), console.status("Importing DfE statistics"):
        return import_benchmarks(paths)


@benchmarks_app.command("import")
def benchmarks_import(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="DfE Explore Education Statistics CSV files or folders (default: the statistics shipped with Radar, "
             "as the partnership config names them).", exists=True)] = None,
) -> None:
    """Load DfE statistics as benchmarks; a bad file changes nothing and says what is wrong."""
    from radar.core.config import get_context
    from radar.validation.ees import EESError

    try:
        counts = run_benchmark_import(paths or [get_context().config.benchmarks_folder()])
    except EESError as error:
        for problem in error.problems:
            console.print(f"[red]{problem}[/]")
        raise typer.Exit(1)
    console.print(f"Benchmarks: {counts['inserted']} new, {counts['updated']} changed, {counts['deleted']} removed")


@benchmarks_app.command("show")
def benchmarks_show(
    la: Annotated[str, typer.Option(help="Local-authority code, e.g. E09000006.")],
    year: Annotated[int | None, typer.Option(help="DfE year ending 31 March (2020 = 2019-20).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The authority's value beside England, its region and its statistical-neighbour median."""
    from radar.models.benchmarks import comparison_inputs
    from radar.pipelines.benchmarks import ATTRIBUTION, benchmark_comparison

    ctx, engine = store()
    own = ctx.config.partnership.old_la_code if la == ctx.la_code else None  # another authority's: from its rows
    with engine.connect() as conn:
        inputs = comparison_inputs(conn, la, own, ctx.config.neighbours_path())
    found = benchmark_comparison(**inputs, period=None if year is None else f"{year}-03")
    rows = (found if year is not None else found.group_by("indicator", maintain_order=True).last()).to_dicts()
    if not rows:
        console.print(f"No published figures for {la}: load them with `radar benchmarks import PATH`.")
    if as_json:
        print_json(rows)
        return
    table = Table("indicator", "year", "value", "England", "region", "neighbours (median)",
                  title=f"{la} against published figures", caption=ATTRIBUTION)
    for r in rows:
        shown = [r["la_value"] if r["la_value"] is not None else r["la_symbol"], r["national"], r["regional"],
                 r["sn_median"]]
        table.add_row(r["indicator"], str(r["year"]),
                      *["—" if v is None else f"{v:,.1f}" if isinstance(v, float) else str(v) for v in shown])
    print_table(table)
