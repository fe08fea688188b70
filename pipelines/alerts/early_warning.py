"""The `early_warning` alert rule, and the detector's monthly step over a partnership's series.

`series_states` moves every covered series' detector on to the cycle month
(pipelines/early_warning.py): from the last cycle's stored state when only
later months changed, else by replaying the series' history.  It returns one
row per series, which the cycle stores (`early_warning` table) and the rule,
the indicator page, `radar indicators --json` and the threat assessment read.

`early_warning_signals` turns the rows flagged at the cycle month into
candidate alerts (a concern) or positive signals (an improvement: shown,
never alerted), with the same lifecycle, routing and hold-back as the SPC
rules: totals only unless `spc.alert_on_breakdowns`, the indicator's
subgroup, the indicator's feed (so a late file holds it back).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from radar.core import periods
from radar.core.alert_settings import AlertSettings
from radar.core.catalogue import Catalogue
from radar.pipelines import early_warning as ew
from radar.pipelines import messages
from radar.pipelines.alerts.rule import Reads, Rule, candidate_frame, children_based_on
from radar.pipelines.signal_replay import complete_months, run_series, series_kind, worse_of

KEYS = ["indicator", "breakdown"]
STATE_SCHEMA = {
    "indicator": pl.String, "breakdown": pl.String, "period": pl.String, "value": pl.Float64,
    "expected": pl.Float64, "ewma": pl.Float64, "threshold": pl.Float64, "flag": pl.String, "since": pl.String,
    "observed_since": pl.Float64, "expected_since": pl.Float64, "return_years": pl.Float64,
    "min_detectable_change": pl.Float64, "promise": pl.String, "statement": pl.String, "months": pl.Int64,
    "state": pl.String,
}

EARLY_WARNING = Rule(
    "early_warning",
    "{excess_words} since {month} ({observed} against about {expected}); {chance}.",
    "medium", "a total series has run above (or below) the value its own history leads Radar to expect, on the "
    "worse side, by more than its calibrated early-warning threshold (an EWMA of the monthly excess), or a "
    "single month has passed its calibrated single-month limit",
    Reads(inputs=("early_warning", "values")),
)


def series_states(catalogue: Catalogue, values: pl.DataFrame, stored: Mapping[tuple[str, str], dict],
                  rebases: pl.DataFrame | None, period: str, recomputed: list[str] | None,
                  settings: ew.EarlySettings, breakdowns: bool = False) -> pl.DataFrame:
    """Every covered series' detector at `period` (STATE_SCHEMA), continuing from `stored` states (key ->
    State.as_dict()) where the months recomputed this cycle (`recomputed`; None: all) all come after it.

    Totals only unless `breakdowns` (the cycle passes `spc.alert_on_breakdowns`): like the SPC rules, the
    early warning alerts on totals, and ~80 breakdown series would cost a model each for no alert."""
    rows = []
    first_recomputed = min(recomputed) if recomputed else None
    watched = values.filter(pl.col("period") <= period)
    if not breakdowns:
        watched = watched.filter(pl.col("breakdown") == "")
    for (indicator_id, breakdown), series in watched.group_by(KEYS, maintain_order=True):
        indicator = catalogue.indicator_by_id.get(indicator_id)
        if indicator is None:
            continue
        kind, worse = series_kind(indicator), worse_of(indicator.polarity)
        if kind is None or worse is None:
            continue
        frame = series.select(series=pl.lit(indicator_id), period="period", value="value",
                              numerator="numerator", denominator="denominator").sort("period")
        frame = frame.filter(pl.col("value").is_not_null())
        if frame.is_empty():
            continue
        moved = [] if rebases is None or rebases.is_empty() else rebases.filter(
            pl.col("indicator") == indicator_id, pl.col("breakdown") == breakdown)["period"].to_list()
        state = None
        previous = stored.get((indicator_id, breakdown))
        if previous is not None and recomputed is not None:
            candidate = ew.State.from_dict(previous)
            later = candidate.last_period is not None and (first_recomputed is None
                                                           or first_recomputed > candidate.last_period)
            no_new_rebase = all(r <= (candidate.segment_start or "") for r in moved)
            if later and no_new_rebase:
                state = candidate
        sign = 1 if worse == "higher" else -1
        judged, state = run_series(complete_months(frame), kind, indicator.seasonal, sign, settings, moved,
                                   key=f"{indicator_id}|{breakdown}", state=state, detectable=True)
        latest = judged[-1] if judged else None
        observed = int(frame.filter(pl.col("period") >= (state.segment_start or "")).height)
        said = ew.promise(state.model, observed, settings, sign)
        rows.append({
            "indicator": indicator_id, "breakdown": breakdown, "period": state.last_period,
            "value": None if latest is None else latest.value,
            "expected": None if latest is None else latest.expected,
            "ewma": None if latest is None or latest.ewma is None else state.ewma,
            "threshold": None if state.model is None else state.model.threshold,
            "flag": None if latest is None else latest.flag, "since": None if latest is None else latest.since,
            "observed_since": None if latest is None else latest.observed_sum,
            "expected_since": None if latest is None else latest.expected_sum,
            "return_years": None if latest is None else latest.return_years,
            "min_detectable_change": said["min_detectable_change"], "promise": said["promise"],
            "statement": said["statement"], "months": observed, "state": json.dumps(state.as_dict()),
        })
    return pl.DataFrame(rows, schema=STATE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=STATE_SCHEMA)


def detection_statement(indicator, row: dict | None, breakdown: str = "") -> dict:
    """What the early warning can promise for a series, for the indicator page and `radar indicators --json`:
    `min_detectable_change` (a share: 0.35 is 35%), `promise` (ok, too_short, too_small, not_covered,
    not_assessed) and `statement`, from the series' stored row (None if it has none)."""
    if row is not None:
        return {k: row[k] for k in ("min_detectable_change", "promise", "statement")}
    if breakdown:
        return {"min_detectable_change": None, "promise": "not_covered",
                "statement": "Not covered: the early warning watches totals; this breakdown is watched by its chart."}
    if series_kind(indicator) is None:
        words = "Not covered: the early warning models counts and percentages; this indicator is watched by its chart."
        return {"min_detectable_change": None, "promise": "not_covered", "statement": words}
    if worse_of(indicator.polarity) is None:
        words = "Not covered: neither direction is a concern for this indicator, so only its chart watches it."
        return {"min_detectable_change": None, "promise": "not_covered", "statement": words}
    return {"min_detectable_change": None, "promise": "not_assessed",
            "statement": "Not assessed yet: the monthly cycle works out what the early warning can detect."}


def _noun(name: str) -> str:
    """"LADO referrals" stays; "Children on a plan" -> "children on a plan" (a lone capital starts a sentence)."""
    return name[0].lower() + name[1:] if len(name) > 1 and name[1].islower() else name


def chance_words(years: float | None, gap: str = "excess") -> str:
    """"an excess (or a shortfall) this large happens by chance about once in 10 years"."""
    if years is None or years >= 100:
        return f"{gap} this large happens by chance less than once in 100 years"
    shown = round(years) if years < 20 else int(round(years, -1))
    return f"{gap} this large happens by chance about once in {shown} years"


def early_warning_signals(states: pl.DataFrame | None, catalogue: Catalogue, period: str, scope: str,
                          settings: AlertSettings, values: pl.DataFrame | None = None
                          ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(concerns, improvements) from the series' detector states at the cycle month."""
    if states is None or states.is_empty():
        return candidate_frame([]), candidate_frame([])
    firing = states.filter(
        pl.col("period") == period, pl.col("flag").is_in(["concern", "improvement"]),
        pl.lit(settings.spc.alert_on_breakdowns) | (pl.col("breakdown") == ""),
    )
    concerns, improvements = [], []
    for row in firing.iter_rows(named=True):
        indicator = catalogue.indicator_by_id[row["indicator"]]
        reported = None
        if values is not None:
            own = values.filter(pl.col("indicator") == row["indicator"], pl.col("breakdown") == row["breakdown"],
                                pl.col("period") == period)
            reported = own.row(0, named=True) if own.height else None
        unit = indicator.unit
        observed, expected = row["observed_since"], row["expected_since"]
        time_of_year = " for the time of year" if indicator.seasonal else ""
        name = messages.series_name(indicator.name, row["breakdown"])
        if unit == "count":
            gap = observed - expected
            more = "more" if gap >= 0 else "fewer"
            excess_words = f"{abs(gap):,.0f} {more} {_noun(name)} than expected{time_of_year}"
            shown_obs, shown_exp = f"{observed:,.0f}", f"{expected:,.0f}"
        else:
            gap = observed - expected
            higher = "higher" if gap >= 0 else "lower"
            excess_words = f"{name} ran {abs(gap):.1f} percentage points {higher} than expected{time_of_year}"
            shown_obs, shown_exp = messages.number(observed, unit), messages.number(expected, unit)
        rule = EARLY_WARNING
        side = 1 if row["flag"] == "concern" else -1
        worse = 1 if worse_of(indicator.polarity) == "higher" else -1
        # which check fired (ew.Model.check): the EWMA past its threshold on the flag's side, else the single month
        check = "ewma" if side * worse * (row["ewma"] or 0.0) > row["threshold"] else "single_month"
        common = {
            "indicator": indicator.id, "breakdown": row["breakdown"], "feed": indicator.feed, "scope": scope,
            "period": period, "subgroup": indicator.subgroup, "settings": settings, "since": row["since"],
            "based_on": children_based_on(indicator, reported, catalogue),
            "evidence": {"detector": "early_warning", "check": check, "value": row["value"], "expected": row["expected"],
                         "observed_since": observed, "expected_since": expected, "ewma": row["ewma"],
                         "threshold": row["threshold"], "return_years": row["return_years"], "since": row["since"]},
            "excess_words": excess_words, "month": periods.label(row["since"]), "observed": shown_obs,
            "expected": shown_exp,
            "chance": chance_words(row["return_years"], "an excess" if gap >= 0 else "a shortfall"),
        }
        if row["flag"] == "concern":
            concerns.append(rule.candidate(**common))
        else:
            improvements.append(replace(rule, id="improvement_early_warning").candidate(alerting=False, **common))
    return candidate_frame(concerns), candidate_frame(improvements)
