"""Every table of the store, for Alembic: `metadata` holds each entity module's tables
(models/migrations/env.py migrates to it, and tests/test_store.py checks the migrations agree with it).

Code that reads or writes imports the entity module it needs (radar.models.alerts, .submissions...), never
this, so a command pays only for the tables it touches.
"""

from sqlalchemy import Index, text
from sqlmodel import SQLModel

from radar.models import alerts, audit, benchmarks, charts, indicators, outbox, register, submissions  # noqa: F401

# At most one version of a feed and period is in force at a time: a partial unique index, declared here rather
# than on `Submission` because a PostgreSQL predicate loads SQLAlchemy's PostgreSQL dialect, a cost every
# command reading submissions paid on SQLite too; the store enforces it either way (migration 0001).
SUBMISSION = submissions.Submission.__table__
Index("uq_submission_current", SUBMISSION.c.la_code, SUBMISSION.c.feed_id, SUBMISSION.c.period, unique=True,
      sqlite_where=text("is_current"), postgresql_where=text("is_current"))

metadata = SQLModel.metadata
