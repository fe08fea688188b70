"""Who is told about which alert, when, and in what words: pure routing, timing and rendering.

The flow (flows/notify.py) reads the alerts and what was already said
(`notices`: one row per alert a receiver was told about, kept whether or not
the message has left the outbox yet), and this module decides the messages:

- **routing** follows Prometheus Alertmanager: `route` walks the configured
  tree with the alert's labels (rule, indicator, feed, agency, subgroup,
  severity); the first matching child wins unless it says `continue`;
- **timing**: an alert is announced once when it opens (again only after it
  was resolved and reopened); an open, unacknowledged one is repeated after
  `repeat_after_days`; a resolved notice follows an announcement once;
  silenced and acknowledged alerts are not repeated; indicator alerts held
  back by a late or rejected feed are not sent (the feed alert says so);
- **escalation**: an open alert of a severity with `escalate_after_days`,
  unacknowledged that long since it was raised, goes to the Independent
  Chair in its own message, once;
- **rendering**: one digest per receiver and channel per cycle, grouped by
  subgroup, in plain text and simple HTML, each alert with its one-sentence
  explanation and a dashboard link.  Messages never quote an alert's key or
  evidence: a setting's reference (an alert's scope) and pseudonymised values
  are replaced before anything is written, so no child or setting is named.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlsplit

from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE
from radar.core.catalogue import Catalogue
from radar.core.config import PartnershipConfig, Route, address_problem
from radar.pipelines.alerts.inhibition import is_held

ITEM_ORDER = ("new", "repeat", "resolved")  # within a digest, and the message kind's precedence
DIGEST_KIND = {"new": "digest", "repeat": "repeat", "resolved": "resolved"}
FIRST_RETRY = timedelta(minutes=5)
LAST_RETRY = timedelta(hours=24)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass(frozen=True)
class Recipient:
    receiver: str  # subgroup:pci, agency:police, owner:<role>, independent_chair
    name: str
    addresses: tuple[str, ...]


# --- routing ------------------------------------------------------------------------------


def alert_labels(alert: dict, catalogue: Catalogue, owners: dict[str, str]) -> dict[str, str | None]:
    """The labels routes match on, plus `owner` (a risk's owner, from `owners`: risk id -> role)."""
    feed = catalogue.feed_by_id.get(alert["feed"] or "")
    risk = json.loads(alert.get("evidence") or "{}").get("risk")
    return {"rule": alert["rule"], "indicator": alert["indicator"], "feed": alert["feed"],
            "agency": feed.agency if feed else None, "subgroup": alert["subgroup"], "severity": alert["severity"],
            "owner": owners.get(risk) if isinstance(risk, str) else None}


def route(labels: dict[str, str | None], node: Route) -> list[str]:
    """The receivers an alert goes to, each with its `{label}`s filled (Alertmanager's matching)."""
    return list(dict.fromkeys(_walk(labels, node, node.receiver) or []))


def _walk(labels: dict, node: Route, inherited: str | None) -> list[str] | None:
    if any(labels.get(label) not in values for label, values in node.match.items()):
        return None
    receiver = node.receiver or inherited
    found: list[str] = []
    for child in node.routes:
        got = _walk(labels, child, receiver)
        if got is not None:
            found += got
            if not child.continue_:
                break
    return found or [_fill(receiver or "subgroup:{subgroup}", labels)]


def _fill(template: str, labels: dict) -> str:
    """`subgroup:{subgroup}` -> `subgroup:pci`; a label the alert lacks leaves the template to fall back on."""
    try:
        return template.format(**{k: v for k, v in labels.items() if v is not None})
    except KeyError:
        return template


def recipient(config: PartnershipConfig, receiver: str) -> Recipient | None:
    """Who a receiver is and their addresses; None when the directory has nobody for it."""
    kind, _, name = receiver.partition(":")
    if receiver == "independent_chair" and config.independent_chair:
        return Recipient(receiver, config.independent_chair.name, (config.independent_chair.email,))
    if kind == "subgroup" and name in config.subgroups:
        group = config.subgroups[name]
        deputy = (group.deputy_email,) if group.deputy_email else ()
        return Recipient(receiver, group.chair, (group.email, *deputy))
    if kind == "agency" and name in config.agencies:
        return Recipient(receiver, f"Data lead, {config.agencies[name].name}", (config.agencies[name].contact,))
    if kind == "owner" and name in config.notifications.owners:
        return Recipient(receiver, name, (config.notifications.owners[name],))
    return None


def receivers(alert: dict, labels: dict, config: PartnershipConfig) -> list[Recipient]:
    """The alert's routed recipients; one the directory cannot resolve falls back to the alert's subgroup."""
    found = []
    for name in route(labels, config.notifications.route):
        who = recipient(config, name) or recipient(config, f"subgroup:{alert['subgroup']}")
        if who and who not in found:
            found.append(who)
    return found


# --- timing -------------------------------------------------------------------------------


def due_item(alert: dict, last: dict | None, today: date, repeat_after_days: int) -> str | None:
    """What to tell a receiver about an alert now: new, repeat, resolved or nothing (None).

    `last` is the latest notice this receiver had about it (kind, noticed_on).
    """
    told_open = last is not None and last["kind"] != "resolved"
    if alert["status"] in ACTIVE and not told_open:
        return "new"
    if (alert["status"] == "open" and told_open
            and (today - last["noticed_on"]).days >= repeat_after_days):
        return "repeat"
    if alert["status"] == "resolved" and told_open:
        return "resolved"
    return None


def escalates(alert: dict, today: date, escalate_after_days: dict[str, int]) -> bool:
    """Open (not acknowledged) for at least the severity's days since raised, and not escalated yet."""
    days = escalate_after_days.get(alert["severity"])
    return (days is not None and alert["status"] == "open" and alert["escalated_on"] is None
            and alert["raised_on"] is not None and (today - alert["raised_on"]).days >= days)


def next_attempt(attempts: int, now: datetime) -> datetime:
    """Back-off after the `attempts`-th try: 5 minutes, doubling, at most a day; never giving up."""
    return now + min(FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 16), LAST_RETRY)


# --- the plan -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    """What planning needs besides the alerts: the partnership and the cycle."""

    config: PartnershipConfig
    catalogue: Catalogue
    period: str
    today: date
    withheld: frozenset[str] = frozenset()  # evidence keys holding pseudonymised values


def plan(alerts: Iterable[dict], notices: Iterable[dict], owners: dict[str, str], held: Collection[str],
         ctx: Context) -> tuple[list[dict], list[str]]:
    """(messages to put in the outbox, keys of alerts that escalate now).

    Each message: key, receiver, channel, to, kind, subject, text, html,
    alerts (keys) and items (alert key -> new/repeat/resolved/escalation).
    """
    settings = ctx.config.notifications
    last: dict[tuple[str, str], dict] = {}
    for notice in sorted(notices, key=lambda n: n["noticed_on"]):
        if notice["kind"] != "escalation":
            last[(notice["alert_key"], notice["receiver"])] = notice
    digests: dict[Recipient, list[tuple[dict, str]]] = {}
    escalated = []
    for alert in sorted(alerts, key=lambda a: a["key"]):
        if alert["status"] == "silenced" or is_held(alert, held):
            continue
        labels = alert_labels(alert, ctx.catalogue, owners)
        for who in receivers(alert, labels, ctx.config):
            item = due_item(alert, last.get((alert["key"], who.receiver)), ctx.today, settings.repeat_after_days)
            if item:
                digests.setdefault(who, []).append((alert, item))
        if ctx.config.independent_chair and escalates(alert, ctx.today, settings.escalate_after_days):
            escalated.append(alert)
    messages = [m for who, items in digests.items() for m in _messages(who, items, _kind(who, items), ctx)]
    chair = recipient(ctx.config, "independent_chair")
    for alert in escalated:
        messages += _messages(chair, [(alert, "escalation")], "escalation", ctx)
    return messages, [a["key"] for a in escalated]


def _kind(who: Recipient, items: list[tuple[dict, str]]) -> str:
    if who.receiver.startswith("agency:"):
        return "reminder"
    return DIGEST_KIND[min((item for _, item in items), key=ITEM_ORDER.index)]


def channels(config: PartnershipConfig, who: Recipient) -> list[str]:
    """E-mail, then every further apprise channel configured for this receiver."""
    extra = [f"apprise:env:{c.url_env}" if c.url_env else f"apprise:block:{c.secret_block}"
             for c in config.notifications.channels if c.receiver == who.receiver]
    return ["email", *extra]


def _messages(who: Recipient, items: list[tuple[dict, str]], kind: str, ctx: Context) -> list[dict]:
    items = sorted(items, key=lambda pair: (ITEM_ORDER.index(pair[1]) if pair[1] in ITEM_ORDER else 0,
                                            pair[0]["subgroup"], pair[0]["key"]))
    subject, text, markup = render(who, items, kind, ctx)
    out = []
    for channel in channels(ctx.config, who):
        identity = "|".join([ctx.config.partnership.la_code, ctx.period, who.receiver, channel, kind,
                             *(f"{a['key']}:{item}" for a, item in items)])
        key = "radar-" + hashlib.sha256(identity.encode()).hexdigest()[:24]
        out.append({"key": key, "receiver": who.receiver, "channel": channel,
                    "to": list(who.addresses) if channel == "email" else [who.name], "kind": kind,
                    "subject": subject, "text": f"{text}\nMessage key: {key}\n", "html": markup + _html_key(key),
                    "alerts": [a["key"] for a, _ in items], "items": {a["key"]: item for a, item in items}})
    return out


# --- rendering ----------------------------------------------------------------------------

INTRO = {
    "digest": "New alerts for your subgroup this month, with any still waiting and any that have cleared.",
    "repeat": "These alerts are still open and nobody has acknowledged them yet.",
    "resolved": "These alerts have cleared: the data no longer shows the problem.",
    "reminder": "Your agency's data return for this month has not been received in a usable form. The "
                "Performance, Challenge & Impact subgroup has been told; please send the file, or a corrected "
                "one, as soon as you can.",
    "escalation": "This high-severity alert has not been acknowledged by its subgroup within the agreed time, "
                  "so it comes to you as Independent Chair.",
}
ITEM_LABEL = {"new": "New", "repeat": "Still open, not yet acknowledged", "resolved": "Resolved",
              "escalation": "Not acknowledged"}
ACTION = ("To acknowledge an alert: radar alerts ack <id> --by \"<your name>\" --note \"<what is being done>\", "
          "or open its link.")


def safe_sentence(alert: dict, la_code: str, withheld: Collection[str]) -> str:
    """The alert's one-sentence explanation with no setting or child named.

    A record-level alert's scope is the setting's reference (the partnership's
    own alerts are scoped to its la_code): it becomes "one setting", and any
    evidence value under a pseudonymised key becomes "[withheld]".
    """
    sentence = alert["message"]
    evidence = json.loads(alert.get("evidence") or "{}")
    for key in withheld:
        if evidence.get(key) not in (None, ""):
            sentence = sentence.replace(str(evidence[key]), "[withheld]")
    if alert["scope"] and alert["scope"] != la_code:
        sentence = sentence.replace(alert["scope"], "\0")
        sentence = re.sub(r"\b(?:setting|school|provider)\s+\0", "one setting", sentence, flags=re.IGNORECASE)
        sentence = sentence.replace("\0", "one setting")
    return sentence


def _about(alert: dict, catalogue: Catalogue) -> str:
    indicator = catalogue.indicator_by_id.get(alert["indicator"] or "")
    if indicator:
        return indicator.name
    feed = catalogue.feed_by_id.get(alert["feed"] or "")
    return feed.name if feed else alert["rule"].replace("_", " ")


def _subgroup(catalogue: Catalogue, subgroup: str) -> str:
    return next((s.name for s in catalogue.subgroups if s.id == subgroup), subgroup)


def link(dashboard_url: str, alert: dict) -> str:
    return f"{dashboard_url.rstrip('/')}/alerts?alert={quote(alert['ref'])}"


def render(who: Recipient, items: list[tuple[dict, str]], kind: str, ctx: Context) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of one message; its text comes only from safe sentences and names."""
    config, catalogue, la = ctx.config, ctx.catalogue, ctx.config.partnership.la_code
    month = periods.label(ctx.period)
    counts = {item: sum(i == item for _, i in items) for item in (*ITEM_ORDER, "escalation")}
    summary = ", ".join(f"{n} {ITEM_LABEL[item].split(',')[0].lower()}" for item, n in counts.items() if n)
    short = config.partnership.short_name
    if kind == "escalation":
        subject = f"{short} Radar escalation: {_about(items[0][0], catalogue)} ({items[0][0]['ref']})"
    elif kind == "reminder":
        subject = f"{short} Radar reminder: your data return for {month}"
    else:
        subject = f"{short} Radar {month}: {summary}"
    lines = [f"Dear {who.name},", "", INTRO[kind], ""]
    parts = [f"<p>Dear {html.escape(who.name)},</p>", f"<p>{html.escape(INTRO[kind])}</p>"]
    for subgroup in dict.fromkeys(a["subgroup"] for a, _ in items):
        name = _subgroup(catalogue, subgroup)
        lines += [name, "-" * len(name)]
        parts += [f"<h3>{html.escape(name)}</h3>", "<ul>"]
        for alert, item in (pair for pair in items if pair[0]["subgroup"] == subgroup):
            sentence, url = safe_sentence(alert, la, ctx.withheld), link(config.notifications.dashboard_url, alert)
            status = ITEM_LABEL[item] + (f" in {periods.label(alert['cleared_period'])}"
                                         if item == "resolved" and alert["cleared_period"] else "")
            since = f"since {periods.label(alert['first_period'])}"
            lines += [f"* [{alert['severity']}] {_about(alert, catalogue)} -- {status} ({since}), id {alert['ref']}",
                      f"  {sentence}", f"  {url}", ""]
            parts.append(f"<li><b>[{html.escape(alert['severity'])}] {html.escape(_about(alert, catalogue))}</b> "
                         f"&ndash; {html.escape(status)} ({html.escape(since)}), id <code>{html.escape(alert['ref'])}"
                         f"</code><br>{html.escape(sentence)}<br><a href=\"{html.escape(url)}\">{html.escape(url)}</a></li>")
        parts.append("</ul>")
    lines += [ACTION, "", f"Sent by Radar for {config.partnership.name}."]
    parts += [f"<p>{html.escape(ACTION)}</p>", f"<p>Sent by Radar for {html.escape(config.partnership.name)}.</p>"]
    return subject, "\n".join(lines), "<html><body>" + "".join(parts) + "</body></html>"


def _html_key(key: str) -> str:
    return f"<!-- message key {key} --><p style=\"color:#888\">Message key: {key}</p>"


# --- the mail server ------------------------------------------------------------------------


def email_url(smtp_url: str, mail_from: str, to: Iterable[str], key: str) -> str:
    """The apprise URL for one e-mail: `smtp://[user:pass@]host:port` uses STARTTLS (plain SMTP only on
    the loopback interface, e.g. a local mail catcher), `smtps://` TLS from the start.  The message key
    travels as the X-Radar-Message-Key header."""
    to = list(to)
    if problem := refused_recipients(to):
        raise ValueError(problem)
    if any(c in mail_from for c in "\r\n,;"):
        raise ValueError("RADAR_MAIL_FROM must be one address, on one line")
    parts = urlsplit(smtp_url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError("RADAR_SMTP_URL must look like smtp://[user:pass@]host:port or smtps://host:port")
    mode = "ssl" if parts.scheme == "smtps" else "insecure" if parts.hostname in LOOPBACK else "starttls"
    login = f"{quote(parts.username, safe='')}:{quote(parts.password or '', safe='')}@" if parts.username else ""
    port = parts.port or (465 if mode == "ssl" else 587 if mode == "starttls" else 25)
    query = (f"smtp={parts.hostname}&mode={mode}&from={quote(mail_from)}&to={quote(','.join(to))}"
             f"&+X-Radar-Message-Key={key}")
    return f"mailto://{login}{parts.hostname}:{port}?{query}"


def refused_recipients(to: Iterable[str]) -> str | None:
    """Why an e-mail's recipients cannot be used (None when each is one plain address).

    The partnership file's addresses are checked when it is read; this guards
    the send itself (a message stored before that check, or any other caller):
    apprise splits its `to` on commas and spaces, so one bad entry could add
    recipients.
    """
    problems = [f"{address!r} {problem}" for address in to if (problem := address_problem(address)) is not None]
    return "refused, nothing sent: recipient " + "; ".join(problems) if problems else None
