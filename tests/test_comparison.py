"""One comparison with England, the region and statistical neighbours, the same on every screen and on paper.

On a demo-like store (synthetic files from April 2017 to March 2020, as `make demo` writes, DfE's
shipped statistics for 2019-20 up to the latest year, the March 2020 cycle),
the dashboard's figure (the function the indicator page calls), `radar sta
--json` and the Board pack set the same England figure of the same year, the
one matching March 2020 (2019-20), beside each indicator; and the pack shows a
seasonally adjusted indicator's reported figure, naming the adjusted one beside it.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from typer.testing import CliRunner

from radar.cli import app
from radar.core.config import get_context
from radar.pipelines import board_pack as pack_layout

PERIOD, AS_OF = "2020-03", date(2020, 4, 30)


@pytest.fixture
def demo_store(radar_store, prefect, tmp_path, monkeypatch):
    from radar.flows.benchmarks import import_benchmarks
    from radar.flows.cycle import monthly_cycle
    from radar.flows.ingest import ingest_files
    from radar.synth import generate

    monkeypatch.setenv("RADAR_PSEUDONYM_KEY", "test-key-not-secret")
    ctx = get_context()
    feeds = tmp_path / "feeds"
    generate(feeds, ctx.catalogue, start="2017-04", end=PERIOD, seed=2020,
             due_days={f.id: ctx.config.due_day(ctx.catalogue, f.id) for f in ctx.catalogue.feeds})
    ingest_files([feeds])
    import_benchmarks([ctx.config.benchmarks_folder()])
    monthly_cycle(PERIOD, today=AS_OF)
    return ctx


def test_dashboard_sta_and_board_pack_show_the_same_comparison_and_the_reported_figure(demo_store, monkeypatch):
    from radar.actions.board_pack import gather
    from radar.dashboard.common import benchmark_comparisons, england_figure
    from radar.models import queries
    from radar.models.engine import get_engine

    ctx = demo_store
    monkeypatch.setattr(pack_layout, "KEY_INDICATORS", 100)  # every indicator the threats rest on
    result = CliRunner().invoke(app, ["sta", "--period", PERIOD, "--as-of", AS_OF.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    sta = {e["indicator"]: e["comparator"] for t in json.loads(result.output)["threats"] for e in t["evidence"]}
    engine = get_engine(ctx.settings.database_url)
    pack, _ = gather(engine, ctx, PERIOD, AS_OF)
    shown = pack_layout.internal(pack)
    lines = {e["indicator"]: pack_layout.indicator_line(e) for e in shown["indicators"]}

    published = benchmark_comparisons()
    assert published["year"].max() > 2020  # later years are loaded: the right one has to be chosen
    compared = 0
    for indicator, line in lines.items():
        rows = published.filter(pl.col("indicator") == indicator)
        figure = england_figure(rows, PERIOD)  # as the indicator page sets it beside a series ending March 2020
        if figure is None:
            assert "Published comparison" not in line and sta[indicator] is None
            continue
        year, england = figure
        assert year == 2020  # 2019-20: the DfE year whose 31 March falls in March 2020's financial year
        unit = ctx.catalogue.indicator_by_id[indicator].unit
        england_words = f"England {england:,.0f}" if unit in ("count", "days") else f"England {england:,.1f}"
        words = sta[indicator]  # radar sta --json
        assert words.startswith("2019-20: ") and f"{england_words}," in f"{words},", (indicator, words, figure)
        assert line.endswith(f"Published comparison {words}")  # the Board pack
        compared += 1
    assert compared >= 1, lines

    # The pack shows each figure as reported; a seasonally adjusted one (what the assessment read) named beside it.
    charted = {e["indicator"]: e["latest_value"] for e in pack["indicators"]}  # what the assessment read
    adjusted = 0
    for e in shown["indicators"]:
        stored = queries.indicator_series(engine, ctx.la_code, e["indicator"]).filter(
            pl.col("period") == e["latest_period"])["value"].item()
        assert e["shown"].split(" (")[0] == pack_layout.shown_value(stored, e["unit"]), (e["indicator"], e["shown"])
        if charted[e["indicator"]] != stored:  # a seasonally adjusted indicator: the adjusted figure named beside
            assert ctx.catalogue.indicator_by_id[e["indicator"]].seasonal
            assert e["shown"].endswith(" seasonally adjusted, as charted)"), e["shown"]
            adjusted += 1
    assert adjusted >= 1  # the store has one, so the test has something to find
