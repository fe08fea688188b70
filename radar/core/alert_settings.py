"""Alert-rule and SPC settings (radar/core/alerts.yaml) as strict typed models.

Thresholds are data, not code, so a partnership can make Radar more or less
sensitive without a release.  `extra="forbid"` and the absence of defaults
make the YAML file the one place these numbers live: a misspelt key or an
out-of-range threshold is an error when the file is parsed, never a silently
different alert.  Severities are the exception: each rule declares its own
default (pipelines/alerts/), and the file only overrides some.

Parsing takes the file's text, not a path, so this module stays free of I/O;
whoever loads the configuration reads ALERTS_FILE and calls
`parse_alert_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from radar.core.alert_vocabulary import Severity

ALERTS_FILE = Path(__file__).with_name("alerts.yaml")


@dataclass(frozen=True)
class SpcSettings:
    """Choices a board may make about its charts; the defaults are MDC's."""

    run_length: int = 7  # N for trend and shift (some boards use 6)
    min_points: int = 12  # fewer points: series labelled "too_short", no limits, no signals
    # exclude moving ranges above 3.267 x mean moving range before recomputing the mean MR
    screen_moving_ranges: bool = False
    baseline_points: int | None = None  # fix mean and limits on the first N points of each segment

    def __post_init__(self) -> None:
        if self.run_length < 2:
            raise ValueError("run_length must be at least 2: a run of one point is every point")
        if self.min_points < 2:
            raise ValueError("min_points must be at least 2: limits need a moving range")
        if self.baseline_points is not None and self.baseline_points < 2:
            raise ValueError("baseline_points must be at least 2: limits need a moving range")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SpcRules(Strict):
    run_length: int = Field(ge=2)
    min_points: int = Field(ge=2)
    alert_on_breakdowns: bool  # False: only totals alert; breakdown charts are shown, not alerted
    screen_moving_ranges: bool  # True: unusually large moving ranges do not widen the limits
    baseline_points: int | None = Field(ge=2)  # fix each segment's mean and limits on its first N points


class BenchmarkGap(Strict):
    margin: float = Field(ge=0, lt=1)  # relative: 0.10 = worse by more than 10% of the comparator


class SettingConcentration(Strict):
    window_months: int = Field(ge=1)
    min_referrals: int = Field(ge=1)
    max_probability: float = Field(gt=0, lt=1)


class RepeatMissing(Strict):
    window_days: int = Field(ge=1)
    min_episodes: int = Field(ge=2)


class SmallNumbers(Strict):
    # An alert resting on fewer children than this says "based on N children" and is never rated high.
    min_children: int = Field(ge=1)


class EarlyWarning(Strict):
    # Alarm episodes per series-year the early warning may raise on a stable series (its threshold is set
    # per series, by simulation from the series' own model, to meet this); 0.07 is about MDC's own rate.
    false_alarms_per_year: float = Field(gt=0, lt=12)
    min_months: int = Field(ge=6)  # observed months before the first model is fitted
    smoothing: float = Field(gt=0, le=1)  # the EWMA's weight on the latest month (lambda)


class AlertSettings(Strict):
    # Overrides of the rules' default severities (rule id -> severity).  The rule ids are
    # checked against the alert-rule registry (radar.pipelines.alerts.registry.check_settings)
    # when the cycle runs: radar.core cannot import the rules, so it cannot check them here.
    severity: dict[str, Severity] = Field(default_factory=dict)
    spc: SpcRules
    benchmark_gap: BenchmarkGap
    setting_concentration: SettingConcentration
    repeat_missing: RepeatMissing
    small_numbers: SmallNumbers
    early_warning: EarlyWarning

    def spc_settings(self) -> SpcSettings:
        """The XmR settings alerts are computed with (the flow passes the same to `xmr`)."""
        spc = self.spc
        return SpcSettings(run_length=spc.run_length, min_points=spc.min_points,
                           screen_moving_ranges=spc.screen_moving_ranges, baseline_points=spc.baseline_points)


def parse_alert_settings(text: str) -> AlertSettings:
    """Validate the YAML text of radar/core/alerts.yaml."""
    return AlertSettings.model_validate(yaml.safe_load(text))
