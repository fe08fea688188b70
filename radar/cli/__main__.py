"""`python -m radar.cli …`: the same command as `radar …`."""

from radar.cli import app

app(prog_name="radar")
