"""Alert-rule settings (radar/alerts.yaml) as strict typed models.

Thresholds are data, not code, so a partnership can make Radar more or less
sensitive without a release.  `extra="forbid"` and the absence of defaults
make the YAML file the one place these numbers live: a misspelt key, a
missing rule or an out-of-range threshold is an error when the file is
parsed, never a silently different alert.

Parsing takes the file's text, not a path, so this module stays free of I/O;
whoever loads the configuration reads ALERTS_FILE and calls
`parse_alert_settings`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from pipelines.spc import SpcSettings

ALERTS_FILE = Path(__file__).resolve().parents[1] / "radar" / "alerts.yaml"

Severity = Literal["high", "medium", "low"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Severities(Strict):
    """The severity of every alert rule; each rule must be listed."""

    spc_outside_limits: Severity
    spc_trend: Severity
    spc_two_of_three: Severity
    spc_shift: Severity
    target_missed: Severity
    benchmark_gap: Severity
    feed_late: Severity
    feed_rejected: Severity
    setting_concentration: Severity
    repeat_missing: Severity

    def of(self, rule: str) -> Severity:
        return getattr(self, rule)


class SpcRules(Strict):
    run_length: int = Field(ge=2)
    min_points: int = Field(ge=2)
    alert_on_breakdowns: bool  # False: only totals alert; breakdown charts are shown, not alerted


class BenchmarkGap(Strict):
    margin: float = Field(ge=0, lt=1)  # relative: 0.10 = worse by more than 10% of the comparator


class SettingConcentration(Strict):
    window_months: int = Field(ge=1)
    min_referrals: int = Field(ge=1)
    max_probability: float = Field(gt=0, lt=1)


class RepeatMissing(Strict):
    window_days: int = Field(ge=1)
    min_episodes: int = Field(ge=2)


class AlertSettings(Strict):
    severity: Severities
    spc: SpcRules
    benchmark_gap: BenchmarkGap
    setting_concentration: SettingConcentration
    repeat_missing: RepeatMissing

    def spc_settings(self) -> SpcSettings:
        """The XmR settings alerts are computed with (the flow passes the same to `xmr`)."""
        return SpcSettings(run_length=self.spc.run_length, min_points=self.spc.min_points)


def parse_alert_settings(text: str) -> AlertSettings:
    """Validate the YAML text of radar/alerts.yaml."""
    return AlertSettings.model_validate(yaml.safe_load(text))
