"""What every task needs: the partnership context and the store's engine, loaded once per process."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from radar.core.config import Context, get_context
from radar.models.engine import get_engine


def context() -> Context:
    return get_context()


def engine() -> Engine:
    return get_engine(context().settings.database_url)


def retry_on_io(task, task_run, state) -> bool:
    """Retry only faults of the disk or the database; a bad file or a bug is not cured by trying again."""
    try:
        state.result()
    except (OSError, OperationalError):
        return True
    except Exception:
        return False
    return False
