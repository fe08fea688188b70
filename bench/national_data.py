"""A deterministic synthetic national history for the national benchmark (bench/national.py).

Every local authority with a child population in the latest ONS mid-year
estimate (153 for mid-2024), each month of `periods`:

- `observations`: every sent indicator of every aggregate feed, by each
  breakdown value (totals are Radar's to compute, as in a real return), only
  in the months the feed is due; about one file in a hundred is missing, so
  the charts have gaps to respect;
- `records`: `mash_contacts` rows (la_code, period, child_ref, source,
  outcome) spread over authorities in proportion to their children;
  `child_ref` is an integer pseudonym id drawn from a pool per authority, so
  a child can have several contacts;
- `delivered`: the months each authority has a current `mash_contacts` file;
- `population`: the real child population of each month (ONS via DfE, Open
  Government Licence v3), mapped to months by the pipeline's own
  `population_for_periods`.

Values are Poisson noise around a level proportional to the authority's
children, with an August dip for school-year (seasonal) indicators and a
sustained 25% rise from `step_from` in one series in twenty, so the SPC rules
have real signals to find.  Series levels come from a fixed seed and the noise
from the caller's, so a later month continues the same series.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from radar.core.catalogue import Catalogue
from radar.validation.population import population_for_periods

RECORD_FEED = "mash_contacts"
LEVEL_SEED = 20_190_401
MISSING_FILE_SHARE = 0.01
STEP_SHARE = 20  # one series in this many rises
STEP = 1.25
AUGUST_DIP = 0.6
CHILD_POOL_SHARE = 10  # an authority's contacts come from one child in ten
SOURCE_WEIGHTS = {"police": 0.3, "health": 0.15, "schools": 0.2, "la_services": 0.15, "individual": 0.15, "other": 0.05}
OUTCOME_WEIGHTS = {"referral_to_csc": 0.4, "early_help": 0.2, "advice_information": 0.25, "no_further_action": 0.15}


@dataclass(frozen=True)
class History:
    """What a national store would hold for `periods` (see the module docstring)."""

    periods: list[str]
    observations: pl.DataFrame
    records: pl.DataFrame
    delivered: pl.DataFrame
    population: pl.DataFrame


def month_range(first: str, months: int) -> list[str]:
    """`months` consecutive "YYYY-MM" periods starting at `first`."""
    start = int(first[:4]) * 12 + int(first[5:7]) - 1
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(start, start + months)]


def la_populations(populations: pl.DataFrame) -> pl.DataFrame:
    """[la_code, year, population] of every authority published in the latest year.

    `populations` is `validation.population.all_populations`; authorities
    whose boundaries changed (published only in recent years) keep the years
    they have, and their earlier months get no rate, as in Radar.
    """
    la = populations.filter(pl.col("level") == "la").select(
        pl.col("new_la_code").alias("la_code"), "year", "population"
    )
    current = la.filter(pl.col("year") == pl.col("year").max()).select("la_code")
    return la.join(current, on="la_code").sort("la_code", "year")


def synthesise(
    catalogue: Catalogue,
    populations: pl.DataFrame,
    periods: list[str],
    n_records: int,
    step_from: str,
    seed: int,
) -> History:
    """A national history over `periods` from `la_populations` output (see the module docstring)."""
    rng = np.random.default_rng(seed)
    authorities = _authorities(populations)
    months = pl.DataFrame({"period": periods}).with_columns(
        august=pl.col("period").str.ends_with("-08"), stepped=pl.col("period") >= step_from
    )
    history = History(
        periods=periods,
        observations=_observations(catalogue, authorities, months, rng),
        records=_records(catalogue, authorities, months, n_records, rng),
        delivered=authorities.select("la_code").join(months.select("period"), how="cross"),
        population=pl.concat([
            population_for_periods(frame.drop("la_code"), periods).with_columns(la_code=pl.lit(la_code))
            for (la_code,), frame in populations.partition_by("la_code", as_dict=True).items()
        ]).select("la_code", "period", "population", "population_year", "carried_forward"),
    )
    return _by_authority(history)


def _by_authority(history: History) -> History:
    """Every frame sorted by authority (keeping each authority's rows in their order), as a national store
    would return them, and saying so: the national computation cuts them into shards by slicing."""
    def own(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.sort("la_code", maintain_order=True)

    return replace(history, observations=own(history.observations), records=own(history.records),
                   delivered=own(history.delivered), population=own(history.population))


def _authorities(populations: pl.DataFrame) -> pl.DataFrame:
    """One row per authority: its code, its children and its size relative to the average authority."""
    latest = populations.filter(pl.col("year") == pl.col("year").max())
    return latest.select(
        "la_code", "population", (pl.col("population") / pl.col("population").mean()).alias("size")
    ).with_row_index("la_index")


def _sent_series(catalogue: Catalogue) -> pl.DataFrame:
    """Every sent (feed, indicator, breakdown) of the aggregate feeds, with its fixed level and step flag."""
    rows = [
        {"feed": feed.id, "indicator": ind.id, "breakdown": value, "seasonal": ind.seasonal}
        for feed in catalogue.feeds
        if feed.kind == "aggregate"
        for ind in catalogue.sent_indicators(feed.id)
        for value in (catalogue.breakdown_values(ind) or ("",))
    ]
    levels = np.random.default_rng(LEVEL_SEED).uniform(2, 80, len(rows))
    return pl.DataFrame(rows).with_columns(
        level=pl.Series(levels), steps=pl.int_range(pl.len()) % STEP_SHARE == 0
    )


def _observations(catalogue: Catalogue, authorities: pl.DataFrame, months: pl.DataFrame, rng) -> pl.DataFrame:
    """Each authority's aggregate returns: one row per sent series and month the feed is due."""
    due = pl.DataFrame([
        {"feed": f.id, "period": p}
        for f in catalogue.feeds
        if f.kind == "aggregate"
        for p in months["period"]
        if f.expects(p)
    ])
    files = authorities.select("la_code", "size").join(due, how="cross")
    files = files.filter(pl.Series(rng.random(files.height) >= MISSING_FILE_SHARE))
    grid = files.join(_sent_series(catalogue), on="feed").join(months, on="period")
    expected = (
        pl.col("level") * pl.col("size")
        * pl.when(pl.col("seasonal") & pl.col("august")).then(AUGUST_DIP).otherwise(1.0)
        * pl.when(pl.col("steps") & pl.col("stepped")).then(STEP).otherwise(1.0)
    )
    lam = grid.select(expected).to_series().to_numpy()
    return grid.select(
        "la_code", "period", "indicator", "breakdown", value=pl.Series(rng.poisson(lam), dtype=pl.Float64)
    )


def _records(
    catalogue: Catalogue, authorities: pl.DataFrame, months: pl.DataFrame, n_records: int, rng
) -> pl.DataFrame:
    """`n_records` MASH contacts, already grouped by authority and month as a store returns them."""
    cells = authorities.join(months, how="cross").with_columns(
        weight=pl.col("size") * pl.when(pl.col("august")).then(AUGUST_DIP).otherwise(1.0)
    )
    weights = cells["weight"].to_numpy()
    counts = rng.multinomial(n_records, weights / weights.sum())
    cell = np.repeat(np.arange(cells.height), counts)
    la_index = cells["la_index"].to_numpy()[cell]
    pool = np.maximum(cells["population"].to_numpy()[cell] // CHILD_POOL_SHARE, 1)
    columns = {c.name: c for c in catalogue.feed_by_id[RECORD_FEED].columns}
    return pl.DataFrame({
        "la_code": cells["la_code"].gather(cell),
        "period": cells["period"].gather(cell),
        "child_ref": la_index.astype(np.int64) * 1_000_000 + (rng.random(n_records) * pool).astype(np.int64),
        "source": _draw(catalogue.column_values(columns["source"]), SOURCE_WEIGHTS, n_records, rng),
        "outcome": _draw(catalogue.column_values(columns["outcome"]), OUTCOME_WEIGHTS, n_records, rng),
    })


def _draw(values: tuple[str, ...], weights: dict[str, float], n: int, rng) -> pl.Series:
    """`n` category values drawn with the given weights (the catalogue decides which values exist)."""
    p = np.array([weights[v] for v in values])
    return pl.Series(values).gather(rng.choice(len(values), n, p=p / p.sum()))


def restrict(history: History, la_codes: list[str]) -> History:
    """The same history for some authorities only (the fairness check's sample)."""
    def keep(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.filter(pl.col("la_code").is_in(la_codes))

    return History(
        periods=history.periods,
        observations=keep(history.observations),
        records=keep(history.records),
        delivered=keep(history.delivered),
        population=keep(history.population),
    )
