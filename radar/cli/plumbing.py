"""The command line's Prefect plumbing: where Prefect keeps its state, the server a command's flows run
against, and the garbage collector around the heavy imports of the commands that run flows.

Only the commands that move data (ingest, cycle, benchmarks import, notify,
serve, watch, demo) enter `prefect()`; a command that only reads the store
never imports Prefect at all (tests/test_cli_package.py checks it).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
from collections.abc import Iterator
from pathlib import Path

import typer

from radar.cli.common import app, console

# A command ends without the interpreter's last garbage collections.  By then it holds what Prefect, polars and
# SQLAlchemy made on import, millions of objects that live until exit, and walking them all took about a second
# at the end of every `radar cycle`; frozen, they are left to the operating system, which frees a process's
# memory at once.  Registered first, so it runs after Prefect's own exit handlers (which send its last logs).
atexit.register(gc.freeze)


def environment() -> None:
    """Before any command, and so before anything imports Prefect (it reads its settings on import): keep
    Prefect's state under RADAR_HOME and its chatter out of the way.  Nothing is written here: this runs for
    `radar <command> --help` too, which must leave the disk alone; the folder is made when a flow is about
    to run (`prefect`)."""
    from radar.core.config import Settings

    os.environ.setdefault("PREFECT_HOME", str(Settings.from_env().home / "prefect"))
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet here, and no tracking


app.callback()(environment)


@contextlib.contextmanager
def prefect(serving: bool = False, port: int | None = None) -> Iterator[str]:
    """Run flows against the server `radar serve` runs, or else one that stops when the command ends,
    however it ends (radar.flows.server).  `serving` and `port` are `radar serve`'s own server's.

    A command's flow runs send no heartbeats: they run in the foreground and end with the command, and the
    end of a flow run waits for its heartbeat thread, which sleeps in whole seconds, so every run lasted its
    work rounded up to the next second.  `radar serve`'s runs (and a worker's) keep theirs.
    """
    prefect_home = Path(os.environ["PREFECT_HOME"])
    # Prefect does not create missing parents, and without its folder its server never started (it waited
    # minutes, then failed naming no folder).  One that cannot be made is reported by radar.flows.server.
    with contextlib.suppress(OSError):
        prefect_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    from radar.flows.server import ServerStartError, prefect_server

    heartbeats = {} if serving else {PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}
    try:
        with (prefect_server(prefect_home, serving=serving, port=port,
                             on_slow=lambda notice: console.print(f"[yellow]{notice}[/]")) as url,
              temporary_settings(heartbeats)):
            yield url
    except ServerStartError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1)


@contextlib.contextmanager
def importing() -> Iterator[None]:
    """Import a command's flows with the garbage collector paused, then freeze what they made.

    Prefect, polars and SQLAlchemy make millions of objects on import, all of
    them kept until exit: collecting while they are made only walks them over
    and over (about a tenth of a command's imports), and frozen they are not
    walked by the collections of the flow run either.  The few thousand the
    imports left as garbage are frozen with them, once: collecting them first
    would cost a fifth of a second.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
