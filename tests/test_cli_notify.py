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


def test_outbox_show_prints_a_stored_message_with_its_text(radar_store, monkeypatch):
    """`radar outbox show ID` prints the message as its recipient reads it; an unknown id is refused plainly."""
    for name in ("RADAR_SMTP_URL", "RADAR_MAIL_FROM"):
        monkeypatch.delenv(name, raising=False)
    key = open_alert(radar_store)
    assert runner.invoke(app, ["notify", "--period", "2020-03", "--as-of", "2020-04-20"]).exit_code == 0
    digest = next(m for m in json.loads(runner.invoke(app, ["outbox", "--json"]).stdout) if key in m["alerts"])
    for ident in (str(digest["id"]), digest["key"]):
        shown = runner.invoke(app, ["outbox", "show", ident])
        assert shown.exit_code == 0, shown.output
        assert f"Subject: {digest['subject']}" in shown.stdout and "esac-chair@bscp.example.org" in shown.stdout
        body = shown.stdout.split("\n\n", 1)[1]
        assert len(body.split()) > 10  # the message's own text, not only its header
    as_json = json.loads(runner.invoke(app, ["outbox", "show", str(digest["id"]), "--json"]).stdout)
    assert as_json["key"] == digest["key"] and as_json["body_text"].strip() in shown.stdout
    missing = runner.invoke(app, ["outbox", "show", "999999"])
    assert missing.exit_code == 2 and "No message '999999'" in missing.output
