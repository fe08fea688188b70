"""Checks that need a whole aggregate return, not one row at a time.

Every sent indicator, and each value of its breakdown, must be in every
return: a missing row is an error, never a silent zero.  And where a
percentage's numerator and denominator are both sent in the same return
(assessments within 45 days and assessments completed), the part may not be
larger than the whole, breakdown by breakdown.  Only percentages are compared:
a `days` indicator divides total days by a number of children, so its
numerator is meant to be the larger.
"""

from __future__ import annotations

import polars as pl

from radar.core.catalogue import Catalogue
from radar.validation.problems import Problem


def missing_indicators(cells: pl.DataFrame, feed_id: str, catalogue: Catalogue) -> list[Problem]:
    """A problem for each (indicator, breakdown) the return must hold but does not."""
    present = set(cells.select("indicator", "breakdown").iter_rows())
    return [
        Problem(None, "indicator", None, "missing_indicator",
                f"There is no row for {indicator.id}{f' with breakdown {value}' if value else ''}: "
                "every return must include it; write 0 if there were none.")
        for indicator in catalogue.sent_indicators(feed_id)
        for value in catalogue.breakdown_values(indicator) or ("",)
        if (indicator.id, value) not in present
    ]


def numerators_above_denominators(cells: pl.DataFrame, feed_id: str, catalogue: Catalogue) -> list[Problem]:
    """A problem on each numerator row whose count exceeds its denominator's (same breakdown)."""
    counts = cells.select("row_number", "indicator", "breakdown", pl.col("value").str.to_integer(strict=False)).filter(
        pl.col("value") >= 0  # blanks, words and negatives are reported by their own rules
    )
    problems = []
    for numerator, denominator in catalogue.parts_and_wholes(feed_id):
        part = counts.filter(pl.col("indicator") == numerator)
        whole = counts.filter(pl.col("indicator") == denominator).select("breakdown", whole="value")
        above = part.join(whole, on="breakdown").filter(pl.col("value") > pl.col("whole")).sort("row_number")
        problems += [
            Problem(row, "value", str(value), "numerator_above_denominator",
                    f"{numerator} ({value}) is more than {denominator} ({total})"
                    f"{f' for {breakdown}' if breakdown else ''}: it counts part of {denominator}, "
                    "so it cannot be larger. Check both figures.")
            for row, breakdown, value, total in above.select("row_number", "breakdown", "value", "whole").iter_rows()
        ]
    return problems
