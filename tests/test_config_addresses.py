"""Every address in the partnership file is one plain address, checked when the file is read; and no address or
subject can add a recipient or a header when a message is sent (through a real SMTP server on loopback)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
import test_notify

from radar.core.config import DEFAULT_CONFIG, ConfigError, address_problem, load_config
from radar.models import outbox
from radar.models.engine import get_engine
from radar.pipelines import notify

mail = test_notify.mail  # the local mail catcher fixture of the notification tests

LA = "E09000006"
SHIPPED = DEFAULT_CONFIG.read_text(encoding="utf-8")

# Where each address lives in the shipped file, and the field a problem there is reported under.
FIELDS = {
    "agencies.police.contact": 'contact = "data-lead@police.example.org"',
    "subgroups.pci.email": 'email = "pci-chair@bscp.example.org"',
    "subgroups.pci.deputy_email": 'deputy_email = "pci-deputy@bscp.example.org"',
    "independent_chair.email": 'email = "independent-chair@bscp.example.org"',
    "notifications.owners.BSCP Business Manager": '"BSCP Business Manager" = "business-manager@bscp.example.org"',
    "[access.users]": '"analyst@bscp.example.org" = { role = "analyst" }',
}
HOSTILE = {
    "CR/LF and a header": "data-lead@police.example.org\r\nBcc: leak@evil.example",
    "LF alone": "data-lead@police.example.org\nleak@evil.example",
    "comma": "data-lead@police.example.org,leak@evil.example",
    "comma and space": "data-lead@police.example.org, leak@evil.example",
    "semicolon": "data-lead@police.example.org;leak@evil.example",
    "space": "data-lead@police.example.org leak@evil.example",
    "display name": "Data Lead <data-lead@police.example.org>",
    "two at signs": "data-lead@police.example.org@evil.example",
    "no domain": "data-lead",
    "empty": "",
}


def toml_string(value: str) -> str:
    return json.dumps(value)  # a TOML basic string is a JSON string here: \r, \n and quotes escaped alike


def with_address(field: str, value: str) -> str:
    line = FIELDS[field]
    if field == "[access.users]":
        changed = f'{toml_string(value)} = {{ role = "analyst" }}'
    else:
        key, _, _ = line.partition(" = ")
        changed = f"{key} = {toml_string(value)}"
    assert SHIPPED.count(line) == 1, field
    return SHIPPED.replace(line, changed)


def test_the_shipped_file_passes():
    config = load_config(DEFAULT_CONFIG)
    assert config.agencies["police"].contact == "data-lead@police.example.org"


@pytest.mark.parametrize("field", list(FIELDS))
@pytest.mark.parametrize("case", list(HOSTILE))
def test_a_bad_address_anywhere_stops_start_up_naming_its_field(tmp_path, field, case):
    bad = tmp_path / "partnership.toml"
    bad.write_text(with_address(field, HOSTILE[case]), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_config(bad)
    message = str(error.value)
    assert str(bad) in message and field in message, message
    assert "\r" not in message.replace("\\r", "") and "\n" not in message  # the message itself is one line


@pytest.mark.parametrize("good", ["a@x.org", "first.last+radar@sub.example.co.uk", "O'Brien@x.org", "a_b-c@x-y.org"])
def test_plain_addresses_pass(good):
    assert address_problem(good) is None


def test_the_reasons_say_what_is_wrong():
    assert address_problem("a@x.org\r\nBcc: b@y.org") == "has a line break"
    assert "one address per field" in address_problem("a@x.org,b@y.org")
    assert "one address per field" in address_problem("a@x.org; b@y.org")


def test_an_e_mail_url_is_never_built_for_a_bad_recipient():
    for value in HOSTILE.values():
        with pytest.raises(ValueError, match="refused, nothing sent"):
            notify.email_url("smtp://127.0.0.1:1025", "radar@x.org", ["ok@x.org", value], "k")
    with pytest.raises(ValueError, match="RADAR_MAIL_FROM"):
        notify.email_url("smtp://127.0.0.1:1025", "radar@x.org\r\nBcc: leak@evil.example", ["ok@x.org"], "k")


def stored(url: str, key: str, to: list[str], subject: str) -> None:
    message = {"key": key, "receiver": "agency:police", "channel": "email", "to": to, "kind": "reminder",
               "subject": subject, "text": "Dear data lead,", "html": "<p>Dear data lead,</p>", "alerts": [],
               "items": {}}
    with get_engine(url).begin() as conn:
        outbox.enqueue(conn, LA, "2020-03", [message], [], date(2020, 4, 20), datetime(2020, 4, 20, 9, tzinfo=UTC))


def test_a_stored_bad_recipient_is_refused_and_a_line_break_adds_no_header(mail, store_url):
    """A message stored with a hostile recipient (before the file was checked) is refused, sends nothing and
    says why; a subject with a line break arrives as one line with no header of its own."""
    from radar.flows.notify import deliver

    stored(store_url, "k-comma", ["data-lead@police.example.org,leak@evil.example"], "BSCP Radar reminder")
    stored(store_url, "k-crlf", ["data-lead@police.example.org\r\nBcc: leak@evil.example"], "BSCP Radar reminder")
    stored(store_url, "k-subject", ["data-lead@police.example.org"],
           "BSCP Radar reminder\r\nBcc: leak@evil.example\r\nX-Injected: yes")
    deliver(LA, datetime(2020, 4, 20, 10, tzinfo=UTC))
    received = [(rcpt, m) for rcpt, m in mail.messages]
    assert [rcpt for rcpt, _ in received] == [["data-lead@police.example.org"]]
    message = received[0][1]
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "\n" not in message["Subject"] and "leak@evil.example" in message["Subject"]
    with get_engine(store_url).connect() as conn:
        rows = {r["key"]: r for r in outbox.messages(conn, LA)}
    assert rows["k-subject"]["status"] == "sent"
    for key in ("k-comma", "k-crlf"):
        assert rows[key]["status"] == "failed" and "refused, nothing sent" in rows[key]["last_error"], rows[key]
