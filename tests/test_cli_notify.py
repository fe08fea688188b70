"""`radar notify` and `radar outbox` as a chair's office runs them, with no mail server configured."""

from __future__ import annotations

import json

from test_cli import open_alert
from typer.testing import CliRunner

from radar.cli import app

runner = CliRunner()


def test_notify_renders_the_digest_keeps_it_in_the_outbox_and_says_nothing_was_sent(radar_store, monkeypatch):
    for name in ("RADAR_SMTP_URL", "RADAR_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    key = open_alert(radar_store)
    dry = runner.invoke(app, ["notify", "--period", "2020-03", "--dry-run", "--json", "--as-of", "2020-04-20"])
    assert dry.exit_code == 0, dry.output
    planned = json.loads(dry.stdout)
    digest = next(m for m in planned if m["kind"] == "digest")
    assert key in digest["alerts"] and digest["to"] == ["esac-chair@bscp.example.org"]
    assert json.loads(runner.invoke(app, ["outbox", "--json"]).stdout) == []  # a dry run stores nothing

    sent = runner.invoke(app, ["notify", "--period", "2020-03", "--json", "--as-of", "2020-04-20"])
    assert sent.exit_code == 0, sent.output
    assert "not sent: no mail server" in sent.output
    pending = json.loads(runner.invoke(app, ["outbox", "--json", "--status", "pending"]).stdout)
    assert digest["key"] in {m["key"] for m in pending}
    again = runner.invoke(app, ["notify", "--period", "2020-03", "--json", "--as-of", "2020-04-20"])
    assert [m for m in json.loads(again.stdout) if m["kind"] == "digest" and m["key"] != digest["key"]] == []
