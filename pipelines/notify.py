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
- **data leads** (`agency:` receivers) hear only about their agency's files:
  a reminder while the month's file is missing or rejected now (`file_wanted`,
  from the files in force when the message is planned), saying what was wrong
  with a rejected one in the rejection report's words and linking to the
  dashboard's Send a file page, and thanks once its alert resolves;
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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import quote, urlsplit

from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE
from radar.core.catalogue import Catalogue
from radar.core.config import PartnershipConfig, Route, address_problem
from radar.pipelines.alerts.feeds import FEED_RULE_IDS
from radar.pipelines.alerts.inhibition import is_held
from radar.pipelines.messages import feed_title, plural
from radar.validation.problems import EXAMPLES_PER_RULE, RULES

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

    `last` is the latest notice this receiver had about it (kind, noticed_on, and status: whether its
    message has been sent).  A repeat counts its interval from a notice that was sent: while the first
    announcement still waits in the outbox (no mail server yet, or one that is down) nothing is repeated,
    so one run never sends an announcement and its "still open" together.
    """
    told_open = last is not None and last["kind"] != "resolved"
    if alert["status"] in ACTIVE and not told_open:
        return "new"
    if (alert["status"] == "open" and told_open and last["status"] == "sent"
            and (today - last["noticed_on"]).days >= repeat_after_days):
        return "repeat"
    if alert["status"] == "resolved" and told_open:
        return "resolved"
    return None


def escalates(alert: dict, today: date, escalate_after_days: dict[str, int], told_on: date | None) -> bool:
    """Open (not acknowledged) for at least the severity's days since its announcement was sent (`told_on`,
    None while nobody has been sent it) and since it was raised, and not escalated yet: a subgroup is never
    passed over for an alert it has not had the agreed time to acknowledge."""
    days = escalate_after_days.get(alert["severity"])
    return (days is not None and alert["status"] == "open" and alert["escalated_on"] is None
            and alert["raised_on"] is not None and told_on is not None
            and (today - max(alert["raised_on"], told_on)).days >= days)


def announced_on(notices: Iterable[dict]) -> dict[str, date]:
    """Alert key -> the day its latest announcement ("new") to any receiver was sent (noticed_on of a notice
    whose message has left the outbox)."""
    told: dict[str, date] = {}
    for n in notices:
        if n["kind"] == "new" and n["status"] == "sent":
            told[n["alert_key"]] = max(told.get(n["alert_key"], n["noticed_on"]), n["noticed_on"])
    return told


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
    # The month's files as they stand now (models.outbox.feed_files): feed -> {"in_force", "errors"}
    feed_files: Mapping[str, dict] = field(default_factory=dict)


def plan(alerts: Iterable[dict], notices: Iterable[dict], owners: dict[str, str], held: Collection[str],
         ctx: Context) -> tuple[list[dict], list[str]]:
    """(messages to put in the outbox, keys of alerts that escalate now).

    Each message: key, receiver, channel, to, kind, subject, text, html,
    alerts (keys) and items (alert key -> new/repeat/resolved/escalation).
    """
    settings = ctx.config.notifications
    notices = list(notices)
    told = announced_on(notices)
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
            if is_data_lead(who) and alert["status"] in ACTIVE and not file_wanted(alert, ctx):
                continue  # the file has come in since: no "please send the file" (its alert resolves next cycle)
            item = due_item(alert, last.get((alert["key"], who.receiver)), ctx.today, settings.repeat_after_days)
            if item:
                digests.setdefault(who, []).append((alert, item))
        if ctx.config.independent_chair and escalates(alert, ctx.today, settings.escalate_after_days,
                                                      told.get(alert["key"])):
            escalated.append(alert)
    messages = [m for who, items in digests.items() for m in _messages(who, items, _kind(who, items), ctx)]
    chair = recipient(ctx.config, "independent_chair")
    for alert in escalated:
        messages += _messages(chair, [(alert, "escalation")], "escalation", ctx)
    return messages, [a["key"] for a in escalated]


def is_data_lead(who: Recipient) -> bool:
    return who.receiver.startswith("agency:")


def file_wanted(alert: dict, ctx: Context) -> bool:
    """Whether the agency's file an alert is about is still missing or rejected now: the alert is about a feed's
    delivery for the month being notified and no file for that month is in force in the store.  A data lead is
    told about their files only: an alert about anything else routed to them is not theirs to act on."""
    return (alert["rule"] in FEED_RULE_IDS and alert["last_period"] == ctx.period
            and not ctx.feed_files.get(alert["feed"], {}).get("in_force", False))


def _kind(who: Recipient, items: list[tuple[dict, str]]) -> str:
    if is_data_lead(who):
        return "reminder" if any(item != "resolved" for _, item in items) else "resolved"
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
    if is_data_lead(who):
        return render_data_lead(who, items, kind, ctx)
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


# --- a data lead's messages -------------------------------------------------------------------

DATA_LEAD_INTRO = {
    "reminder": "Radar still needs your agency's file for {month}. The Performance, Challenge & Impact subgroup "
                "has been told. Please send it, or a corrected one, as soon as you can.",
    "resolved": "Thank you: the file below has now been accepted, so nothing more is needed for {month}.",
}


def upload_link(dashboard_url: str) -> str:
    """The dashboard's Send a file page: the page a data lead's role opens (not the alerts, which it cannot)."""
    return f"{dashboard_url.rstrip('/')}/upload"


HEADER_ROW = 1  # a Problem's row: the header is row 1, the first data row 2 (validation.problems)


def problems_in_words(errors: Iterable[dict]) -> list[str]:
    """What was wrong with a rejected file, one line per rule broken: its title, how many rows (from the stored
    problems: "the whole file" for a problem with no row, "the header row", "at least" when the stored examples
    were capped) and what to do.  Only Radar's own words: never a cell's value, a column's content or a child's
    reference."""
    rows: dict[str, set[int | None]] = {}
    counts: dict[str, int] = {}
    for problem in errors:
        rows.setdefault(problem["rule"], set()).add(problem.get("row"))
        counts[problem["rule"]] = counts.get(problem["rule"], 0) + 1
    lines = []
    for rule, found in rows.items():
        numbered = len(found - {None})
        where = ("the header row" if found == {HEADER_ROW} else "the whole file" if not numbered
                 else ("at least " if counts[rule] >= EXAMPLES_PER_RULE else "") + plural(numbered, "row", "rows"))
        info = RULES.get(rule)
        title, advice = (info.title, f" {info.advice}") if info else (rule.replace("_", " ").capitalize(), "")
        lines.append(f"{title}: {where}.{advice}")
    return lines


def _file_lines(alert: dict, item: str, ctx: Context) -> tuple[str, list[str]]:
    """(headline, details) for one of the agency's files: what is needed, or that it has been accepted."""
    feed = ctx.catalogue.feed_by_id.get(alert["feed"] or "")
    name = feed_title(feed.name) if feed else "Your return"
    period = alert["last_period"] or ctx.period
    month, file_name = periods.label(period), f"{alert['feed']}__{period}.csv (or .xlsx)"
    due = json.loads(alert.get("evidence") or "{}").get("due_date")
    due_text = f", due {periods.day_label(date.fromisoformat(due))}" if due else ""
    if item == "resolved":
        return f"{name} for {month}: accepted", []
    if alert["rule"] == "feed_rejected":
        errors = ctx.feed_files.get(alert["feed"], {}).get("errors", [])
        wrong = problems_in_words(errors)
        return (f"{name} for {month}{due_text}: the file sent was rejected, so nothing from it has been used",
                (["What was wrong:", *(f"- {line}" for line in wrong)] if wrong else [])
                + [f"Correct it and send the whole file again as {file_name}."])
    return f"{name} for {month}{due_text}: no file has arrived yet", [f"Send it as {file_name}."]


def render_data_lead(who: Recipient, items: list[tuple[dict, str]], kind: str,
                     ctx: Context) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a message to an agency's data lead: which files are still needed and what
    was wrong with a rejected one, or which have since been accepted; a link to the Send a file page, and no
    alert ids or commands (a data lead acts on the dashboard, not on alerts)."""
    config, month = ctx.config, periods.label(ctx.period)
    wanted = [(a, i) for a, i in items if i != "resolved"]
    short = config.partnership.short_name
    subject = (f"{short} Radar reminder: your data return for {month}" if kind == "reminder"
               else f"{short} Radar: your data return for {month} has been accepted")
    url = upload_link(config.notifications.dashboard_url)
    lines = [f"Dear {who.name},", "", DATA_LEAD_INTRO[kind].format(month=month), ""]
    parts = [f"<p>Dear {html.escape(who.name)},</p>", f"<p>{html.escape(DATA_LEAD_INTRO[kind].format(month=month))}</p>"]
    for section, chosen in (("Still needed", wanted), ("Accepted since", [(a, i) for a, i in items if i == "resolved"])):
        if not chosen:
            continue
        lines += [section, "-" * len(section)]
        parts += [f"<h3>{html.escape(section)}</h3>", "<ul>"]
        for alert, item in chosen:
            headline, details = _file_lines(alert, item, ctx)
            lines += [f"* {headline}.", *(f"  {d}" for d in details), ""]
            parts.append(f"<li><b>{html.escape(headline)}.</b>"
                         + "".join(f"<br>{html.escape(d)}" for d in details) + "</li>")
        parts.append("</ul>")
    send = f"Send a file, and see every file your agency has sent and what Radar made of it, at {url}"
    lines += [send, "", f"Sent by Radar for {config.partnership.name}."]
    parts += [f"<p>{html.escape(send.removesuffix(url))}<a href=\"{html.escape(url)}\">{html.escape(url)}</a></p>",
              f"<p>Sent by Radar for {html.escape(config.partnership.name)}.</p>"]
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
