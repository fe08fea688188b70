"""The Board pack for a month, read from the store and rendered (`radar report` and the dashboard's download).

It sits beside the dashboard because the pack's SPC charts are the
dashboard's own (radar.dashboard.charts.spc_chart), drawn to SVG with
vl-convert, so the Board sees on paper exactly the chart it sees on screen;
`radar report` imports it from above.  The reads are the threat
assessment's (models.threat_sources) plus the Impact Log and each key
indicator's chart; everything else is radar.pipelines.board_pack.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

import polars as pl
import typst
import vl_convert
from sqlalchemy import Engine

from radar.core.config import Context
from radar.core.threats import configured_themes
from radar.dashboard.charts import spc_chart
from radar.dashboard.common import format_value
from radar.models import queries
from radar.models.register import load_matrix, read_impact
from radar.models.threat_sources import read_sources
from radar.pipelines.board_pack import build_pack, to_html, to_typst
from radar.pipelines.threats import StaInputs, build_inputs, report

Format = Literal["html", "pdf", "png"]
CHART_SIZE = {"width": 560, "height": 200}
PNG_PPI = 90


def assessment(engine: Engine, ctx: Context, period: str, as_of: date, today: date) -> tuple[StaInputs, dict]:
    """The threat assessment of `period` judged on `as_of` and what it was computed from: the one composition
    behind `radar sta`, the Board pack and the overview, so the terminal, the paper and the screen always rank
    the same threats.  `today` dates the seeding of a register the store has never had."""
    matrix = load_matrix(ctx.config) if ctx.config.risk_register else None
    sources = read_sources(engine, ctx.config, today)
    inputs = build_inputs(ctx.catalogue, ctx.config, configured_themes(ctx), matrix, period, as_of, sources)
    return inputs, report(inputs)


def gather(engine: Engine, ctx: Context, period: str, as_of: date, today: date) -> tuple[dict, dict[str, str]]:
    """The internal pack for `period` as judged on `as_of`, and each key indicator's SPC chart as SVG text."""
    inputs, sta = assessment(engine, ctx, period, as_of, today)
    with engine.begin() as conn:
        impact = [{k: v for k, v in row.items() if k != "version"} for row in read_impact(conn, ctx.la_code)]
    units = {i.id: i.unit for i in ctx.catalogue.indicators}
    values = queries.indicator_values(engine, ctx.la_code)  # publication judges every figure on its stored counts
    pack = build_pack(ctx.config, inputs, sta, impact, load_matrix(ctx.config), units, values)
    charts = {e["indicator"]: chart_svg(engine, ctx, e["indicator"], e["unit"], period, inputs.comparison)
              for e in pack["indicators"]}
    return pack, {k: v for k, v in charts.items() if v}


def chart_svg(engine: Engine, ctx: Context, indicator: str, unit: str, period: str, comparison: pl.DataFrame) -> str:
    """The indicator's SPC chart up to `period` with England's latest published figure, as SVG ('' if uncharted)."""
    spc = queries.spc_points(engine, ctx.la_code, indicator).filter(pl.col("period") <= period)
    if spc.is_empty():
        return ""
    reported = queries.indicator_series(engine, ctx.la_code, indicator).select("period", reported="value")
    points = spc.join(reported, on="period", how="left", maintain_order="left")
    national = comparison.filter(pl.col("indicator") == indicator, pl.col("national").is_not_null()).sort("year")
    references = [(f"England {row['year']}: {format_value(row['national'], unit)}", row["national"])
                  for row in national.tail(1).to_dicts()]
    seasonal = ctx.catalogue.indicator_by_id[indicator].seasonal
    chart = spc_chart(points, unit, references, seasonal=seasonal).properties(**CHART_SIZE)
    return vl_convert.vegalite_to_svg(chart.to_json())


def render(pack: dict, charts: dict[str, str], fmt: Format, publication: bool = False) -> bytes | list[bytes]:
    """HTML text, a PDF, or (to look at) one PNG per PDF page."""
    if fmt == "html":
        return to_html(pack, charts, publication).encode("utf-8")
    source = to_typst(pack, charts, publication).encode("utf-8")
    if fmt == "pdf":
        return typst.compile(source, format="pdf")
    return typst.compile(source, format="png", ppi=PNG_PPI)
