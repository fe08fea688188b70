"""The strategic threat assessment's configuration: the themes, their indicators and weights, and the Board dates.

A partnership's TOML names a themes file in its `[threat_assessment]`
section (`bromley_threats.yaml`) and lists the dates its Board met.  Each
theme (exploitation and missing, domestic abuse, neglect, ...) carries the
partnership's judgement of how bad the harm would be and how likely it is
before any data is looked at (MoRiLE's harm and likelihood), and the
indicators that evidence it, each with a weight.  The data then moves the
likelihood (radar.pipelines.threats); the judgement stays in this file,
where the Board can read and change it without a code change.

The file is read into strict pydantic models and a problem is named by line
and field, as for the register's files (radar.core.register.load_yaml).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radar.core.catalogue import Catalogue
from radar.core.config import Context
from radar.core.register import load_yaml


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThemeIndicator(Strict):
    indicator: str
    weight: float = Field(1.0, gt=0, le=10)  # how much this indicator's signals count within the theme


class Theme(Strict):
    id: str = Field(pattern=r"^[a-z][a-z_]*$")
    title: str
    harm: int = Field(ge=1, le=5)  # how serious the harm to children would be, 1 (minor) to 5 (death or lasting)
    harm_reason: str  # why, in a sentence the Board can challenge
    likelihood: int = Field(ge=1, le=5)  # the partnership's judgement before the data moves it
    subgroup: str
    indicators: list[ThemeIndicator] = Field(min_length=1)


class ThreatConfig(Strict):
    themes: list[Theme] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ThreatConfig:
        ids = [t.id for t in self.themes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"theme ids must be unique: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
        return self

    def problems(self, catalogue: Catalogue, subgroups: set[str]) -> list[str]:
        """Indicators the catalogue does not have and subgroups the partnership does not have, all at once."""
        known = {i.id for i in catalogue.indicators}
        found = []
        for theme in self.themes:
            unknown = [i.indicator for i in theme.indicators if i.indicator not in known]
            if unknown:
                found.append(f"theme {theme.id}: {', '.join(unknown)} not in the catalogue (radar catalog --json)")
            if theme.subgroup not in subgroups:
                found.append(f"theme {theme.id}: subgroup {theme.subgroup!r} is not one of {', '.join(sorted(subgroups))}")
        return found


def load_threats(path: Path, catalogue: Catalogue, subgroups: set[str]) -> ThreatConfig:
    """The themes file, checked against the catalogue and the partnership's subgroups."""
    config = load_yaml(path, ThreatConfig)
    problems = config.problems(catalogue, subgroups)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return config


def configured_themes(ctx: Context) -> list[Theme]:
    """The partnership's themes (none when it has no [threat_assessment]); shared by the CLI, the Board pack and
    the dashboard, which may not import one another."""
    ta = ctx.config.threat_assessment
    if ta is None:
        return []
    return load_threats(ctx.config.resolve_path(ta.themes), ctx.catalogue, set(ctx.config.subgroups)).themes
