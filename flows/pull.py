"""`pull-feeds`: fetch the files agencies publish at a source (`[sources.<feed>]`) into the inbox, through fsspec.

A source is any fsspec URL: a folder, SFTP (sshfs), S3-compatible storage
(s3fs) or HTTPS (fsspec's HTTP implementation, a page that links its files).
A file is fetched when its name and content hash are new, and put in the
inbox under its own name (written under a hidden name, then renamed, so
nothing sees half a file): from there it takes exactly the path of a dropped
file (the watcher's event, then `ingest-feed`, or `ingest-files`).

Each listing and download has the source's `timeout_s`, enforced by Prefect
(the task's timeout) whatever the protocol, so a server that accepts a
connection and never answers is a failed attempt, retried, not a pull that
hangs for ever.

What was fetched, and how many pulls in a row failed, is kept per feed in
RADAR_HOME/sources/<feed>.json (replaced atomically).  Listing and fetching
are retried with back-off; a source still failing after that counts one
failure, and after `FAILURES_BEFORE_ALERT` in a row the next cycle raises
`source_unreachable` (pipelines/alerts/sources.py): a source is never skipped
in silence.
"""

from __future__ import annotations

import fnmatch
import json
import os
import tempfile
from pathlib import Path, PurePosixPath

import fsspec
from prefect import Task, flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from radar.core.config import Source
from radar.flows.files import sha256_of
from radar.flows.runtime import context

FAILURES_BEFORE_ALERT = 3


def state_path(feed_id: str) -> Path:
    return context().settings.home / "sources" / f"{feed_id}.json"


def read_state(feed_id: str) -> dict:
    """{"seen": {name: hash}, "failures": consecutive failed pulls, "error": the last failure's type}."""
    try:
        return json.loads(state_path(feed_id).read_text())
    except FileNotFoundError:
        return {"seen": {}, "failures": 0, "error": None}


def write_state(feed_id: str, state: dict) -> None:
    path = state_path(feed_id)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "w") as out:
        json.dump(state, out, indent=1, sort_keys=True)
    os.replace(tmp, path)


def unreachable() -> dict[str, int]:
    """Feeds whose source has failed `FAILURES_BEFORE_ALERT` pulls or more in a row, with how many."""
    return {feed_id: failures for feed_id in context().config.sources
            if (failures := read_state(feed_id)["failures"]) >= FAILURES_BEFORE_ALERT}


def storage_options(source: Source) -> dict:
    """The source's options with its secrets filled in from the environment or Prefect Secret blocks."""
    options = dict(source.options)
    for option, variable in source.secret_env.items():
        if variable not in os.environ:
            raise KeyError(f"the environment variable {variable} (for the source's {option}) is not set")
        options[option] = os.environ[variable]
    if source.secret_blocks:
        from prefect.blocks.system import Secret

        options |= {option: Secret.load(block).get() for option, block in source.secret_blocks.items()}
    return options


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
      cache_policy=NO_CACHE)
def list_source(source: Source) -> list[str]:
    """The source's file names that match its pattern (a network fault is retried with back-off)."""
    fs, root = fsspec.url_to_fs(source.url, **storage_options(source))
    names = [PurePosixPath(str(p).rstrip("/")).name for p in fs.ls(root, detail=False)]
    return sorted(n for n in names if n and not n.startswith(".") and fnmatch.fnmatch(n, source.pattern))


@task(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=5), retry_jitter_factor=0.5,
      cache_policy=NO_CACHE)
def fetch(source: Source, name: str, staging: Path) -> Path:
    """Download one file to a hidden name in the inbox (invisible to the watcher and to ingest)."""
    fs, root = fsspec.url_to_fs(source.url, **storage_options(source))
    target = staging / f".pull-{os.getpid()}-{name}"
    fs.get_file(f"{str(root).rstrip('/')}/{name}", str(target))
    return target


def within_timeout(step: Task, source: Source) -> Task:
    """The step with the source's time limit: each attempt that runs over it fails, and is retried."""
    return step.with_options(timeout_seconds=source.timeout_s)


def pull_one(feed_id: str, source: Source) -> list[str]:
    """Fetch the new files of one feed's source into the inbox; returns their names."""
    inbox = context().settings.inbox
    inbox.mkdir(parents=True, exist_ok=True, mode=0o700)
    state = read_state(feed_id)
    delivered = []
    for name in within_timeout(list_source, source)(source):
        staged = within_timeout(fetch, source)(source, name, inbox)
        digest = sha256_of(staged)
        if state["seen"].get(name) == digest:
            staged.unlink()
            continue
        os.replace(staged, inbox / name)  # complete, under its own name: now a delivered file
        state["seen"][name] = digest
        delivered.append(name)
    write_state(feed_id, state | {"failures": 0, "error": None})
    return delivered


@flow(name="pull-feeds")
def pull_feeds() -> dict[str, list[str]]:
    """Pull every feed's source; a source that fails (after its retries) is counted, never silently skipped."""
    logger = get_run_logger()
    fetched: dict[str, list[str]] = {}
    for feed_id, source in context().config.sources.items():
        try:
            fetched[feed_id] = pull_one(feed_id, source)
        except Exception as fault:  # noqa: BLE001 - any fault of a source is counted, and the others still pulled
            state = read_state(feed_id)
            write_state(feed_id, state | {"failures": state["failures"] + 1, "error": type(fault).__name__})
            logger.warning("the source of %s could not be read (%s); %d failed pulls in a row",
                           feed_id, type(fault).__name__, state["failures"] + 1)
            continue
        logger.info("%s: %d new files", feed_id, len(fetched[feed_id]))
    return fetched
