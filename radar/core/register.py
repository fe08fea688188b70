"""The risk register's configuration and seed files: the scoring matrix, and the risks and Impact Log a store starts from.

A partnership's TOML names three YAML files in its `[risk_register]` section:

- the matrix (`bromley_risk_matrix.yaml`): each likelihood and impact level
  with a plain-English definition, score bands with their review cadence,
  risk appetite per category and the people who may own a risk;
- the risks the register starts from (`bromley_risks.yaml`);
- the Impact Log it starts from (`bromley_impact_log.yaml`).

They are read into strict pydantic models (`extra="forbid"`) like the
catalogue.  A malformed file is refused with the file, line and field named
(`load_yaml`), because the person fixing it is editing a text file, not
reading a traceback.  The matrix arithmetic (score, band, next review,
appetite) lives on `Matrix` because it *is* the configuration: the store uses
it when it seeds a register, the pipelines when they judge an edit.

A run reads each file once (`RegisterFiles`, kept on the partnership context as
`ctx.register`): every register read, the threat assessment and the Board pack
share the one parsed matrix, and the seed files are read only by the cycle's
seeding and the themes' cross-check.
"""

from __future__ import annotations

import datetime as dt
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from radar.core import periods

# The register's and the Impact Log's statuses as people read them, on screen and in the Board pack alike.
STATUS_NAMES = {"open": "Open", "treated": "Treated", "accepted": "Accepted", "closed": "Closed",
                "in_progress": "In progress", "complete": "Complete", "done": "Done", "dropped": "Dropped",
                "proposed": "Proposed", "rejected": "Rejected", "changed": "Changed"}

Category = Literal["strategic", "operational"]
Priority = Literal["local_safeguarding_context", "early_help", "leadership_and_partnership"]
Confidence = Literal["high", "medium", "low"]
RiskStatus = Literal["open", "treated", "accepted", "closed"]
ActionStatus = Literal["open", "done", "dropped"]
ImpactStatus = Literal["open", "in_progress", "complete"]
PRIORITY_NAMES: dict[str, str] = {
    "local_safeguarding_context": "The local safeguarding context",
    "early_help": "Early help and early intervention",
    "leadership_and_partnership": "Strong leadership and strong partnership",
}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Level(Strict):
    value: int = Field(ge=1)
    name: str
    definition: str  # what the level means, in words a Board member can apply


class Band(Strict):
    """Scores from `min_score` up (to the next band) share a name and a review cadence."""

    name: str
    min_score: int = Field(ge=1)
    review_months: int = Field(ge=1, le=24)


class Matrix(Strict):
    """The likelihood x impact matrix, its bands, the appetite per category and the named owners."""

    likelihood: list[Level] = Field(min_length=2)
    impact: list[Level] = Field(min_length=2)
    bands: list[Band] = Field(min_length=1)
    appetite: dict[Category, int]  # the highest current score the partnership accepts in each category
    owners: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Matrix:
        for axis in ("likelihood", "impact"):
            values = [level.value for level in getattr(self, axis)]
            if values != list(range(1, len(values) + 1)):
                raise ValueError(f"{axis} levels must be numbered 1, 2, 3, ... in order, not {values}")
        starts = [band.min_score for band in self.bands]
        if starts[0] != 1 or starts != sorted(set(starts)):
            raise ValueError(f"bands must start at score 1 and rise, not {starts}")
        if set(self.appetite) != {"strategic", "operational"}:
            raise ValueError("appetite must be given for both strategic and operational risks")
        return self

    @property
    def size(self) -> tuple[int, int]:
        return len(self.likelihood), len(self.impact)

    def score_problem(self, likelihood: int, impact: int) -> str | None:
        """Why a (likelihood, impact) pair is not on this matrix, or None when it is."""
        top_l, top_i = self.size
        if not 1 <= likelihood <= top_l or not 1 <= impact <= top_i:
            return (f"a likelihood must be 1 to {top_l} and an impact 1 to {top_i} on this matrix; "
                    f"{likelihood} x {impact} is not")
        return None

    def band(self, score: int) -> Band:
        return [b for b in self.bands if b.min_score <= score][-1]

    def out_of_appetite(self, category: str, score: int) -> bool:
        return score > self.appetite[category]

    def next_review(self, score: int, reviewed_on: date) -> date:
        """The band's cadence after `reviewed_on` (same day of the month, or the month's last day)."""
        last = periods.last_day(periods.shift(periods.of_date(reviewed_on), self.band(score).review_months))
        return last if reviewed_on.day > last.day else last.replace(day=reviewed_on.day)

    def criteria(self) -> dict[str, Any]:
        """The scoring criteria in force, stored with each assessment so old scores stay comparable."""
        return self.model_dump(exclude={"owners"})


class Score(Strict):
    likelihood: int
    impact: int


class Control(Strict):
    description: str
    effectiveness: Literal["effective", "partly_effective", "ineffective"]


class Action(Strict):
    description: str
    owner: str = Field(min_length=1)
    due: date
    status: ActionStatus = "open"


class RiskSpec(Strict):
    """One risk as a file gives it (the seed, or `radar risks add --file`)."""

    id: str = Field(pattern=r"^R[0-9]{2,3}$")
    title: str
    cause: str
    event: str
    consequence: str
    category: Category
    priority: Priority
    subgroup: str
    owner: str
    inherent: Score
    current: Score
    target: Score
    confidence: Confidence
    confidence_reason: str
    status: RiskStatus = "open"
    approver: str | None = None  # who accepted the risk (status accepted)
    expiry: date | None = None  # until when the acceptance stands
    next_review: date | None = None  # None: the band's cadence from the day it is loaded
    linked_indicators: list[str] = []
    controls: list[Control] = []
    actions: list[Action] = []
    # what the risk is about: the id of a threat-assessment theme that lists it (radar.core.threats checks the
    # two agree when the themes are loaded); None: a subject of its own.  Read from the register file only.
    subject: str | None = Field(None, pattern=r"^[a-z][a-z_]*$")


class RiskFile(Strict):
    risks: list[RiskSpec]


class ImpactEntrySpec(Strict):
    """One "BSCP Challenge -> Action" pair of the Impact Log and the evidence of its impact."""

    id: str = Field(pattern=r"^IL[0-9]{2,3}$")
    date: dt.date
    subgroup: str
    challenge: str
    action: str
    owner: str
    status: ImpactStatus = "open"
    evidence: str = ""


class ImpactFile(Strict):
    entries: list[ImpactEntrySpec]


class FileProblem(ValueError):
    """A register file that cannot be used, with where and what to fix."""


M = TypeVar("M", bound=BaseModel)


def _node_at(node: yaml.Node, loc: tuple) -> yaml.Node:
    """The deepest YAML node a pydantic error location reaches (its line is what a person needs)."""
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = [v for k, v in node.value if k.value == part]
            if not match:
                match = [k for k, _ in node.value if k.value == part]
                return match[0] if match else node
            node = match[0]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def parse_yaml(text: str, model: type[M], name: str) -> M:
    """Validate YAML text into `model`, naming the line and field of every problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise FileProblem(f"{name}{where}: this is not valid YAML ({getattr(error, 'problem', error)})") from None
    if root is None:
        raise FileProblem(f"{name}: the file is empty")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        lines = []
        for problem in error.errors():
            field = ".".join(str(p) for p in problem["loc"]) or "(top level)"
            line = _node_at(root, problem["loc"]).start_mark.line + 1
            lines.append(f"{name} line {line}, field {field}: {problem['msg']}")
        raise FileProblem("\n".join(lines)) from None


def load_yaml(path: Path, model: type[M]) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise FileProblem(f"{path}: cannot be read ({error.strerror})") from None
    return parse_yaml(text, model, str(path))


class RegisterFiles:
    """A partnership's three register files, each parsed the first time it is asked for and then kept.

    One per partnership context (`Context.register`), so one run parses the
    matrix once however many reads, assessments and packs it makes, and a
    seed file that is only needed to seed a new store is not read at all when
    nothing seeds.
    """

    def __init__(self, matrix: Path, risks: Path, impact_log: Path) -> None:
        self.paths = {"matrix": matrix, "risks": risks, "impact_log": impact_log}

    @cached_property
    def matrix(self) -> Matrix:
        return load_yaml(self.paths["matrix"], Matrix)

    @cached_property
    def risks(self) -> list[RiskSpec]:
        return load_yaml(self.paths["risks"], RiskFile).risks

    @cached_property
    def impact_log(self) -> list[ImpactEntrySpec]:
        return load_yaml(self.paths["impact_log"], ImpactFile).entries
