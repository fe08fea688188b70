"""Every table of the store, for Alembic: `metadata` holds each entity module's tables
(models/migrations/env.py migrates to it, and tests/test_store.py checks the migrations agree with it).

Code that reads or writes imports the entity module it needs (radar.models.alerts, .submissions...), never
this, so a command pays only for the tables it touches.
"""

from sqlmodel import SQLModel

from radar.models import alerts, audit, benchmarks, charts, indicators, outbox, register, submissions  # noqa: F401

metadata = SQLModel.metadata
