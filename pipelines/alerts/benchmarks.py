"""`benchmark_gap`: the latest DfE year is worse than both England and the statistical neighbours by more than the margin.

DfE's figures are annual and come from no agency's feed, so these alerts
carry no feed and are never held back.
"""

from __future__ import annotations

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines import messages
from radar.pipelines.alerts.rule import Reads, Rule, candidate_frame

BENCHMARK_GAP = Rule(
    "benchmark_gap",
    "{name} stood at {value} in {year}, worse than both England ({national}) "
    "and similar areas ({sn_median}, the median of the statistical neighbours).",
    "low", "the latest DfE year is worse than both England and the statistical-neighbour median by more "
    "than the margin in alerts.yaml (rates and percentages only)",
    Reads(inputs=("comparison",)),
)


def benchmark_gap(
    comparison: pl.DataFrame, catalogue: Catalogue, period: str, scope: str, settings: AlertSettings
) -> pl.DataFrame:
    """Indicators whose DfE year matching the month is worse than England AND the statistical-neighbour median.

    `comparison` holds indicator, year (DfE's year ending March, Int64),
    la_value, national, sn_median (`pipelines.benchmarks.benchmark_comparison`, the year matching the month).
    "Worse by more than the margin" is relative to each comparator: with a
    10% margin an up_is_bad rate must exceed 1.1 x both.  Neutral indicators,
    counts (which compare areas of different sizes, not performance) and rows
    missing any of the three numbers never raise it.
    """
    margin = settings.benchmark_gap.margin
    latest = (
        comparison.filter(pl.col("la_value").is_not_null())
        .sort("year")
        .group_by("indicator", maintain_order=True)
        .last()
        .filter(pl.col("national").is_not_null(), pl.col("sn_median").is_not_null())
        .sort("indicator")
    )
    rows = []
    for row in latest.iter_rows(named=True):
        indicator = catalogue.indicator_by_id[row["indicator"]]
        if indicator.polarity == "neutral" or indicator.unit == "count":
            continue
        comparators = (row["national"], row["sn_median"])
        if indicator.polarity == "up_is_bad":
            worse = all(row["la_value"] > c + margin * abs(c) for c in comparators)
        else:
            worse = all(row["la_value"] < c - margin * abs(c) for c in comparators)
        if not worse:
            continue
        unit = indicator.unit
        rows.append(BENCHMARK_GAP.candidate(
            indicator=indicator.id, breakdown="", feed=None, scope=scope, period=period,
            settings=settings, subgroup=indicator.subgroup,
            evidence={
                "year": row["year"], "la_value": row["la_value"], "national": row["national"], "sn_median": row["sn_median"],
                "margin": margin, "polarity": indicator.polarity,
            },
            name=indicator.name, value=messages.number(row["la_value"], unit),
            year=periods.financial_year_label(row["year"]), national=messages.number(row["national"], unit),
            sn_median=messages.number(row["sn_median"], unit),
        ))
    return candidate_frame(rows)

