"""`radar signals`: both detectors replayed on the partnership's history (`backtest`) or on any series (`run`).

Thin: options are parsed here, the work is pipelines/signal_replay.py's.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import app, console

signals_app = typer.Typer(help="Signals: replay Making Data Count and the early warning month by month.",
                          no_args_is_help=True)
app.add_typer(signals_app, name="signals")


class Kind(str, Enum):
    count = "count"
    percentage = "percentage"


class Worse(str, Enum):
    higher = "higher"
    lower = "lower"


def _print(rows: list[dict], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        typer.echo("No month would have been flagged by either detector.")
    for r in rows:
        if r["detector"] == "mdc":
            typer.echo(f"{r['series']}  {r['period']}  MDC: {r['signal'].replace('_', ' ')}")
        else:
            typer.echo(f"{r['series']}  {r['period']}  early warning{' (new)' if r['new'] else ''}: "
                       f"{r['value']:g} against about {r['expected']:.1f} expected; since {r['since']}")


@signals_app.command()
def run(
    input: Annotated[Path, typer.Option("--input", help="CSV with columns series,period,value[,denominator].")],
    kind: Annotated[Kind, typer.Option(help="count, or percentage (value is the numerator).")] = Kind.count,
    seasonal: Annotated[bool, typer.Option("--seasonal", help="Model the school year (as catalogue seasonal).")] = False,
    worse: Annotated[Worse, typer.Option(help="Which direction is a concern.")] = Worse.higher,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per month flagged.")] = False,
) -> None:
    """Judge each month of any series on the data up to that month, with both detectors, as the cycle would have."""
    from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
    from radar.pipelines import early_warning, signal_replay

    try:
        text = input.read_text(encoding="utf-8-sig")
    except OSError as error:
        console.print(f"[red]Cannot read {input}: {error.strerror}.[/]")
        raise typer.Exit(2)
    try:
        frame = signal_replay.parse_series(text, kind.value)
    except signal_replay.SeriesInputError as error:
        console.print(f"[red]{input}: {error}[/]", soft_wrap=True)
        raise typer.Exit(2)
    alerts = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
    rows = signal_replay.both_detectors(frame, kind.value, seasonal, worse.value, alerts.spc_settings(),
                                        early_warning.settings_from(alerts))
    _print(rows, as_json)


@signals_app.command()
def backtest(
    indicator: Annotated[str | None, typer.Option(help="Only this indicator id.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Replay the partnership's stored history month by month: when each detector would have alerted."""
    from radar.core.config import get_context
    from radar.models.charts import read_rebases
    from radar.models.engine import get_engine
    from radar.models.indicators import indicator_values
    from radar.pipelines import early_warning, signal_replay

    ctx = get_context()
    if indicator and indicator not in ctx.catalogue.indicator_by_id:
        console.print(f"[red]Unknown indicator {indicator!r}.[/] See `radar catalog`.")
        raise typer.Exit(2)
    engine = get_engine(ctx.settings.database_url)
    with engine.connect() as conn:
        values = indicator_values(conn, ctx.la_code, indicator)
        rebases = read_rebases(conn, ctx.la_code)
    rows = signal_replay.backtest(ctx.catalogue, values, ctx.alerts.spc_settings(),
                                  early_warning.settings_from(ctx.alerts), rebases, indicator)
    _print(rows, as_json)


def with_detection(ctx, conn, rows: list[dict]) -> list[dict]:
    """`radar indicators --json` rows, each with what the early warning can detect on its series
    (`min_detectable_change`, `promise`, `detection`: the sentence the indicator page shows)."""
    from radar.models.charts import read_early_warning
    from radar.pipelines.alerts.early_warning import detection_statement

    stored = {(r["indicator"], r["breakdown"]): r for r in read_early_warning(conn, ctx.la_code).to_dicts()}
    said: dict[tuple[str, str], dict] = {}
    for row in rows:
        key = (row["indicator"], row["breakdown"])
        if key not in said:
            found = detection_statement(ctx.catalogue.indicator_by_id[key[0]], stored.get(key), key[1])
            said[key] = {"min_detectable_change": found["min_detectable_change"], "promise": found["promise"],
                         "detection": found["statement"]}
        row.update(said[key])
    return rows
