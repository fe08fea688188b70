"""What every task needs: the partnership context and the store's engine, loaded once per process."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from radar.core.config import Context, get_context
from radar.models.engine import get_engine


def context() -> Context:
    return get_context()


# `radar serve` moves each file it takes from the inbox into this hidden folder of the inbox (same disk: one
# rename) before ingesting it, so a file still being written is never read half and a file is in one batch only.
PROCESSING = ".processing"


def processing_folder(inbox: Path) -> Path:
    return inbox / PROCESSING


def engine() -> Engine:
    return get_engine(context().settings.database_url)


def retry_on_io(task, task_run, state) -> bool:
    """Retry only faults of the disk or the database; a bad file or a bug is not cured by trying again."""
    try:
        state.result()
    except (OSError, OperationalError):
        return True
    except Exception:  # noqa: BLE001 - any other fault is the file's or the code's: no retry
        return False
    return False
