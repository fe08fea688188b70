"""The Board pack for a month, read from the store and rendered: `radar report`, the quarterly `board-pack` flow
(flows/board_pack.py) and the dashboard's download all assemble it here.

The reads are the threat assessment's (models.threat_sources) plus the
Impact Log and each key indicator's chart; the pack's content is
radar.pipelines.board_pack's, and its SPC charts are the dashboard's own
(radar.pipelines.charts.spc_chart), drawn to SVG with vl-convert, so the
Board sees on paper exactly the chart it sees on screen.  The threat
assessment is composed once here too (`assessment`), for `radar sta`, the
pack and the overview, so the terminal, the paper and the screen always
rank the same threats.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import polars as pl
from sqlalchemy import Connection, Engine

from radar.actions.refusal import refuse_if
from radar.actions.register import register_matrix
from radar.core import periods
from radar.core.config import Context
from radar.core.threats import configured_themes
from radar.models import audit as audit_trail
from radar.models import charts as chart_store
from radar.models import indicators as indicator_store
from radar.models.register import read_impact
from radar.models.threat_sources import read_sources
from radar.pipelines.messages import number
from radar.pipelines.threats import StaInputs, build_inputs, report

Format = Literal["html", "pdf", "png"]
CHART_SIZE = {"width": 560, "height": 200}
PNG_PPI = 90


def assessment(engine: Engine, ctx: Context, period: str, as_of: date) -> tuple[StaInputs, dict]:
    """The threat assessment of `period` judged on `as_of` and what it was computed from: the one composition
    behind `radar sta`, the Board pack and the overview (the register's matrix is the run's, `ctx.register`)."""
    with engine.connect() as conn:
        return _assessment(conn, ctx, period, as_of)


def _assessment(conn: Connection, ctx: Context, period: str, as_of: date) -> tuple[StaInputs, dict]:
    matrix = ctx.register.matrix if ctx.register else None
    sources = read_sources(conn, ctx.config)
    inputs = build_inputs(ctx.catalogue, ctx.config, configured_themes(ctx), matrix, period, as_of, sources)
    return inputs, report(inputs)


def gather(engine: Engine, ctx: Context, period: str, as_of: date) -> tuple[dict, dict[str, str]]:
    """The internal pack for `period` as judged on `as_of`, and each key indicator's SPC chart as SVG text (read
    in one transaction, drawn after it)."""
    from radar.pipelines.board_pack import build_pack  # here: jinja2, which `radar sta` does not need

    with engine.connect() as conn:
        inputs, sta = _assessment(conn, ctx, period, as_of)
        impact = [{k: v for k, v in row.items() if k != "version"} for row in read_impact(conn, ctx.la_code)]
        units = {i.id: i.unit for i in ctx.catalogue.indicators}
        values = indicator_store.indicator_values(conn, ctx.la_code)  # publication judges every figure on its counts
        pack = build_pack(ctx.config, inputs, sta, impact, register_matrix(ctx), units, values)
        points = {e["indicator"]: chart_points(conn, ctx.la_code, e["indicator"], period) for e in pack["indicators"]}
    charts = {e["indicator"]: chart_svg(ctx, points[e["indicator"]], e["indicator"], e["unit"], inputs.comparison)
              for e in pack["indicators"]}
    return pack, {k: v for k, v in charts.items() if v}


def chart_points(conn: Connection, la_code: str, indicator: str, period: str) -> pl.DataFrame:
    """The indicator's XmR points up to `period`, each with the value reported for its month."""
    spc = chart_store.spc_points(conn, la_code, indicator).filter(pl.col("period") <= period)
    reported = indicator_store.indicator_series(conn, la_code, indicator).select("period", reported="value")
    return spc.join(reported, on="period", how="left", maintain_order="left")


def chart_svg(ctx: Context, points: pl.DataFrame, indicator: str, unit: str, comparison: pl.DataFrame) -> str:
    """The indicator's SPC chart (`chart_points`) with England's figure for the year matching it (`comparison`
    is the assessment's, already cut to that year), as SVG ('' if uncharted)."""
    if points.is_empty():
        return ""
    import vl_convert  # here: `radar sta` and the overview, which draw no chart, need not load it (nor altair)

    from radar.pipelines.charts import spc_chart

    national = comparison.filter(pl.col("indicator") == indicator, pl.col("national").is_not_null()).sort("year")
    references = [(f"England {periods.financial_year_label(row['year'])}: {number(row['national'], unit)}",
                   row["national"])
                  for row in national.tail(1).to_dicts()]
    seasonal = ctx.catalogue.indicator_by_id[indicator].seasonal
    chart = spc_chart(points, unit, references, seasonal=seasonal).properties(**CHART_SIZE)
    return vl_convert.vegalite_to_svg(chart.to_json())


def render(pack: dict, charts: dict[str, str], fmt: Format, publication: bool = False) -> bytes | list[bytes]:
    """HTML text, a PDF, or (to look at) one PNG per PDF page."""
    from radar.pipelines.board_pack import to_html, to_typst

    if fmt == "html":
        return to_html(pack, charts, publication).encode("utf-8")
    import typst  # here, as vl_convert above

    source = to_typst(pack, charts, publication).encode("utf-8")
    if fmt == "pdf":
        return typst.compile(source, format="pdf")
    return typst.compile(source, format="png", ppi=PNG_PPI)


def pack_period(engine: Engine, ctx: Context, period: str | None) -> str:
    """The month a pack is for: `period` if it is one, or by default the latest month the cycle has computed
    (on schedule, the quarter's last month, whose cycle ran the day before); refused otherwise."""
    if period is None:
        with engine.connect() as conn:
            period = audit_trail.latest_cycle(conn, ctx.la_code)
        refuse_if([] if period else ["no monthly cycle has run yet, so there is no month for a Board pack"])
    refuse_if([] if periods.is_period(period) else
              [f"the pack's month must be written YYYY-MM, such as 2020-03, not {period!r}"])
    return period


def board_pack(engine: Engine, ctx: Context, period: str, fmt: Format, *, as_of: date | None = None,
               today: date | None = None, publication: bool = False) -> bytes | list[bytes]:
    """The Board pack for `period` as judged on `as_of` (default: today, or for a month long past the end of the
    month after it), rendered; the version for publication when `publication`."""
    today = today or date.today()
    period = pack_period(engine, ctx, period)
    pack, charts = gather(engine, ctx, period, as_of or periods.as_of(period, today))
    return render(pack, charts, fmt, publication)
