"""Notifications: routing, timing, privacy (pure), and delivery to a real SMTP server on loopback."""

from __future__ import annotations

import email
import json
import socket
from datetime import UTC, date, datetime, timedelta
from email import policy

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from typer.testing import CliRunner

from radar.cli import app
from radar.core.catalogue import load_catalogue
from radar.core.config import DEFAULT_CONFIG, PartnershipConfig, Route, load_config
from radar.flows.notify import NOT_CONFIGURED, send_notifications
from radar.models import alerts as alert_store
from radar.models import outbox
from radar.models import submissions as submission_store
from radar.models.engine import get_engine
from radar.pipelines import notify
from radar.pipelines.alerts.inhibition import held_feeds_alerted
from radar.pipelines.alerts.lifecycle import empty_state, reconcile, silence
from radar.pipelines.alerts.rule import CANDIDATE_SCHEMA, alert_key

LA = "E09000006"
CONFIG = load_config(DEFAULT_CONFIG)
CATALOGUE = load_catalogue()
CHILD_REF = "CH-778812"
SETTING_REF = "URN-104233 St Example's Primary"


def candidate(rule="spc_outside_limits", indicator="ehe_registered", feed="education_monthly", subgroup="education",
              severity="high", scope=LA, message=None, evidence=None) -> dict:
    return {"key": alert_key(rule, indicator, "", scope), "rule": rule, "indicator": indicator, "breakdown": "",
            "feed": feed, "scope": scope, "period": "2020-03", "since": "2020-03", "severity": severity,
            "subgroup": subgroup,
            "message": message or f"{indicator} is above its usual range in Mar 2020 (314; usual 240 to 300).",
            "evidence": json.dumps(evidence or {"value": 314})}


def alert(**kw) -> dict:
    row = candidate(**{k: v for k, v in kw.items() if k in candidate.__code__.co_varnames})
    return row | {"ref": "spc-abc", "status": "open", "first_period": "2020-03", "last_period": "2020-03",
                  "cleared_period": None, "raised_on": date(2020, 4, 20), "escalated_on": None} | {
        k: v for k, v in kw.items() if k not in candidate.__code__.co_varnames}


def ctx(today=date(2020, 4, 20), config=CONFIG, period="2020-03") -> notify.Context:
    return notify.Context(config, CATALOGUE, period, today, frozenset({"child_ref"}))


# --- routing ------------------------------------------------------------------------------

def routed(a: dict, owners=None) -> list[str]:
    labels = notify.alert_labels(a, CATALOGUE, owners or {})
    return [r.receiver for r in notify.receivers(a, labels, CONFIG)]


def test_indicator_alerts_go_to_their_subgroup_and_feed_alerts_to_pci_and_the_data_lead():
    assert routed(alert()) == ["subgroup:education"]
    late = alert(rule="feed_late", indicator=None, feed="police_monthly", subgroup="pci")
    assert routed(late) == ["subgroup:pci", "agency:police"]


def test_first_match_wins_unless_continue():
    tree = Route(receiver="subgroup:{subgroup}", routes=[
        Route(match={"severity": ["high"]}, receiver="subgroup:spr"),
        Route(match={"severity": ["high"]}, receiver="subgroup:health"),
    ])
    labels = notify.alert_labels(alert(), CATALOGUE, {})
    assert notify.route(labels, tree) == ["subgroup:spr"]
    tree = tree.model_copy(update={"routes": [tree.routes[0].model_copy(update={"continue_": True}), tree.routes[1]]})
    assert notify.route(labels, tree) == ["subgroup:spr", "subgroup:health"]
    assert notify.route(labels | {"severity": "low"}, tree) == ["subgroup:education"]


def test_risk_alerts_go_to_the_owner_and_an_unknown_owner_falls_back_to_the_subgroup():
    risk = alert(rule="action_overdue", indicator=None, feed=None, subgroup="health", evidence={"risk": "R04"})
    assert routed(risk, {"R04": "Designated Nurse"}) == ["owner:Designated Nurse"]
    assert routed(risk, {"R04": "Somebody Unlisted"}) == ["subgroup:health"]


def test_a_receiver_naming_an_unknown_subgroup_is_refused():
    raw = CONFIG.model_dump(by_alias=True) | {"notifications": {"route": {"receiver": "subgroup:nope"}}}
    with pytest.raises(ValueError, match="receiver 'subgroup:nope'"):
        PartnershipConfig.model_validate(raw).check_against(CATALOGUE)


# --- timing -------------------------------------------------------------------------------

def test_announce_once_repeat_after_the_interval_and_resolve_once():
    told = {"kind": "new", "noticed_on": date(2020, 4, 20), "status": "sent"}
    assert notify.due_item(alert(), None, date(2020, 4, 20), 28) == "new"
    assert notify.due_item(alert(), told, date(2020, 5, 17), 28) is None
    assert notify.due_item(alert(), told, date(2020, 5, 18), 28) == "repeat"
    assert notify.due_item(alert(status="acknowledged"), told, date(2020, 9, 1), 28) is None
    assert notify.due_item(alert(status="resolved"), told, date(2020, 5, 1), 28) == "resolved"
    assert notify.due_item(alert(status="resolved"), told | {"kind": "resolved"}, date(2020, 6, 1), 28) is None
    assert notify.due_item(alert(status="resolved"), None, date(2020, 5, 1), 28) is None


def test_silenced_and_held_back_alerts_are_not_sent():
    late = alert(rule="feed_late", indicator=None, feed="education_monthly", subgroup="pci")
    messages, _ = notify.plan([alert(), late, alert(indicator="cpp_open", status="silenced")], [], {},
                              held_feeds_alerted([late], "2020-03"), ctx())
    assert sorted(k for m in messages for k in m["alerts"]) == [late["key"], late["key"]]


def test_escalation_after_the_configured_days_unless_acknowledged():
    days, told = {"high": 14}, date(2020, 4, 20)
    assert not notify.escalates(alert(), date(2020, 5, 3), days, told)
    assert notify.escalates(alert(), date(2020, 5, 4), days, told)
    assert not notify.escalates(alert(status="acknowledged"), date(2020, 9, 4), days, told)
    assert not notify.escalates(alert(severity="medium"), date(2020, 9, 4), days, told)
    assert not notify.escalates(alert(escalated_on=date(2020, 5, 4)), date(2020, 9, 4), days, told)


def notice(a: dict, receiver: str, on: date, status: str = "sent", kind: str = "new") -> dict:
    return {"alert_key": a["key"], "receiver": receiver, "kind": kind, "noticed_on": on, "status": status}


def test_an_announcement_still_in_the_outbox_is_neither_repeated_nor_escalated():
    """The demo's run: the cycle of 30 Apr 2020 left its digest pending (no mail server); a later run must not
    send it together with its 28-day "still open" and an escalation to the Independent Chair."""
    high = alert()
    waiting = [notice(high, "subgroup:education", date(2020, 4, 20), "pending")]
    messages, escalated = notify.plan([high], waiting, {}, set(), ctx(date(2020, 6, 30)))
    assert messages == [] and escalated == []
    assert notify.due_item(high, waiting[0], date(2020, 6, 30), 28) is None
    sent = [waiting[0] | {"status": "sent"}]
    messages, escalated = notify.plan([high], sent, {}, set(), ctx(date(2020, 6, 30)))
    assert sorted(m["kind"] for m in messages) == ["escalation", "repeat"] and escalated == [high["key"]]


def test_escalation_counts_from_the_announcement_that_was_sent_not_from_when_the_alert_was_raised():
    high = alert(raised_on=date(2020, 4, 20))
    first = notify.plan([high], [], {}, set(), ctx(date(2020, 6, 30)))  # raised 71 days ago, never told
    assert [m["kind"] for m in first[0]] == ["digest"] and first[1] == []
    told = [notice(high, "subgroup:education", date(2020, 6, 30))]
    assert notify.plan([high], told, {}, set(), ctx(date(2020, 7, 13)))[1] == []
    assert notify.plan([high], told, {}, set(), ctx(date(2020, 7, 14)))[1] == [high["key"]]
    assert notify.announced_on(told + [notice(high, "subgroup:pci", date(2020, 7, 1), "pending")]) == {
        high["key"]: date(2020, 6, 30)}


# --- a data lead's messages ---------------------------------------------------------------

REJECTED_ERRORS = [
    {"row": 1, "column": "indicator", "value": None, "rule": "header", "message": "Column 2 should be 'indicator'"},
    {"row": 4, "column": "value", "value": "12.5", "rule": "not_whole_number", "message": "'12.5' is not whole"},
    {"row": 9, "column": "value", "value": CHILD_REF, "rule": "not_whole_number", "message": f"'{CHILD_REF}' no"},
    {"row": 9, "column": "breakdown", "value": "Zzyzx", "rule": "not_allowed", "message": "'Zzyzx' not allowed"},
    {"row": None, "column": None, "value": None, "rule": "missing_indicator", "message": "No row for arrests"},
]


def police(rule="feed_rejected", **kw) -> dict:
    return alert(rule=rule, indicator=None, feed="police_monthly", subgroup="pci", scope="police_monthly",
                 severity="medium", evidence={"feed_id": "police_monthly", "period": "2020-03",
                                              "due_date": "2020-04-10", "status": "rejected"}, **kw)


def data_lead_messages(alerts, notices=(), files=None, today=date(2020, 4, 20)) -> list[dict]:
    planning = notify.Context(CONFIG, CATALOGUE, "2020-03", today, frozenset({"child_ref"}),
                              files if files is not None else {})
    return [m for m in notify.plan(alerts, notices, {}, set(), planning)[0] if m["receiver"] == "agency:police"]


def test_a_reminder_says_what_was_wrong_links_to_send_a_file_and_gives_no_command():
    files = {"police_monthly": {"in_force": False, "errors": REJECTED_ERRORS}}
    (email, *_) = [m for m in data_lead_messages([police()], files=files) if m["channel"] == "email"]
    assert email["kind"] == "reminder"
    text = email["text"]
    assert "Police domestic abuse and sexual offences for Mar 2020, due 10 Apr 2020: the file sent was rejected" in text
    for line in ("Column names do not match: the header row.", "Not a whole number: 2 rows.",
                 "Value not in the allowed list: 1 row.", "Indicator missing: the whole file."):
        assert line in text
    assert "police_monthly__2020-03.csv" in text and "http://localhost:8501/upload" in text
    for part in (text, email["html"], email["subject"]):
        assert "/alerts" not in part and "radar " not in part and "spc-abc" not in part
        assert CHILD_REF not in part and "12.5" not in part and "Zzyzx" not in part
    missing = data_lead_messages([police("feed_late")], files={})
    assert "no file has arrived yet" in missing[0]["text"] and "http://localhost:8501/upload" in missing[0]["text"]


def test_no_reminder_once_a_corrected_file_is_in_force_and_the_resolved_notice_thanks_instead():
    accepted = {"police_monthly": {"in_force": True, "errors": REJECTED_ERRORS}}
    assert data_lead_messages([police()], files=accepted) == []  # accepted after the cycle, alert still open
    told = [notice(police(), "agency:police", date(2020, 4, 20)), notice(police(), "subgroup:pci", date(2020, 4, 20))]
    assert data_lead_messages([police()], told, accepted, today=date(2020, 5, 30)) == []  # no repeat either
    resolved = police(status="resolved", cleared_period="2020-03")
    (email, *_) = data_lead_messages([resolved], told, accepted, today=date(2020, 5, 1))
    assert email["kind"] == "resolved" and "has been accepted" in email["subject"]
    assert "please send" not in email["text"].lower() and "Police domestic abuse and sexual offences for Mar 2020: accepted" in email["text"]
    assert "radar " not in email["text"] and "/alerts" not in email["text"]


def test_a_rejected_files_problems_in_words_count_rows_and_say_when_the_examples_were_capped():
    capped = [{"row": n, "rule": "blank", "value": "x"} for n in range(2, 102)]
    assert notify.problems_in_words(capped) == [
        "Required cell is empty: at least 100 rows. Fill in the cell; for a count of none, write 0."]
    assert notify.problems_in_words([{"row": None, "rule": "something_new"}]) == ["Something new: the whole file."]


def test_back_off_doubles_and_is_capped_at_a_day():
    now = datetime(2020, 4, 20, tzinfo=UTC)
    assert [notify.next_attempt(n, now) - now for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (5, 10, 20)]
    assert notify.next_attempt(40, now) - now == timedelta(hours=24)


def test_email_url_modes():
    assert "mode=insecure" in notify.email_url("smtp://127.0.0.1:1025", "radar@x.org", ["a@x.org"], "k")
    assert "mode=starttls" in notify.email_url("smtp://u:p%40ss@mail.x.org", "radar@x.org", ["a@x.org"], "k")
    assert "mode=ssl" in notify.email_url("smtps://mail.x.org", "radar@x.org", ["a@x.org"], "k")
    with pytest.raises(ValueError, match="RADAR_SMTP_URL"):
        notify.email_url("http://mail.x.org", "radar@x.org", ["a@x.org"], "k")


# --- privacy ------------------------------------------------------------------------------

def test_no_message_names_a_child_or_a_setting():
    """Every kind of message, for demo-like alerts plus ones seeded with known child and setting references."""
    seeded = [
        alert(),
        alert(rule="feed_rejected", indicator=None, feed="police_monthly", subgroup="pci"),
        alert(rule="setting_concentration", indicator="lado_referrals", feed="lado_referrals", subgroup="pci",
              scope=SETTING_REF, message=f"LADO referrals about setting {SETTING_REF} (School): 4 in the 6 months "
                                         f"to Mar 2020, where about 0.5 would be usual."),
        alert(rule="repeat_missing", indicator="missing_episodes", feed="missing_episodes", subgroup="pci",
              message=f"Child {CHILD_REF} and others went missing 3 or more times.",
              evidence={"child_ref": CHILD_REF}),
    ]
    resolved = [a | {"status": "resolved", "cleared_period": "2020-04"} for a in seeded]
    texts = []
    for alerts, notices in ((seeded, []), (seeded, [{"alert_key": a["key"], "receiver": r, "kind": "new",
                                                      "noticed_on": date(2020, 1, 1), "status": "sent"}
                                                     for a in seeded for r in ("subgroup:pci", "subgroup:education",
                                                                               "agency:police")])):
        for today in (date(2020, 4, 20), date(2020, 6, 1)):
            texts += [m[part] for m in notify.plan(alerts, notices, {}, set(), ctx(today))[0]
                      for part in ("subject", "text", "html")]
    texts += [m[p] for m in notify.plan(resolved, notices, {}, set(), ctx())[0] for p in ("subject", "text", "html")]
    kinds = {m["kind"] for m in notify.plan(seeded, notices, {}, set(), ctx(date(2020, 6, 1)))[0]}
    assert kinds == {"repeat", "reminder", "escalation"}
    assert len(texts) > 20
    for text in texts:
        assert CHILD_REF not in text and "URN-104233" not in text and "St Example" not in text
        assert "|" + LA not in text  # no alert key (a setting alert's key holds its reference)
    assert any("about one setting (School)" in t for t in texts)


# --- delivery through a real SMTP server -----------------------------------------------------

class Inbox:
    """A mail server on loopback that keeps what it receives; `down()` and `up()` simulate an outage."""

    def __init__(self, port: int):
        self.messages, self.port, self.controller = [], port, None

    def up(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def down(self):
        self.controller.stop()

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"

    def received(self):
        return [(rcpt[0], m["Subject"], m["X-Radar-Message-Key"], m) for rcpt, m in self.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mail(tmp_path, store_url, monkeypatch):
    port = free_port()
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    monkeypatch.setenv("RADAR_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("RADAR_MAIL_FROM", "radar@bscp.example.org")
    inbox = Inbox(port)
    inbox.up()
    yield inbox
    inbox.down()


def save(url, candidates, period="2020-03", today=date(2020, 4, 20), actions=()):
    with get_engine(url).begin() as conn:
        existing = alert_store.read_alerts(conn, LA, empty_state().schema)
        state, transitions = reconcile(existing, pl.DataFrame(candidates, schema=CANDIDATE_SCHEMA), period, today)
        for action in actions:
            state, more = action(state)
            transitions = pl.concat([transitions, more])
        alert_store.save_alerts(conn, LA, state, transitions, "test")


def run(period="2020-03", as_of=date(2020, 4, 20), now=None):

    return send_notifications.fn(period, as_of, now=now or datetime(2020, 4, 20, 9, tzinfo=UTC))


def test_digests_reach_the_chairs_once_grouped_by_subgroup(mail, store_url):
    late = candidate(rule="feed_late", indicator=None, feed="police_monthly", subgroup="pci",
                     message="The police return for Mar 2020 has not arrived.")
    save(store_url, [candidate(), candidate(indicator="cme_referrals"), late])
    rows = run()
    assert {r["status"] for r in rows} == {"sent"} and {r["kind"] for r in rows} == {"digest", "reminder"}
    by_rcpt = {rcpt: (subject, body) for rcpt, subject, _, body in mail.received()}
    assert set(by_rcpt) == {"esac-chair@bscp.example.org", "pci-chair@bscp.example.org",
                            "pci-deputy@bscp.example.org", "data-lead@police.example.org"}
    education = by_rcpt["esac-chair@bscp.example.org"][1]
    text = education.get_body(("plain",)).get_content()
    assert text.count("http://localhost:8501/alerts?alert=") == 2 and "Education" in text
    assert education.get_body(("html",)) is not None
    assert "reminder" in by_rcpt["data-lead@police.example.org"][0]
    assert run() == [] and len(mail.messages) == 4  # a second run sends nothing


def test_repeat_after_the_interval_resolved_notice_and_silence(mail, store_url):
    """Medium severity: no escalation in the way."""
    save(store_url, [candidate(severity="medium"), candidate(indicator="cme_referrals", severity="medium")])
    run()
    save(store_url, [candidate(severity="medium"), candidate(indicator="cme_referrals", severity="medium")], "2020-04", date(2020, 5, 10),
         actions=[lambda s: silence(s, alert_key("spc_outside_limits", "cme_referrals", "", LA), "known",
                                    date(2021, 1, 1), date(2020, 5, 10))])
    assert run("2020-04", date(2020, 5, 17)) == []  # 27 days: too soon to repeat
    rows = run("2020-04", date(2020, 5, 18))
    assert [(r["kind"], r["alerts"]) for r in rows] == [("repeat", [candidate(severity="medium")["key"]])]
    save(store_url, [], "2020-05", date(2020, 6, 20))
    rows = run("2020-05", date(2020, 6, 20))
    assert [(r["kind"], r["alerts"]) for r in rows] == [("resolved", [candidate(severity="medium")["key"]])]
    subjects = [s for _, s, _, _ in mail.received()]
    assert len(subjects) == 3 and "1 resolved" in subjects[-1]


def test_escalation_through_as_of_marks_the_alert(mail, store_url):
    save(store_url, [candidate(), candidate(indicator="cme_referrals", severity="medium")])
    run()
    assert all(r["kind"] != "escalation" for r in run(as_of=date(2020, 5, 3)))
    rows = run(as_of=date(2020, 5, 4))
    assert [(r["kind"], r["to"], r["alerts"]) for r in rows] == [
        ("escalation", ["independent-chair@bscp.example.org"], [candidate()["key"]])]
    assert run(as_of=date(2020, 5, 30)) == [] or all(r["kind"] != "escalation" for r in run(as_of=date(2020, 5, 30)))
    result = CliRunner().invoke(app, ["alerts", "--json"])
    escalated = {a["key"]: a["escalated"] for a in json.loads(result.stdout)}
    assert escalated == {candidate()["key"]: "2020-05-04", candidate(indicator="cme_referrals")["key"]: None}


def test_an_outage_loses_nothing_and_each_message_is_sent_once_when_the_server_is_back(mail, store_url):
    save(store_url, [candidate()])
    mail.down()
    rows = run()
    assert [r["status"] for r in rows] == ["failed"] and not mail.messages
    with get_engine(store_url).connect() as conn:
        (stored,) = outbox.messages(conn, LA)
    assert stored["attempts"] == 1 and stored["last_error"] and stored["next_attempt_at"] > datetime(2020, 4, 20, 9, tzinfo=UTC)
    assert run(now=datetime(2020, 4, 20, 9, 1, tzinfo=UTC)) == []  # back-off: not due yet
    mail.up()
    rows = run(now=datetime(2020, 4, 20, 10, tzinfo=UTC))
    assert [r["status"] for r in rows] == ["sent"]
    run(now=datetime(2020, 4, 21, 10, tzinfo=UTC))
    assert len(mail.messages) == 1


def test_a_crash_between_send_and_commit_resends_with_the_same_key(mail, store_url, monkeypatch):
    """At-least-once: the message goes again after the back-off, carrying the same X-Radar-Message-Key."""
    save(store_url, [candidate()])

    def crash(*args):
        raise RuntimeError("killed after sending")

    with monkeypatch.context() as patched, pytest.raises(RuntimeError):
        patched.setattr(outbox, "mark_sent", crash)
        run()
    assert len(mail.messages) == 1
    assert run(now=datetime(2020, 4, 20, 9, 2, tzinfo=UTC)) == []  # within the back-off: nothing sent
    run(now=datetime(2020, 4, 20, 10, tzinfo=UTC))
    keys = [key for _, _, key, _ in mail.received()]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_without_a_mail_server_messages_wait_in_the_outbox(tmp_path, store_url, monkeypatch):
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    monkeypatch.delenv("RADAR_SMTP_URL", raising=False)
    monkeypatch.delenv("RADAR_MAIL_FROM", raising=False)
    save(store_url, [candidate()])
    rows = run()
    assert [(r["status"], r["note"]) for r in rows] == [("pending", NOT_CONFIGURED)]
    assert "RADAR_SMTP_URL" in NOT_CONFIGURED
    result = CliRunner().invoke(app, ["outbox", "--json", "--status", "pending"])
    assert [r["key"] for r in json.loads(result.stdout)] == [rows[0]["key"]]


def test_the_demo_month_is_judged_on_its_as_of_date_and_a_corrected_file_stops_the_reminders(
        tmp_path, store_url, monkeypatch):
    """March 2020 judged, with no --as-of, on 30 Apr 2020 (not today's calendar); the cycle's digest that waited
    for a mail server goes alone; the police data lead is told what was wrong with the rejected file, then
    nothing more once the corrected file is in force."""
    monkeypatch.setenv("RADAR_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RADAR_DATABASE_URL", store_url)
    monkeypatch.delenv("RADAR_SMTP_URL", raising=False)
    monkeypatch.delenv("RADAR_MAIL_FROM", raising=False)
    rejected = candidate(rule="feed_rejected", indicator=None, feed="police_monthly", subgroup="pci",
                         scope="police_monthly", severity="medium",
                         evidence={"feed_id": "police_monthly", "period": "2020-03", "due_date": "2020-04-10"})
    with get_engine(store_url).begin() as conn:
        submission_store.record_submission(conn, la_code=LA, actor="test", feed_id="police_monthly", period="2020-03",
                                file_name="police_monthly__2020-03.csv", file_hash="a" * 64, status="rejected",
                                received_at=datetime(2020, 4, 9, 9, tzinfo=UTC), row_count=12, error_count=4,
                                errors_json=json.dumps(REJECTED_ERRORS), message="rejected")
    save(store_url, [candidate(), rejected], today=date(2020, 4, 30))
    cycle = send_notifications.fn("2020-03", None, now=datetime(2026, 12, 6, 9, tzinfo=UTC))  # as the demo's cycle
    assert {r["status"] for r in cycle} == {"pending"}
    with get_engine(store_url).connect() as conn:
        assert set(outbox.notices(conn, LA)["noticed_on"]) == {date(2020, 4, 30)}
    reminder = next(r for r in cycle if r["to"] == ["data-lead@police.example.org"])
    with get_engine(store_url).connect() as conn:
        (stored,) = [m for m in outbox.messages(conn, LA) if m["key"] == reminder["key"]]
        body = conn.execute(outbox.OUTBOX.select().where(outbox.OUTBOX.c.key == reminder["key"])).one().body_text
    assert stored["created_on"] == date(2020, 4, 30)
    assert "Not a whole number: 2 rows." in body and "/upload" in body and CHILD_REF not in body

    port = free_port()
    monkeypatch.setenv("RADAR_SMTP_URL", f"smtp://127.0.0.1:{port}")
    monkeypatch.setenv("RADAR_MAIL_FROM", "radar@bscp.example.org")
    inbox = Inbox(port)
    inbox.up()
    try:
        rows = send_notifications.fn("2020-03", None, now=datetime(2026, 12, 6, 10, tzinfo=UTC))  # `radar notify`
        assert sorted(r["kind"] for r in rows) == ["digest", "digest", "reminder"]  # no repeat, no escalation
        assert {r["status"] for r in rows} == {"sent"}
        with get_engine(store_url).begin() as conn:  # the corrected file is accepted before the next run
            submission_store.record_submission(conn, la_code=LA, actor="test", feed_id="police_monthly", period="2020-03",
                                    file_name="police_monthly__2020-03.csv", file_hash="b" * 64, status="accepted",
                                    is_current=True, received_at=datetime(2020, 5, 2, 9, tzinfo=UTC), row_count=12)
        later = send_notifications.fn("2020-03", date(2020, 6, 1), now=datetime(2026, 12, 6, 11, tzinfo=UTC))
        assert {r["kind"] for r in later} == {"repeat", "escalation"}  # the chairs' repeats are due by then
        assert all("data-lead@police.example.org" not in r["to"] for r in later)
    finally:
        inbox.down()


def test_the_alert_card_says_who_was_told_and_whether_it_escalated():
    from radar.core.config import get_context
    from radar.dashboard.signals import who_was_told

    ctx = get_context()
    notices = pl.DataFrame([{"alert_key": "k", "receiver": "subgroup:pci", "kind": "new",
                             "noticed_on": date(2020, 4, 20), "status": "sent"},
                            {"alert_key": "k", "receiver": "agency:police", "kind": "repeat",
                             "noticed_on": date(2020, 5, 18), "status": "pending"}])
    line = who_was_told(ctx, {"key": "k", "escalated_on": date(2020, 5, 4)}, notices)
    # people by name, never the routing ids ("subgroup:pci") or the outbox's words ("pending")
    pci, police = ctx.config.subgroups["pci"].chair, ctx.config.agencies["police"].name
    assert f"{pci} (first told 20 Apr 2020, sent)" in line and "Independent Chair on 4 May 2020" in line
    assert f"Data lead, {police} (reminded 18 May 2020, waiting to be sent)" in line
    assert "subgroup:" not in line and "agency:" not in line and "pending" not in line
    assert who_was_told(ctx, {"key": "other", "escalated_on": None}, notices) is None
