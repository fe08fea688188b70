"""The pseudonymisation key: from the environment, or generated once under RADAR_HOME.

The key is what makes a pseudonym irreversible to anyone without it, so it is
never committed, logged or exported.  Changing it changes every pseudonym, so
the generated key is kept (mode 0600) and reused.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def pseudonym_key(env_var: str, secrets_dir: Path) -> bytes:
    value = os.environ.get(env_var)
    if value:
        return value.encode()
    key_file = secrets_dir / "pseudonym.key"
    if not key_file.exists():
        secrets_dir.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
    return key_file.read_text().strip().encode()
