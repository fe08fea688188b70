"""The pseudonymisation key: from the environment, or generated once for a new store under RADAR_HOME.

The key is what makes a pseudonym irreversible to anyone without it, so it is
never committed, logged or exported.  It is also what links a child across
months: a different key gives every child a new pseudonym, so repeat counts
quietly fall.  Hence the rules here:

- a key shorter than MIN_KEY_CHARS (an empty file left by a full disk, a
  truncated variable) is refused, never used: an HMAC with an empty key is one
  anybody can recompute;
- a key is generated only for a store that holds no pseudonyms yet, written
  to a temporary file, flushed to disk and then linked into place (a crash
  leaves either no key or a whole one, and a concurrent first run keeps the
  key that got there first);
- the store records the key's fingerprint (an HMAC of a fixed label, from
  which the key cannot be recovered) and a key that does not match it is
  refused with a message naming the fix.  docs/operators.md says how to
  rotate the key on purpose.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

from sqlalchemy import Connection

from radar.models import submissions as submission_store

KEY_FILE = "pseudonym.key"
MIN_KEY_CHARS = 16
FINGERPRINT_LABEL = b"radar pseudonym key fingerprint v1"
HOW_TO_FIX = "See 'The pseudonym key' in docs/operators.md."


class PseudonymKeyError(RuntimeError):
    """The key cannot be used; the message tells the operator what to do (it never contains the key)."""


def fingerprint(key: bytes) -> str:
    """A value that identifies the key without revealing it."""
    return hmac.new(key, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def read_key(env_var: str, secrets_dir: Path) -> bytes | None:
    """The configured key (environment first, then the key file), None when there is none; a short one is refused."""
    value = os.environ.get(env_var)
    if value is not None:
        key, where = value.encode(), f"the environment variable {env_var}"
    else:
        key_file = secrets_dir / KEY_FILE
        try:
            fd = os.open(key_file, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "rb") as fh:
            key = fh.read().strip()
        where = str(key_file)
    if len(key) < MIN_KEY_CHARS:
        state = "empty" if not key else f"only {len(key)} characters long"
        raise PseudonymKeyError(
            f"The pseudonym key in {where} is {state}; Radar needs at least {MIN_KEY_CHARS} characters and will not "
            "use a key anyone could guess. Restore the key from your backup (or, for a store that holds no child "
            f"references yet, remove the broken key so Radar creates a new one). {HOW_TO_FIX}")
    return key


def create_key(secrets_dir: Path) -> bytes:
    """Write a new random key atomically (mode 0600 in a 0700 folder); keep another process's if it won."""
    secrets_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(secrets_dir, 0o700)
    fd, tmp = tempfile.mkstemp(dir=secrets_dir, prefix=".key-")  # created 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_hex(32).encode())
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, secrets_dir / KEY_FILE)  # unlike a rename, never replaces an existing key
    finally:
        os.unlink(tmp)
    folder = os.open(secrets_dir, os.O_RDONLY)
    try:
        os.fsync(folder)  # the new name itself survives a power cut
    finally:
        os.close(folder)
    return (secrets_dir / KEY_FILE).read_bytes().strip()


def store_key(conn: Connection, env_var: str, secrets_dir: Path, pseudonymised_feeds: list[str]) -> bytes:
    """The key this store's pseudonyms are made with, checked against its fingerprint (recorded on first use)."""
    recorded = submission_store.key_fingerprint(conn)
    key = read_key(env_var, secrets_dir)
    if key is None:
        if recorded is not None or submission_store.holds_pseudonyms(conn, pseudonymised_feeds):
            raise PseudonymKeyError(
                f"The pseudonym key is missing ({env_var} is not set and {secrets_dir / KEY_FILE} does not exist), "
                "but this store already holds pseudonymised child references. Radar will not make a new key: every "
                "child would get a new pseudonym and links across months would break. Restore the key from your "
                f"backup into {env_var} or that file, then run again. {HOW_TO_FIX}")
        key = create_key(secrets_dir)
    if recorded is None:
        submission_store.record_key_fingerprint(conn, fingerprint(key))
    elif not hmac.compare_digest(recorded, fingerprint(key)):
        raise PseudonymKeyError(
            "The pseudonym key is not the one this store's child references were pseudonymised with, so the same "
            "child would get a different pseudonym. Put the original key back (from your backup), or re-key the "
            f"store on purpose as docs/operators.md describes. {HOW_TO_FIX}")
    return key
