"""The risk register store: SQLModel tables.

Every row carries its partnership's local-authority code (`la_code`) so one
store can serve a regional hub of several partnerships.  Rows delivered by
agencies keep their provenance (submission, row number); the file hash lives on
the submission.  Nothing here ever holds a raw child identifier: `child_ref`
columns hold the keyed pseudonym computed at ingest.

Schema changes go through Alembic (models/migrations); these classes and the
latest migration must agree, which tests/test_store.py checks.  A length is
given only to codes, ids, keys and fixed vocabularies; names, addresses, paths,
reasons, lists and any other text people or files supply are `Text`, because
PostgreSQL enforces a VARCHAR's length where SQLite ignores it (migration 0009).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Text, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Submission(SQLModel, table=True):
    """One delivered file and what Radar decided about it."""

    __tablename__ = "submission"
    __table_args__ = (
        # At most one version of a feed and period is in force at a time.
        Index(
            "uq_submission_current", "la_code", "feed_id", "period", unique=True,
            sqlite_where=text("is_current"), postgresql_where=text("is_current"),
        ),
        Index("ix_submission_feed_period", "la_code", "feed_id", "period"),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    feed_id: str | None = Field(default=None, max_length=64)  # None when the file name was unreadable
    period: str | None = Field(default=None, max_length=7)  # YYYY-MM
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    file_hash: str = Field(max_length=64, index=True)  # sha256 of the bytes delivered
    status: str = Field(max_length=16)  # accepted | replaced | duplicate | rejected
    is_current: bool = Field(default=False)
    received_at: datetime = Field(default_factory=utcnow)
    row_count: int = 0
    error_count: int = 0
    message: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    errors_json: str = Field(default="[]", sa_column=Column(Text, nullable=False, server_default="[]"))
    archive_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    report_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    replaces_id: int | None = Field(default=None, foreign_key="submission.id")


class Observation(SQLModel, table=True):
    """One row of an aggregate return, as the agency sent it."""

    __tablename__ = "observation"
    __table_args__ = (Index("ix_observation_lookup", "la_code", "feed_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    la_code: str = Field(max_length=9)
    feed_id: str = Field(max_length=64)
    period: str = Field(max_length=7)
    row_number: int
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)  # "" when the indicator has no breakdown
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class RecordRow(SQLModel):
    """Columns every record-level row shares: partnership, provenance and month."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    la_code: str = Field(max_length=9)
    period: str = Field(max_length=7)
    row_number: int


class MashContact(RecordRow, table=True):
    __tablename__ = "mash_contact"

    contact_id: str = Field(max_length=64)
    child_ref: str = Field(max_length=64)  # keyed pseudonym, never the agency's reference
    received_date: date
    source: str = Field(max_length=32)
    outcome: str = Field(max_length=32)


class LadoReferral(RecordRow, table=True):
    __tablename__ = "lado_referral"

    referral_id: str = Field(max_length=64)
    received_date: date
    setting_ref: str = Field(max_length=64)
    setting_type: str = Field(max_length=32)
    allegation_type: str = Field(max_length=32)
    outcome: str = Field(max_length=32)


class MissingEpisode(RecordRow, table=True):
    __tablename__ = "missing_episode"

    episode_id: str = Field(max_length=64)
    child_ref: str = Field(max_length=64)  # keyed pseudonym, never the agency's reference
    start_date: date
    end_date: date | None = None
    looked_after: bool
    rhi_offered: bool
    rhi_completed: bool


# The table that stores each record-level feed's rows.
RECORD_TABLES: dict[str, type[RecordRow]] = {
    "mash_contacts": MashContact,
    "lado_referrals": LadoReferral,
    "missing_episodes": MissingEpisode,
}


class PseudonymKey(SQLModel, table=True):
    """Which key the store's pseudonyms were made with: its fingerprint, never the key.

    A pseudonym links a child across months only while the key stays the same,
    so ingest compares the key it is given with this fingerprint and refuses a
    different one instead of silently starting a second set of pseudonyms.
    """

    __tablename__ = "pseudonym_key"

    id: int | None = Field(default=None, primary_key=True)
    fingerprint: str = Field(max_length=64)  # HMAC-SHA256(key, a fixed label), hex
    recorded_at: datetime = Field(default_factory=utcnow)


class IndicatorValue(SQLModel, table=True):
    """A computed monthly value of an indicator for one breakdown ("" is the total)."""

    __tablename__ = "indicator_value"
    __table_args__ = (
        Index("uq_indicator_value", "la_code", "indicator", "breakdown", "period", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    period: str = Field(max_length=7)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    value: float | None = None  # None: not computable (say why in note), never a stand-in number
    numerator: float | None = None
    denominator: float | None = None
    note: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    computed_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """An append-only trail of what changed in the store, by whom and why."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    la_code: str = Field(max_length=9)
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(max_length=64)
    subject: str = Field(sa_column=Column(Text, nullable=False))  # e.g. every benchmark file imported
    detail: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


class Benchmark(SQLModel, table=True):
    """A published annual figure (DfE/ONS) for England, a region or a local authority.

    Suppressed cells keep their symbol (`c`, `x`, `z`, `low`, `k`, `u`) with no
    value: "not published" is never turned into a number.
    """

    __tablename__ = "benchmark"
    __table_args__ = (Index("uq_benchmark", "indicator", "year", "level", "area_code", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    indicator: str = Field(max_length=64)
    year: int  # DfE time_period: 2020 is the year ending 31 March 2020 (2019-20)
    level: str = Field(max_length=16)  # national | regional | la
    area_code: str = Field(max_length=9)
    old_la_code: str | None = Field(default=None, max_length=3)
    area_name: str = Field(sa_column=Column(Text, nullable=False))
    region_code: str | None = Field(default=None, max_length=9)
    value: float | None = None
    symbol: str | None = Field(default=None, max_length=8)
    source_file: str = Field(sa_column=Column(Text, nullable=False))  # the names of every file of the import
    imported_at: datetime = Field(default_factory=utcnow)


class SpcPoint(SQLModel, table=True):
    """One month of an indicator's XmR chart, as the last cycle computed it; its limits are its segment's."""

    __tablename__ = "spc_point"
    __table_args__ = (Index("uq_spc_point", "la_code", "indicator", "breakdown", "period", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    period: str = Field(max_length=7)
    value: float | None = None
    signal: str | None = Field(default=None, max_length=32)
    direction: str | None = Field(default=None, max_length=8)
    assessment: str | None = Field(default=None, max_length=16)
    segment: int = 0


class SpcSegment(SQLModel, table=True):
    """The mean, limits and label of one segment of an indicator's XmR chart (from its start or a re-base on).

    They are kept once per segment, not on each of its months: a new month
    moves the mean and limits of the whole latest segment, and stored per
    point that rewrote every month of it each cycle.
    """

    __tablename__ = "spc_segment"
    __table_args__ = (Index("uq_spc_segment", "la_code", "indicator", "breakdown", "segment", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    segment: int = 0
    mean: float | None = None
    lower: float | None = None
    upper: float | None = None
    label: str = Field(default="ok", max_length=16)


class SeriesStatus(SQLModel, table=True):
    """The latest reading of each indicator series: icons and slow-drift measures."""

    __tablename__ = "series_status"
    __table_args__ = (Index("uq_series_status", "la_code", "indicator", "breakdown", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    latest_period: str | None = Field(default=None, max_length=7)
    latest_value: float | None = None
    variation: str | None = Field(default=None, max_length=40)
    assurance: str | None = Field(default=None, max_length=24)
    label: str = Field(default="ok", max_length=16)
    yoy_change: float | None = None
    rolling_12_total: float | None = None


class EarlyWarning(SQLModel, table=True):
    """Each series' early-warning detector as the last cycle left it (pipelines/alerts/early_warning.py): the
    month judged, its expected value and EWMA, the model's threshold and what it can detect, and the state
    (model, threshold, EWMA and run, as JSON) the next cycle continues from."""

    __tablename__ = "early_warning"
    __table_args__ = (Index("uq_early_warning", "la_code", "indicator", "breakdown", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    period: str | None = Field(default=None, max_length=7)
    value: float | None = None
    expected: float | None = None
    ewma: float | None = None
    threshold: float | None = None
    flag: str | None = Field(default=None, max_length=16)
    since: str | None = Field(default=None, max_length=7)
    observed_since: float | None = None
    expected_since: float | None = None
    return_years: float | None = None
    min_detectable_change: float | None = None
    promise: str = Field(max_length=16)
    statement: str = Field(sa_column=Column(Text, nullable=False))
    months: int = 0
    state: str = Field(sa_column=Column(Text, nullable=False))


class SpcRebase(SQLModel, table=True):
    """A recorded decision to re-base an indicator's limits from a month (never automatic)."""

    __tablename__ = "spc_rebase"

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    period: str = Field(max_length=7)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    """A signal that needs a subgroup's attention, with its evidence and lifecycle.

    `key` is deterministic (rule, indicator, breakdown, scope), so a re-run
    updates the same alert instead of raising a new one; `ref` is the short,
    shell-safe id derived from it that people type and read (`spc-k3f9qa2b`).
    """

    __tablename__ = "alert"
    __table_args__ = (
        Index("uq_alert_key", "la_code", "key", unique=True),
        Index("uq_alert_ref", "la_code", "ref", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=255)
    ref: str = Field(max_length=24)
    rule: str = Field(max_length=40)
    indicator: str | None = Field(default=None, max_length=64)
    breakdown: str | None = Field(default=None, max_length=64)
    feed: str | None = Field(default=None, max_length=64)
    scope: str = Field(max_length=64)
    severity: str = Field(max_length=8)
    subgroup: str = Field(max_length=32)
    status: str = Field(max_length=16)  # open | acknowledged | resolved | silenced
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))
    first_period: str = Field(max_length=7)  # the month its cause began (the first month of the run)
    last_period: str = Field(max_length=7)
    cleared_period: str | None = Field(default=None, max_length=7)
    raised_on: date | None = None  # the day a cycle first raised it
    acknowledged_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    ack_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    silenced_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    silenced_until: date | None = None
    escalated_on: date | None = None  # the day the Independent Chair was told it went unacknowledged
    updated_at: datetime = Field(default_factory=utcnow)


class PositiveSignal(SQLModel, table=True):
    """An improvement (special cause in the good direction): shown, never alerted."""

    __tablename__ = "positive_signal"
    __table_args__ = (Index("uq_positive_signal", "la_code", "key", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=255)
    rule: str = Field(max_length=40)
    indicator: str = Field(max_length=64)
    breakdown: str = Field(default="", max_length=64)
    period: str = Field(max_length=7)
    subgroup: str = Field(max_length=32)
    message: str = Field(sa_column=Column(Text, nullable=False))
    evidence: str = Field(default="{}", sa_column=Column(Text, nullable=False, server_default="{}"))


# The risk register and the Impact Log (radar.models.register writes them; radar.pipelines.register judges edits).


class Risk(SQLModel, table=True):
    """One risk in the partnership's register; `version` rises with every edit so a stale edit is refused."""

    __tablename__ = "risk"
    __table_args__ = (Index("uq_risk_id", "la_code", "risk_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    risk_id: str = Field(max_length=8)  # R01, what people type
    title: str = Field(sa_column=Column(Text, nullable=False))
    cause: str = Field(sa_column=Column(Text, nullable=False))
    event: str = Field(sa_column=Column(Text, nullable=False))
    consequence: str = Field(sa_column=Column(Text, nullable=False))
    category: str = Field(max_length=16)  # strategic | operational
    priority: str = Field(sa_column=Column(Text, nullable=False))
    subgroup: str = Field(max_length=32)
    owner: str = Field(sa_column=Column(Text, nullable=False))
    inherent_likelihood: int
    inherent_impact: int
    current_likelihood: int
    current_impact: int
    target_likelihood: int
    target_impact: int
    confidence: str = Field(max_length=8)  # high | medium | low
    confidence_reason: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # open | treated | accepted | closed
    approver: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    expiry: date | None = None
    next_review: date
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class RiskControl(SQLModel, table=True):
    __tablename__ = "risk_control"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    effectiveness: str = Field(max_length=24)  # effective | partly_effective | ineffective


class RiskAction(SQLModel, table=True):
    __tablename__ = "risk_action"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    description: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    due: date
    status: str = Field(max_length=16)  # open | done | dropped
    note: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))  # why it was closed


class RiskIndicator(SQLModel, table=True):
    """A catalogue indicator whose alerts are evidence on the risk."""

    __tablename__ = "risk_indicator"
    __table_args__ = (Index("uq_risk_indicator", "risk", "indicator", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id")
    indicator: str = Field(max_length=64)


class RiskAssessment(SQLModel, table=True):
    """Every score given to a risk (loaded, scored, reviewed, decided), with the scoring criteria then in force."""

    __tablename__ = "risk_assessment"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    kind: str = Field(max_length=16)  # loaded | added | scored | reviewed | decided
    likelihood: int
    impact: int
    assessed_on: date
    by: str = Field(sa_column=Column(Text, nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    criteria: str = Field(sa_column=Column(Text, nullable=False))  # JSON: the matrix in force
    at: datetime = Field(default_factory=utcnow)


class RiskEvidence(SQLModel, table=True):
    """An alert the monthly cycle attached to a risk, in the state it was seen (raised, escalated, resolved)."""

    __tablename__ = "risk_evidence"
    __table_args__ = (Index("uq_risk_evidence", "risk", "alert_key", "status", "severity", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id")
    alert_key: str = Field(max_length=255)
    change: str = Field(max_length=16)  # raised | escalated | resolved
    status: str = Field(max_length=16)
    severity: str = Field(max_length=8)
    period: str = Field(max_length=7)
    at: datetime = Field(default_factory=utcnow)


class RiskProposal(SQLModel, table=True):
    """A re-score Radar suggests from evidence; it changes nothing until the owner decides."""

    __tablename__ = "risk_proposal"

    id: int | None = Field(default=None, primary_key=True)
    risk: int = Field(foreign_key="risk.id", index=True)
    likelihood: int
    impact: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    alert_key: str | None = Field(default=None, max_length=255)
    status: str = Field(max_length=16)  # proposed | accepted | changed | rejected
    proposed_at: datetime = Field(default_factory=utcnow)
    decided_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = None


class ImpactEntry(SQLModel, table=True):
    """One "challenge -> action -> impact" of the Impact Log."""

    __tablename__ = "impact_entry"
    __table_args__ = (Index("uq_impact_entry", "la_code", "entry_id", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    entry_id: str = Field(max_length=8)  # IL01
    raised_on: date
    subgroup: str = Field(max_length=32)
    challenge: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=16)  # open | in_progress | complete
    evidence: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    version: int = 1
    updated_at: datetime = Field(default_factory=utcnow)


class ImpactLink(SQLModel, table=True):
    """An Impact Log entry tied to a register risk or an alert (`radar impact link`)."""

    __tablename__ = "impact_link"
    __table_args__ = (Index("uq_impact_link", "entry", "kind", "target", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    entry: int = Field(foreign_key="impact_entry.id")
    kind: str = Field(max_length=8)  # risk | alert
    target: str = Field(max_length=255)  # the risk's id (R04) or the alert's key


class OutboxMessage(SQLModel, table=True):
    """One message to one receiver over one channel, from rendering to delivery (flows/notify.py).

    The key is derived from what the message says (partnership, month,
    receiver, channel, kind, alerts), so planning it twice inserts it once;
    it also travels in the X-Radar-Message-Key header for the recipient to
    de-duplicate the rare resend after a crash.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("uq_outbox_key", "key", unique=True),
        Index("ix_outbox_due", "la_code", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    key: str = Field(max_length=64)
    period: str = Field(max_length=7)
    receiver: str = Field(sa_column=Column(Text, nullable=False))
    channel: str = Field(sa_column=Column(Text, nullable=False))  # email | apprise:env:NAME | apprise:block:NAME
    recipients: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of addresses
    kind: str = Field(max_length=16)  # digest | repeat | resolved | escalation | reminder
    subject: str = Field(sa_column=Column(Text, nullable=False))
    body_text: str = Field(sa_column=Column(Text, nullable=False))
    body_html: str = Field(sa_column=Column(Text, nullable=False))
    alerts: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of alert keys
    status: str = Field(max_length=16)  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    next_attempt_at: datetime
    created_on: date  # the planning day ("today", or --as-of)
    sent_at: datetime | None = None


class AlertNotice(SQLModel, table=True):
    """That a receiver was (or is being) told about an alert: what was said and on which day.

    Read back when planning, so an alert is announced once, repeated only
    after the interval and resolved once; and by the dashboard ("who was told").
    """

    __tablename__ = "alert_notice"
    __table_args__ = (
        Index("uq_alert_notice", "message_key", "alert_key", unique=True),
        Index("ix_alert_notice_alert", "la_code", "alert_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    la_code: str = Field(max_length=9)
    alert_key: str = Field(max_length=255)
    message_key: str = Field(max_length=64)
    receiver: str = Field(sa_column=Column(Text, nullable=False))
    kind: str = Field(max_length=16)  # new | repeat | resolved | escalation
    noticed_on: date


class CycleMark(SQLModel, table=True):
    """What the last monthly cycle computed from, so the next one reads only what changed since.

    `inputs` (JSON) maps each feed|month it counted to the submission in force
    then; `fingerprint` digests the settings, catalogue, populations and
    re-bases it computed with (any change means a full recompute).  The frames
    it moves on from are in `CycleMarkFrame`.
    """

    __tablename__ = "cycle_mark"

    la_code: str = Field(primary_key=True, max_length=9)
    period: str = Field(max_length=7)
    fingerprint: str = Field(max_length=64)
    inputs: str = Field(sa_column=Column(Text, nullable=False))


class CycleMarkFrame(SQLModel, table=True):
    """One frame the last cycle kept for the next, as Parquet: the XmR chart state, the full XmR points, the
    indicator values it charted, the record rows the alert rules read.

    A partnership's are a few hundred kilobytes and are only ever read whole,
    so keeping them saves the next cycle reading and recomputing all history.
    """

    __tablename__ = "cycle_mark_frame"

    la_code: str = Field(primary_key=True, max_length=9)
    name: str = Field(primary_key=True, max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
