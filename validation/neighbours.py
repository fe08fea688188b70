"""Statistical neighbours: the ten local authorities DfE judges most like a given one.

DfE has published the groupings in two layouts: the April 2021 file
(key `LA number`, columns SN1..SN10) and the 2025 model (key `old_la_code`,
columns SN_1..SN_10).  Both use old three-digit LA codes.  The layout is
detected from the header so a partnership can point Radar at either.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from radar.validation.ees import read_text_csv

NEIGHBOURS = 10
# (key column, neighbour column pattern) of each known layout, after snake-casing.
LAYOUTS = (("la_number", "sn{}"), ("old_la_code", "sn_{}"))


def statistical_neighbours(path: Path, old_la_code: str) -> list[str]:
    """The old LA codes of `old_la_code`'s statistical neighbours, closest first."""
    frame = read_text_csv(path)
    for key, pattern in LAYOUTS:
        columns = [pattern.format(n) for n in range(1, NEIGHBOURS + 1)]
        if key in frame.columns and all(c in frame.columns for c in columns):
            break
    else:
        raise ValueError(
            f"{path.name}: not a statistical neighbour file (expected SN1..SN10 or SN_1..SN_10 "
            f"with an LA number or old_la_code column)"
        )
    rows = frame.filter(pl.col(key) == old_la_code)
    if rows.height != 1:
        raise ValueError(f"{path.name}: {rows.height} rows for LA {old_la_code}, expected one")
    return [code for code in rows.select(columns).row(0) if code is not None]
