"""The strategic threat assessment's configuration: the themes, their indicators and weights, and the Board dates.

A partnership's TOML names a themes file in its `[threat_assessment]`
section (`bromley_threats.yaml`) and lists the dates its Board met.  Each
theme (exploitation and missing, domestic abuse, neglect, ...) carries the
partnership's judgement of how bad the harm would be and how likely it is
before any data is looked at (MoRiLE's harm and likelihood), and the
indicators that evidence it, each with a weight.  The data then moves the
likelihood (radar.pipelines.threats); the judgement stays in this file,
where the Board can read and change it without a code change.

A theme is one *subject* of the assessment, and its id names it.  A
theme lists the register risks about its subject (`risks: [R13]`, declared
here and nowhere else), and a risk in the register file may say what it is
about (`subject: domestic_abuse`); a theme that lists a risk whose subject is
another theme, or that no theme may share, is refused when the file is loaded,
with the theme and the risk named.  A register risk no theme lists is a
threat of its own (radar.pipelines.threats), so each subject is ranked once.

The file is read into strict pydantic models and a problem is named by line
and field, as for the register's files (radar.core.register.load_yaml).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radar.core.catalogue import Catalogue
from radar.core.config import Context
from radar.core.register import RiskSpec, load_yaml


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
    risks: list[str] = []  # the register risks about this theme's subject: one threat with it, never two


class ThreatConfig(Strict):
    themes: list[Theme] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> ThreatConfig:
        ids = [t.id for t in self.themes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"theme ids must be unique: {sorted(i for i in set(ids) if ids.count(i) > 1)}")
        return self

    def problems(self, catalogue: Catalogue, subgroups: set[str], register: Sequence[RiskSpec] = ()) -> list[str]:
        """Indicators the catalogue does not have, subgroups the partnership does not have and register risks
        linked to the wrong subject (`register`: the register file's risks), all at once."""
        known = {i.id for i in catalogue.indicators}
        found = []
        for theme in self.themes:
            unknown = [i.indicator for i in theme.indicators if i.indicator not in known]
            if unknown:
                found.append(f"theme {theme.id}: {', '.join(unknown)} not in the catalogue (radar catalog --json)")
            if theme.subgroup not in subgroups:
                found.append(f"theme {theme.id}: subgroup {theme.subgroup!r} is not one of {', '.join(sorted(subgroups))}")
        return found + self.link_problems(register)

    def link_problems(self, register: Sequence[RiskSpec]) -> list[str]:
        """Each risk belongs to one subject: a theme may list only risks whose `subject` is that theme, a risk
        only one theme, and a risk's subject must be a theme that lists it.  A risk the register file does not
        have (added later with `radar risks add`) is checked for being listed twice only."""
        subject = {r.id: r.subject for r in register}
        themes = {t.id for t in self.themes}
        listed: dict[str, list[str]] = {}
        found = []
        for theme in self.themes:
            for risk in theme.risks:
                listed.setdefault(risk, []).append(theme.id)
                if risk in subject and subject[risk] != theme.id:
                    about = f"whose subject is {subject[risk]}" if subject[risk] else "which names no subject"
                    found.append(f"theme {theme.id} lists risk {risk}, {about}: list it under its own theme, "
                                 f"or give it subject: {theme.id} in the register file if that is what it is about")
        found += [f"risk {risk} is listed by themes {' and '.join(by)}: a risk belongs to one subject"
                  for risk, by in sorted(listed.items()) if len(by) > 1]
        for risk, about in sorted(subject.items()):
            if about is not None and about not in themes:
                found.append(f"risk {risk}: subject {about!r} is not a theme ({', '.join(sorted(themes))})")
            elif about is not None and about not in listed.get(risk, []):
                found.append(f"risk {risk}: its subject is {about}, but theme {about} does not list it under risks")
        return found


def load_threats(path: Path, catalogue: Catalogue, subgroups: set[str],
                 register: Sequence[RiskSpec] = ()) -> ThreatConfig:
    """The themes file, checked against the catalogue, the partnership's subgroups and the register file's risks."""
    config = load_yaml(path, ThreatConfig)
    problems = config.problems(catalogue, subgroups, register)
    if problems:
        raise ValueError(f"{path}: " + "; ".join(problems))
    return config


def configured_themes(ctx: Context) -> list[Theme]:
    """The partnership's themes (none when it has no [threat_assessment]); shared by the CLI, the Board pack and
    the dashboard, which may not import one another."""
    ta = ctx.config.threat_assessment
    if ta is None:
        return []
    register = ctx.register.risks if ctx.register is not None else []  # the run's parse of the register file
    return load_threats(ctx.config.resolve_path(ta.themes), ctx.catalogue, set(ctx.config.subgroups), register).themes
