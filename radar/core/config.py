"""Partnership configuration and runtime settings.

A partnership is one TOML file (radar/core/partnerships/bromley.toml is the default);
a second partnership is a second file, never a code change.  The file is loaded
into strict pydantic models so that a misspelt key fails loudly.  Runtime
settings (where state lives, which database) come from the environment:

- RADAR_HOME: folder for the SQLite store, inbox, archive, quarantine and keys
  (default `.radar` in the working directory);
- RADAR_DATABASE_URL: any SQLAlchemy URL (default SQLite under RADAR_HOME);
- RADAR_CONFIG: the partnership file to use.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from datetime import date
from email.errors import HeaderParseError
from email.headerregistry import Address
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from radar.core.alert_settings import ALERTS_FILE, AlertSettings, parse_alert_settings
from radar.core.alert_vocabulary import SEVERITIES, Severity
from radar.core.catalogue import Catalogue, load_catalogue
from radar.core.periods import PATTERN as PERIOD_PATTERN
from radar.core.register import RegisterFiles

DEFAULT_CONFIG = Path(__file__).with_name("partnerships") / "bromley.toml"
SHIPPED_DATA_PREFIX = "data:"  # a configured path inside the public statistics shipped with Radar (radar.data)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfigError(ValueError):
    """The partnership file is wrong; the message names the file and each field at fault."""


# One plain address: a dot-atom local part, `@`, and a domain of letters, digits and hyphens with a dot.  Stricter
# than RFC 5322 on purpose: an address here becomes a mail header and an apprise URL, where a space, comma,
# semicolon, quote, angle bracket or line break adds recipients or headers.
_DOT_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_DOT_ATOM}@{_DOMAIN}")


def address_problem(value: str) -> str | None:
    """Why `value` is not exactly one plain e-mail address (None when it is one)."""
    if any(c in value for c in "\r\n"):
        return "has a line break"
    if any(c in value for c in ",;"):
        return "holds more than one address (a comma or semicolon): give one address per field"
    if not value or len(value) > 254 or not _ADDRESS.fullmatch(value):
        return "is not a single plain address like name@example.org (no display name, spaces or quotes)"
    try:  # the standard library's own reading must agree: exactly this addr-spec, nothing left over
        parsed = Address(addr_spec=value)
    except (ValueError, HeaderParseError, IndexError):
        return "is not a valid addr-spec"
    if parsed.addr_spec != value or len(parsed.username) > 64:
        return "is not a valid addr-spec"
    return None


def _one_address(value: str) -> str:
    if (problem := address_problem(value)) is not None:
        raise ValueError(f"{value!r} {problem}")
    return value


EmailAddress = Annotated[str, AfterValidator(_one_address)]


class Partnership(Strict):
    la_code: str = Field(pattern=r"^E0[6-9][0-9]{6}$")
    old_la_code: str = Field(pattern=r"^[0-9]{3}$")
    name: str
    short_name: str
    la_name: str


class Population(Strict):
    source: str


class Benchmarks(Strict):
    """Where the published national statistics and statistical-neighbour groupings are."""

    folder: str
    neighbours: str


class Storage(Strict):
    """What a delivered file may be: limits that keep one hostile or mistaken file from harming the rest."""

    quarantine_retention_days: int = Field(30, ge=1)
    max_file_mb: int = Field(150, ge=1)
    max_unpacked_mb: int = Field(500, ge=1)  # an .xlsx's parts once unzipped (a zip bomb is 1 MB packed)
    max_cells: int = Field(10_000_000, ge=1)  # cells in an .xlsx's worksheets
    earliest_period: str = Field("2000-01", pattern=PERIOD_PATTERN)  # first month a file name may carry
    months_ahead: int = Field(1, ge=0)  # how far past the current month a file name may go


class Pseudonymisation(Strict):
    key_env: str = "RADAR_PSEUDONYM_KEY"


class Agency(Strict):
    name: str
    contact: EmailAddress  # the data lead


class FeedSettings(Strict):
    due_day: int = Field(ge=1, le=28)


class Source(Strict):
    """Where `pull-feeds` fetches a feed's files from (flows/pull.py): any fsspec URL, e.g. a folder
    (`file:///srv/drop/police`), `sftp://host/outbox`, `s3://bucket/prefix` or `https://host/returns/`.

    Secrets never sit in this file: `secret_env` names the environment
    variable and `secret_blocks` the Prefect Secret block that hold a storage
    option (a password, a key); `options` are the options that are not secret.
    """

    url: str
    pattern: str = "*"  # which of the listed names to fetch (fnmatch); ingest still checks each file's name
    options: dict[str, str | int | bool] = {}
    secret_env: dict[str, str] = {}
    secret_blocks: dict[str, str] = {}
    # How long one listing or download may take: a server that accepts and never answers fails the attempt
    # (then retried with back-off) instead of holding the pull for ever.
    timeout_s: float = Field(120, gt=0)


class Subgroup(Strict):
    """A subgroup's chair and (optional) deputy: both receive the subgroup's alert digest."""

    chair: str
    email: EmailAddress
    deputy: str | None = None
    deputy_email: EmailAddress | None = None


class Person(Strict):
    name: str
    email: EmailAddress


Label = Literal["rule", "indicator", "feed", "agency", "subgroup", "severity"]
RECEIVER_KINDS = ("subgroup", "agency", "owner")  # "<kind>:<id or {label}>"; also "independent_chair"


class Route(Strict):
    """One node of the alert routing tree, as in Prometheus Alertmanager.

    An alert enters the root; each child whose `match` fits it (every label
    named has one of the values listed) handles it, first match wins unless
    that child says `continue`; when no child matches, the node's own
    receiver does.  A receiver is `subgroup:<id>`, `agency:<id>` (its data
    lead), `owner:{owner}` (a risk's owner) or `independent_chair`; `{label}`
    is filled from the alert, e.g. `subgroup:{subgroup}`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    match: dict[Label, list[str]] = {}
    receiver: str | None = None  # None: the parent's
    continue_: bool = Field(False, alias="continue")
    routes: list[Route] = []


DEFAULT_ROUTE = Route(receiver="subgroup:{subgroup}", routes=[
    Route(match={"rule": ["feed_late", "feed_rejected"]}, receiver="subgroup:pci", continue_=True),
    Route(match={"rule": ["feed_late", "feed_rejected"]}, receiver="agency:{agency}"),
    Route(match={"rule": ["risk_review_overdue", "action_overdue"]}, receiver="owner:{owner}"),
])


class Channel(Strict):
    """A further apprise channel for a receiver (e.g. a Teams Power Automate workflow URL).

    The URL is a secret, so the file names where it lives -- an environment
    variable or a Prefect Secret block -- never the URL itself.
    """

    receiver: str
    url_env: str | None = None
    secret_block: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Channel:
        if (self.url_env is None) == (self.secret_block is None):
            raise ValueError("a channel names exactly one of url_env or secret_block")
        return self


class Notifications(Strict):
    """Who is told what, and when (flows/notify.py; docs/operators.md "Notifications")."""

    dashboard_url: str = "http://localhost:8501"
    repeat_after_days: int = Field(28, ge=1)  # an unacknowledged alert is repeated no sooner than this
    escalate_after_days: dict[Severity, int] = {"high": 14}
    route: Route = DEFAULT_ROUTE
    channels: list[Channel] = []
    owners: dict[str, EmailAddress] = {}  # a risk owner's role (the register's `owners`) -> their address


class Target(Strict):
    value: float
    year: str


Role = Literal["chair", "subgroup_chair", "analyst", "agency_submitter", "viewer"]


class Grant(Strict):
    """What one person or identity-provider group may do in the dashboard (radar.dashboard.auth).

    A subgroup chair acts on one subgroup's alerts and an agency submitter
    sees one agency's files, so each names it; no other role may, so that a
    grant never reads as wider or narrower than it is.
    """

    role: Role
    subgroup: str | None = None
    agency: str | None = None

    @model_validator(mode="after")
    def _scoped(self) -> Grant:
        if (self.role == "subgroup_chair") != (self.subgroup is not None):
            raise ValueError("a subgroup_chair names its subgroup, and no other role names one")
        if (self.role == "agency_submitter") != (self.agency is not None):
            raise ValueError("an agency_submitter names its agency, and no other role names one")
        return self


class Access(Strict):
    """Who sees the dashboard: people's stable ids, confirmed e-mail addresses or provider groups, to roles.

    An address counts only when the provider says it has confirmed it (the
    `verified_claim` is true): anyone can type the chair's address into an
    account somewhere.  A stable id (`subject_claim`: `sub`, or Entra ID's
    `oid`) and groups come from the provider's own records, so they need no
    such check.  Addresses are compared without regard to case.  Someone
    signed in who matches nothing sees a polite refusal and no data.
    """

    users: dict[str, Grant] = {}  # by e-mail address, once confirmed
    subjects: dict[str, Grant] = {}  # by the provider's stable id for a person
    groups: dict[str, Grant] = {}
    groups_claim: str = Field("groups", min_length=1)  # the ID-token claim listing a person's groups
    subject_claim: str = Field("sub", min_length=1)  # Entra ID: "oid", the object id shown in its portal
    verified_claim: str = Field("email_verified", min_length=1)  # Entra ID: "xms_edov", an optional claim

    def grants(self) -> list[Grant]:
        return [*self.users.values(), *self.subjects.values(), *self.groups.values()]


class Register(Strict):
    """The risk register's files (radar.core.register): the scoring matrix, and the risks and Impact Log
    a new store starts from; later edits live in the store."""

    matrix: str
    risks: str
    impact_log: str


class ThreatAssessment(Strict):
    """The strategic threat assessment: its themes file (radar.core.threats) and the dates the Board met,
    so that every threat can say what changed since the last Board."""

    themes: str
    board_dates: list[date] = []


class Disclosure(Strict):
    """Publication's disclosure control (radar.pipelines.disclosure): a count of children from 1 to
    `threshold` is shown as c, and so is every figure from which one could be worked out or that rests on
    one (a rate, percentage, average, chart point or sentence)."""

    threshold: int = Field(5, ge=1)


class Service(Strict):
    """When `radar serve` (or a Prefect worker) runs the flows by itself, in the partnership's time zone.

    `cycle_after_s` is the quiet time after the last accepted file before the
    cycle runs, so a burst of files gives one cycle; `stable_s` how long a file
    in the inbox must keep its size before it counts as delivered (not a copy
    still being written).
    """

    timezone: str = "Europe/London"
    cycle_cron: str = "0 6 21 * *"  # after the last due day (Bromley's is the 20th)
    chase_cron: str = "0 8 * * 1-5"  # weekday mornings: reminders before and after the due day
    pull_cron: str = "*/15 * * * *"  # how often the feeds' sources (`[sources]`) are polled
    # The quarterly Board pack: the day after the cycle for a quarter's last month (December, March, June, September)
    board_pack_cron: str = "0 7 22 1,4,7,10 *"
    cycle_after_s: int = Field(10, ge=10)  # Prefect's proactive triggers need at least 10 seconds
    stable_s: float = Field(2.0, gt=0)


class PartnershipConfig(Strict):
    source: Path | None = Field(None, exclude=True)  # the file it was read from; relative paths start there
    partnership: Partnership
    population: Population
    benchmarks: Benchmarks
    storage: Storage = Storage()
    pseudonymisation: Pseudonymisation = Pseudonymisation()
    agencies: dict[str, Agency]
    feeds: dict[str, FeedSettings] = {}
    subgroups: dict[str, Subgroup]
    targets: dict[str, Target] = {}
    independent_chair: Person | None = None  # receives escalations
    notifications: Notifications = Notifications()
    risk_register: Register | None = None  # None: this partnership keeps no risk register in Radar
    threat_assessment: ThreatAssessment | None = None  # None: no themes, only the register's risks are ranked
    access: Access = Access()  # dashboard roles; empty: nobody but development mode sees data
    disclosure: Disclosure = Disclosure()  # what the published Board pack hides
    service: Service = Service()  # schedules and triggers of `radar serve` and deploy/prefect.yaml
    sources: dict[str, Source] = {}  # feed id -> where `pull-feeds` fetches its files; none: agencies deliver

    @model_validator(mode="after")
    def _access_addresses(self) -> PartnershipConfig:
        """[access.users] is keyed by address: each key is one plain address too (the other fields check theirs)."""
        problems = [f"[access.users] {address!r} {problem}" for address in self.access.users
                    if (problem := address_problem(address)) is not None]
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def check_against(self, catalogue: Catalogue) -> None:
        """Every id in the config must exist in the catalogue, and every role must be filled."""
        problems = []
        known = {
            "agencies": {a.id for a in catalogue.agencies},
            "feeds": set(catalogue.feed_by_id),
            "sources": set(catalogue.feed_by_id),
            "subgroups": {s.id for s in catalogue.subgroups},
            "targets": set(catalogue.indicator_by_id),
        }
        for section, ids in known.items():
            unknown = set(getattr(self, section)) - ids
            if unknown:
                problems.append(f"[{section}] has unknown ids: {sorted(unknown)}")
        for section in ("agencies", "subgroups"):
            missing = known[section] - set(getattr(self, section))
            if missing:
                problems.append(f"[{section}] is missing: {sorted(missing)}")
        problems += self.route_problems(known)
        grants = self.access.grants()
        for kind, section in (("subgroup", "subgroups"), ("agency", "agencies")):
            unknown = {getattr(g, kind) for g in grants} - known[section] - {None}
            if unknown:
                problems.append(f"[access] names unknown {section}: {sorted(unknown)}")
        if problems:
            raise ValueError("partnership config does not match the catalogue: " + "; ".join(problems))

    def route_problems(self, known: dict[str, set[str]]) -> list[str]:
        """Receivers and matched values in [notifications] that name nothing Radar knows."""
        problems, ids = [], {"subgroup": known["subgroups"], "agency": known["agencies"]}
        labels = {"subgroup": known["subgroups"], "agency": known["agencies"], "indicator": known["targets"],
                  "feed": known["feeds"], "severity": set(SEVERITIES)}

        def check(receiver: str | None) -> None:
            kind, _, name = (receiver or "").partition(":")
            if receiver is None or receiver == "independent_chair" or name.startswith("{"):
                return
            if kind not in RECEIVER_KINDS or (kind in ids and name not in ids[kind]):
                problems.append(f"[notifications] receiver {receiver!r} is not subgroup:<id>, agency:<id>, "
                                f"owner:<role> or independent_chair")

        def walk(route: Route) -> None:
            check(route.receiver)
            for label, values in route.match.items():
                unknown = set(values) - labels.get(label, set(values))
                if unknown:
                    problems.append(f"[notifications] route matches unknown {label} {sorted(unknown)}")
            for child in route.routes:
                walk(child)

        walk(self.notifications.route)
        for channel in self.notifications.channels:
            check(channel.receiver)
        return problems

    def due_day(self, catalogue: Catalogue, feed_id: str) -> int:
        settings = self.feeds.get(feed_id)
        return settings.due_day if settings else catalogue.feed_by_id[feed_id].due_day

    def population_path(self) -> Path:
        return self.resolve_path(self.population.source)

    def benchmarks_folder(self) -> Path:
        return self.resolve_path(self.benchmarks.folder)

    def neighbours_path(self) -> Path:
        return self.resolve_path(self.benchmarks.neighbours)

    def resolve_path(self, configured: str) -> Path:
        """A configured path: `data:NAME` inside the statistics shipped with Radar, absolute, or relative
        to the config file's folder -- never to the working directory, which changes with who runs Radar."""
        if configured.startswith(SHIPPED_DATA_PREFIX):
            return shipped_data() / configured.removeprefix(SHIPPED_DATA_PREFIX)
        path = Path(configured)
        if path.is_absolute():
            return path
        base = self.source.parent if self.source else Path.cwd()
        return (base / path).resolve()


def shipped_data() -> Path:
    """The folder of public statistics installed with Radar (the repository's data/ folder)."""
    return Path(str(resources.files("radar.data")))


@dataclass(frozen=True)
class Settings:
    """Where Radar keeps its state; everything lives under `home` unless a database URL says otherwise."""

    home: Path
    database_url: str
    config_path: Path

    @property
    def inbox(self) -> Path:
        return self.home / "inbox"

    @property
    def archive(self) -> Path:
        return self.home / "archive"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def secrets(self) -> Path:
        return self.home / "secrets"

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("RADAR_HOME", ".radar")).resolve()
        url = os.environ.get("RADAR_DATABASE_URL") or f"sqlite:///{home / 'radar.db'}"
        config = Path(os.environ.get("RADAR_CONFIG", DEFAULT_CONFIG))
        return cls(home=home, database_url=url, config_path=config)


@dataclass(frozen=True)
class Context:
    """Everything a command needs: settings, the partnership config, the catalogue and alert settings."""

    settings: Settings
    config: PartnershipConfig
    catalogue: Catalogue
    alerts: AlertSettings

    @property
    def la_code(self) -> str:
        return self.config.partnership.la_code

    @cached_property
    def register(self) -> RegisterFiles | None:
        """The risk register's matrix and seed files, each parsed once per run on first use (None: the partnership
        keeps no register).  Kept here so a Board pack, a dashboard page or a command never parses them twice."""
        files = self.config.risk_register
        if files is None:
            return None
        return RegisterFiles(*(self.config.resolve_path(f) for f in (files.matrix, files.risks, files.impact_log)))


def load_config(path: Path) -> PartnershipConfig:
    """The partnership file, checked; ConfigError names the file and every field that is wrong."""
    with open(path, "rb") as fh:
        raw = tomllib.load(fh)
    try:
        return PartnershipConfig.model_validate(raw | {"source": Path(path).resolve()})
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg'].removeprefix('Value error, ')}"
                    for e in error.errors()]
        raise ConfigError(f"partnership file {path} is wrong: " + "; ".join(problems)) from None


@cache
def _cached_context(settings: Settings) -> Context:
    catalogue = load_catalogue()
    config = load_config(settings.config_path)
    config.check_against(catalogue)
    alerts = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
    return Context(settings=settings, config=config, catalogue=catalogue, alerts=alerts)


def get_context(settings: Settings | None = None) -> Context:
    """Load (once per settings) the partnership config checked against the catalogue."""
    return _cached_context(settings or Settings.from_env())
