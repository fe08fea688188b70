"""Both detectors replayed month by month on any series: what `radar signals run` and `backtest` print.

Each month is judged only on the data up to that month, as the monthly cycle
would have judged it: Making Data Count's XmR rules on the chart as it stood
that month (`mdc_alarms`), and the early warning on a model fitted on the
history before it (`early_alarms`, pipelines/early_warning.py).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable

import polars as pl

from radar.core.alert_settings import SpcSettings
from radar.core.periods import is_period
from radar.pipelines import early_warning as ew
from radar.pipelines import glm
from radar.pipelines.seasonal import seasonal_baseline
from radar.pipelines.spc import xmr

DEFAULT_SPC = SpcSettings()
DEFAULT_EARLY = ew.EarlySettings()
SERIES_SCHEMA = {"series": pl.String, "period": pl.String, "value": pl.Float64, "denominator": pl.Float64}


class SeriesInputError(ValueError):
    """A series file that cannot be read: the message names the row."""


def parse_series(text: str, kind: glm.Kind) -> pl.DataFrame:
    """The rows of a `series,period,value[,denominator]` CSV, checked row by row (row 1 is the header).

    For a percentage, `value` is the numerator and `denominator` is needed:
    the percentage is 100 x value / denominator.  Refused with the row named:
    a missing column, a period that is not YYYY-MM, a value that is not a
    number (or negative), a numerator above its denominator, the same month
    twice in a series.
    """
    reader = csv.DictReader(io.StringIO(text))
    need = ["series", "period", "value"] + (["denominator"] if kind == "percentage" else [])
    missing = [c for c in need if c not in (reader.fieldnames or [])]
    if missing:
        raise SeriesInputError(f"row 1 (the header) lacks the column{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)}; a series file has columns {','.join(need)}")
    rows, seen = [], set()
    for number, row in enumerate(reader, start=2):
        series, period = (row.get("series") or "").strip(), (row.get("period") or "").strip()
        if not series:
            raise SeriesInputError(f"row {number}: the series name is empty")
        if not is_period(period):
            raise SeriesInputError(f"row {number}: period {period!r} is not a month written YYYY-MM (e.g. 2020-03)")
        if (series, period) in seen:
            raise SeriesInputError(f"row {number}: {series} has {period} twice")
        seen.add((series, period))
        value = _number(row.get("value"), number, "value")
        denominator = _number(row.get("denominator"), number, "denominator") if kind == "percentage" else None
        if kind == "percentage" and value is not None and (denominator is None or value > denominator):
            raise SeriesInputError(f"row {number}: a percentage needs a denominator at least its value "
                                   f"(value {value:g}, denominator {row.get('denominator')!r})")
        rows.append((series, period, value, denominator))
    if not rows:
        raise SeriesInputError("the file has a header but no rows")
    return pl.DataFrame(rows, schema=SERIES_SCHEMA, orient="row").sort("series", "period")


def _number(text: str | None, row: int, column: str) -> float | None:
    text = (text or "").strip()
    if text == "":
        return None  # a month with no value: a gap, never a zero
    try:
        value = float(text)
    except ValueError:
        raise SeriesInputError(f"row {row}: {column} {text!r} is not a number") from None
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise SeriesInputError(f"row {row}: {column} {text!r} must be a number of at least 0")
    return value


def complete_months(frame: pl.DataFrame) -> pl.DataFrame:
    """Each series' rows with every month between its first and last (a missing month as nulls)."""
    filled = []
    for (series,), rows in frame.group_by(["series"], maintain_order=True):
        first, last = rows["period"].min(), rows["period"].max()
        months = [glm.period_of(m) for m in range(glm.month_number(first), glm.month_number(last) + 1)]
        grid = pl.DataFrame({"series": [series] * len(months), "period": months})
        filled.append(grid.join(rows, on=["series", "period"], how="left"))
    return pl.concat(filled).sort("series", "period") if filled else frame


def mdc_alarms(frame: pl.DataFrame, seasonal: bool, worse: str, settings: SpcSettings = DEFAULT_SPC,
               keys: Iterable[str] = ("series",), judged_from: str | None = None) -> pl.DataFrame:
    """Months whose XmR point, on the chart as it stood that month, showed a concerning special cause.

    `frame` holds `keys`, period and value (the charted value: a percentage
    in percent).  Every month is charted as its own prefix of the series
    (keys + cutoff), seasonally adjusted on that prefix where `seasonal`, all
    in one `xmr` call.  Returns keys, period, signal.
    """
    keys = list(keys)
    data = frame.select(*keys, "period", "value")
    cutoffs = data.select(*keys, cutoff="period")
    if judged_from is not None:
        cutoffs = cutoffs.filter(pl.col("cutoff") >= judged_from)
    prefixes = cutoffs.join(data, on=keys).filter(pl.col("period") <= pl.col("cutoff"))
    chart_keys = [*keys, "cutoff"]
    if seasonal:
        prefixes = seasonal_baseline(prefixes, chart_keys).with_columns(value=pl.col("deseasonalised")).select(
            *chart_keys, "period", "value")
    polarity = pl.DataFrame({keys[0]: frame[keys[0]].unique()}).with_columns(
        polarity=pl.lit("up_is_bad" if worse == "higher" else "down_is_bad"))
    points = xmr(prefixes, chart_keys, settings, polarity)
    return points.filter(
        pl.col("period") == pl.col("cutoff"), pl.col("label") == "ok", pl.col("assessment") == "concern"
    ).select(*keys, "period", "signal").sort(*keys, "period")


def early_alarms(frame: pl.DataFrame, kind: glm.Kind, seasonal: bool, worse: str, settings: ew.EarlySettings,
                 rebases: Iterable[str] = ()) -> list[dict]:
    """Every month the early warning flagged as a concern, per series: series, period, expected, excess and the
    run behind it (`since`, observed and expected since then), with `new` on the month an episode began."""
    out = []
    sign = 1 if worse == "higher" else -1
    for (series,), rows in complete_months(frame).group_by(["series"], maintain_order=True):
        judged, _ = run_series(rows, kind, seasonal, sign, settings, rebases, key=series)
        before = None
        for j in judged:
            if j.flag == "concern":
                out.append(alarm_row(series, j, kind, new=before != "concern"))
            before = j.flag
    return out


def run_series(rows: pl.DataFrame, kind: glm.Kind, seasonal: bool, sign: int, settings: ew.EarlySettings,
               rebases: Iterable[str] = (), key: str = "", state: ew.State | None = None,
               detectable: bool = False) -> tuple[list[ew.Judged], ew.State]:
    """`early_warning.replay` on one series' consecutive months (period, value[, numerator, denominator])."""
    periods = rows["period"].to_list()
    if kind == "count":
        return ew.replay(periods, rows["value"].to_list(), None, None, kind, seasonal, sign, settings,
                         list(rebases), key, state, detectable)
    numerators, denominators = rows["numerator"].to_list(), rows["denominator"].to_list()
    values = [None if n is None or not d else 100 * n / d for n, d in zip(numerators, denominators, strict=True)]
    return ew.replay(periods, values, numerators, denominators, kind, seasonal, sign, settings, list(rebases), key,
                     state, detectable)


def alarm_row(series: str, j: ew.Judged, kind: glm.Kind, new: bool) -> dict:
    excess = None if j.value is None or j.expected is None else round(j.value - j.expected, 3)
    return {
        "series": series, "period": j.period, "detector": "early_warning", "new": new,
        "value": j.value, "expected": round(j.expected, 3), "excess": excess, "since": j.since,
        "observed_since": None if j.observed_sum is None else round(j.observed_sum, 3),
        "expected_since": None if j.expected_sum is None else round(j.expected_sum, 3),
        "return_years": None if j.return_years is None else round(j.return_years, 1),
    }


def both_detectors(frame: pl.DataFrame, kind: glm.Kind, seasonal: bool, worse: str,
                   spc: SpcSettings = DEFAULT_SPC, early: ew.EarlySettings = DEFAULT_EARLY) -> list[dict]:
    """`radar signals run`: one object per month flagged, by either detector, in series and month order."""
    if kind == "percentage":
        frame = frame.with_columns(numerator=pl.col("value"),
                                   value=pl.when(pl.col("denominator") > 0)
                                   .then(100 * pl.col("value") / pl.col("denominator")))
    else:
        frame = frame.with_columns(numerator=pl.lit(None, pl.Float64))
    mdc = mdc_alarms(frame.filter(pl.col("value").is_not_null()), seasonal, worse, spc)
    flagged = [{"series": r["series"], "period": r["period"], "detector": "mdc", "signal": r["signal"]}
               for r in mdc.iter_rows(named=True)]
    flagged += early_alarms(frame, kind, seasonal, worse, early)
    order = {"mdc": 0, "early_warning": 1}
    return sorted(flagged, key=lambda r: (r["series"], r["period"], order[r["detector"]]))


def series_kind(indicator) -> glm.Kind | None:
    """What the early warning models an indicator as: counts, percentages on numerator and denominator, or
    None (rates per 10,000 and averages are not covered)."""
    if indicator.unit == "count":
        return "count"
    if indicator.unit == "percent" and indicator.derived is not None and indicator.derived.denominator != "population":
        return "percentage"
    return None


def worse_of(polarity: str) -> str | None:
    return {"up_is_bad": "higher", "down_is_bad": "lower"}.get(polarity)


def backtest(catalogue, values: pl.DataFrame, spc: SpcSettings, early: ew.EarlySettings,
             rebases: pl.DataFrame | None = None, indicator: str | None = None, totals_only: bool = True) -> list[dict]:
    """Replay the partnership's stored history month by month: when each detector would have flagged a concern.

    `values` are indicator_value rows (indicator, breakdown, period, value,
    numerator, denominator).  Neutral indicators and those the early warning
    does not cover are left out; the early warning restarts at each recorded
    re-base (MDC here charts the whole series).
    """
    rows = values.filter(pl.col("value").is_not_null())
    if indicator is not None:
        rows = rows.filter(pl.col("indicator") == indicator)
    if totals_only:
        rows = rows.filter(pl.col("breakdown") == "")
    out: list[dict] = []
    for (ind_id,), own in rows.group_by(["indicator"], maintain_order=True):
        ind = catalogue.indicator_by_id[ind_id]
        kind, worse = series_kind(ind), worse_of(ind.polarity)
        if kind is None or worse is None:
            continue
        for (breakdown,), series in own.group_by(["breakdown"], maintain_order=True):
            name = f"{ind_id}|{breakdown}" if breakdown else ind_id
            frame = series.select(series=pl.lit(name), period="period", value="value",
                                  numerator="numerator", denominator="denominator").sort("period")
            mdc = mdc_alarms(frame, ind.seasonal, worse, spc)
            out += [{"series": name, "period": r["period"], "detector": "mdc", "signal": r["signal"]}
                    for r in mdc.iter_rows(named=True)]
            moved = [] if rebases is None else rebases.filter(
                pl.col("indicator") == ind_id, pl.col("breakdown") == breakdown)["period"].to_list()
            judged, _ = run_series(complete_months(frame), kind, ind.seasonal, 1 if worse == "higher" else -1,
                                   early, moved, key=f"{ind_id}|{breakdown}")
            before = None
            for j in judged:
                if j.flag == "concern":
                    out.append(alarm_row(name, j, kind, new=before != "concern"))
                before = j.flag
    order = {"mdc": 0, "early_warning": 1}
    return sorted(out, key=lambda r: (r["series"], r["period"], order[r["detector"]]))
