"""What SPC is run on: each indicator's series (seasonally adjusted where it opts in), its polarity and bounds.

Shared by the monthly cycle and the national benchmark, so both chart exactly
the same values.  The catalogue's words (unit, measure, polarity) become the
plain lookups the pure pipelines take.
"""

from __future__ import annotations

import polars as pl

from radar.core.catalogue import Catalogue, Unit
from radar.pipelines.seasonal import seasonal_baseline, sorted_series


def charted_values(catalogue: Catalogue, values: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`keys` + period + value, sorted by series and month, with seasonal indicators' values net of their
    month's usual level.

    Sorted and numbered once, here (`sorted_series`, whose columns the frame
    keeps): the seasonal indicators' rows are then an ordered subset, adjusted
    and put back in place, and `xmr` finds its input in order and numbered
    (sorting and numbering millions of rows was most of what both cost).
    """
    ordered = sorted_series(values.select(*keys, "period", "value"), keys)
    is_seasonal = ordered.get_column("indicator").is_in(catalogue.seasonal_ids)
    adjusted = seasonal_baseline(ordered.filter(is_seasonal), keys).get_column("deseasonalised")
    return ordered.with_columns(ordered.get_column("value").clone().scatter(is_seasonal.arg_true(), adjusted))


def polarities(catalogue: Catalogue) -> pl.DataFrame:
    """indicator, polarity: which direction of change is a concern."""
    return pl.DataFrame({
        "indicator": [i.id for i in catalogue.indicators], "polarity": [i.polarity for i in catalogue.indicators],
    })


# What a value of each unit can be: no count, rate or number of days is below
# zero, and no percentage is above 100.  (floor, ceiling); None is no bound.
UNIT_BOUNDS: dict[Unit, tuple[float, float | None]] = {
    "count": (0.0, None),
    "rate_per_10k": (0.0, None),
    "days": (0.0, None),
    "percent": (0.0, 100.0),
}


def limit_bounds(catalogue: Catalogue) -> pl.DataFrame:
    """indicator, floor, ceiling: how far the unit lets an indicator's process limits reach (xmr clamps to them)."""
    bounds = [UNIT_BOUNDS[i.unit] for i in catalogue.indicators]
    return pl.DataFrame(
        {
            "indicator": [i.id for i in catalogue.indicators],
            "floor": [floor for floor, _ in bounds],
            "ceiling": [ceiling for _, ceiling in bounds],
        },
        schema={"indicator": pl.String, "floor": pl.Float64, "ceiling": pl.Float64},
    )


def event_counts(catalogue: Catalogue) -> list[str]:
    """Indicators whose months add up to a year's total: counts of events (unit count, measure flow).

    A month-end stock (children on a plan) is counted again every month, and a
    percentage, rate or average of days is no quantity at all, so summing
    twelve of them means nothing.
    """
    return [i.id for i in catalogue.indicators if i.unit == "count" and i.measure == "flow"]
