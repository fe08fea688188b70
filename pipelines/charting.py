"""What SPC is run on: each indicator's series (seasonally adjusted where it opts in) and its polarity.

Shared by the monthly cycle and the national benchmark, so both chart exactly
the same values.
"""

from __future__ import annotations

import polars as pl

from radar.core.catalogue import Catalogue
from radar.pipelines.seasonal import seasonal_baseline


def charted_values(catalogue: Catalogue, values: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """`keys` + period + value, with seasonal indicators' values net of their month's usual level."""
    seasonal = [i.id for i in catalogue.indicators if i.seasonal]
    adjusted = seasonal_baseline(values.filter(pl.col("indicator").is_in(seasonal)), keys)
    return pl.concat([
        values.filter(~pl.col("indicator").is_in(seasonal)).select(*keys, "period", "value"),
        adjusted.select(*keys, "period", pl.col("deseasonalised").alias("value")),
    ])


def polarities(catalogue: Catalogue) -> pl.DataFrame:
    """indicator, polarity: which direction of change is a concern."""
    return pl.DataFrame({
        "indicator": [i.id for i in catalogue.indicators], "polarity": [i.polarity for i in catalogue.indicators],
    })
