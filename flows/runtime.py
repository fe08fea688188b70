"""What every task needs: the partnership context and the store's engine, loaded once per process."""

from __future__ import annotations

from sqlalchemy import Engine

from models.engine import get_engine
from radar.config import Context, get_context


def context() -> Context:
    return get_context()


def engine() -> Engine:
    return get_engine(context().settings.database_url)
