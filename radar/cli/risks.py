"""`radar risks`: the risk register listed and shown, and its edits (radar.actions.register)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from radar.cli.common import ByOption, JsonOption, Table, app, console, print_json, print_table, refusals, store

risks_app = typer.Typer(help="The risk register: list, show, add, score, review, decide on proposed re-scores, "
                             "and the actions on a risk.",
                        no_args_is_help=True)
app.add_typer(risks_app, name="risks")

NEED_VERSION = "give --expected-version: the risk's version you saw (radar risks show ID)"
RiskId = Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")]


@risks_app.command("list")
def risks_list(
    as_json: JsonOption = False,
    subgroup: Annotated[str | None, typer.Option(help="Only this subgroup's risks (e.g. pci).")] = None,
    status: Annotated[str | None, typer.Option(help="Only risks with this status: open, treated, accepted "
                                                       "or closed.")] = None,
) -> None:
    """List the register's risks with their scores, appetite, evidence and proposed re-scores."""
    from radar.actions.register import NOT_LOADED, judged_on, loaded, risks

    ctx, engine = store()
    with refusals():
        rows = [r for r in risks(engine, ctx, judged_on(engine, ctx, date.today()))[1]
                if subgroup in (None, r["subgroup"]) and status in (None, r["status"])]
    if not rows and not loaded(engine, ctx):
        console.print(f"No risks: {NOT_LOADED}.")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "title", "subgroup", "owner", "current", "band", "appetite", "status", "next review",
                  "proposals", title="Risk register")
    for r in rows:
        table.add_row(r["id"], r["title"], r["subgroup"], r["owner"], str(r["current"]["score"]), r["band"],
                      "out" if r["out_of_appetite"] else "within", r["status"], str(r["next_review"]),
                      str(sum(p["status"] == "proposed" for p in r["proposals"])))
    print_table(table)


@risks_app.command("show")
def risks_show(risk_id: RiskId, as_json: JsonOption = False) -> None:
    """One risk in full, with its history (every change: who, when, what, why)."""
    from radar.actions.register import judged_on, risk

    ctx, engine = store()
    with refusals():
        row = risk(engine, ctx, risk_id, judged_on(engine, ctx, date.today()))
    if as_json:
        print_json(row)
    else:
        typer.echo(risk_text(row))


def _day(value) -> str:
    """A date (or a date and time) as people write it: 6 Jan 2027 (14:05)."""
    if isinstance(value, datetime):
        return f"{value.day} {value:%b %Y %H:%M}"
    return f"{value.day} {value:%b %Y}" if isinstance(value, date) else str(value)


def _score(s: dict) -> str:
    return f"{s['likelihood']} x {s['impact']} = {s['score']}" if "score" in s else f"{s['likelihood']} x {s['impact']}"


def _detail(detail: dict) -> str:
    """An audit event's detail in words: its reason or note, else each field (a change as `from -> to`)."""
    if "title" in detail:
        return ""  # a whole risk as added or loaded: its fields are shown above
    for said in ("reason", "note", "message"):
        if isinstance(detail.get(said), str) and detail[said]:
            return detail[said]
    parts = []
    for key, value in detail.items():
        if key == "version":
            continue
        if isinstance(value, dict) and set(value) == {"from", "to"}:
            value = f"{value['from']} -> {value['to']}"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        parts.append(f"{key.replace('_', ' ')} {value}")
    return "; ".join(parts)


def risk_text(risk: dict) -> str:
    """One risk, as `radar risks show` prints it: fields in words, dates as dates, its actions and history."""
    lines = [f"{risk['id']}: {risk['title']}  (version {risk['version']})", "",
             f"Subgroup:    {risk['subgroup']}; owner {risk['owner']}; status {risk['status']}",
             f"Current:     {_score(risk['current'])} ({risk['band']} band, trend {risk['trend']})",
             f"Inherent:    {_score(risk['inherent'])}; target {_score(risk['target'])}",
             f"Appetite:    {risk['category']}, {risk['appetite']} or less: "
             + ("OUT of appetite" if risk["out_of_appetite"] else "within appetite"),
             f"Next review: {_day(risk['next_review'])}" + (" (overdue)" if risk.get("review_overdue") else "")]
    if risk.get("approver"):
        lines.append(f"Accepted by: {risk['approver']} until {_day(risk['expiry'])}")
    for label in ("cause", "event", "consequence"):
        if risk[label]:
            lines.append(f"{label.capitalize() + ':':<12} {risk[label]}")
    if risk["confidence_reason"] or risk["confidence"]:
        lines.append(f"Confidence:  {risk['confidence']}" + (f": {risk['confidence_reason']}"
                                                              if risk["confidence_reason"] else ""))
    if risk["linked_indicators"]:
        lines.append(f"Indicators:  {', '.join(risk['linked_indicators'])}")
    lines += ["", "Controls:"] + [f"  - {c['description']} ({c['effectiveness'].replace('_', ' ')})"
                                  for c in risk["controls"]] if risk["controls"] else []
    lines += ["", "Actions (number: what, owner, due, status):"] + [
        f"  {a['id']}: {a['description']}; {a['owner']}; due {_day(a['due'])}; {a['status']}"
        + (" (overdue)" if a.get("overdue") else "") + (f"; {a['note']}" if a.get("note") else "")
        for a in risk["actions"]] if risk["actions"] else ["", "Actions: none"]
    waiting = [p for p in risk["proposals"] if p["status"] == "proposed"]
    if waiting:
        lines += ["", "Proposed re-scores:"] + [f"  {p['id']}: {p['likelihood']} x {p['impact']}: {p['reason']}"
                                                for p in waiting]
    lines += ["", "History:"] + [f"  {_day(e['at'])}  {e['by']}  {e['what'].replace('_', ' ')}"
                                 + (f": {_detail(e['detail'])}" if _detail(e["detail"]) else "")
                                 for e in risk.get("history", [])]
    return "\n".join(lines)


@risks_app.command("add")
def risks_add(
    by: ByOption,
    title: Annotated[str | None, typer.Option(help="What the risk is, in a line.")] = None,
    subgroup: Annotated[str | None, typer.Option(help="The subgroup that answers for it (e.g. pci).")] = None,
    owner: Annotated[str | None, typer.Option(help="Its owner: one of the register's owners.")] = None,
    likelihood: Annotated[int | None, typer.Option(help="Likelihood now (1 to the matrix's top level).")] = None,
    impact: Annotated[int | None, typer.Option(help="Impact now (1 to the matrix's top level).")] = None,
    appetite: Annotated[str | None, typer.Option(help="Whose appetite applies: strategic or operational.")] = None,
    priority: Annotated[str, typer.Option(help="The partnership priority: local_safeguarding_context, early_help "
                                               "or leadership_and_partnership.")] = "local_safeguarding_context",
    cause: Annotated[str, typer.Option(help="Its cause.")] = "",
    event: Annotated[str, typer.Option(help="The event feared.")] = "",
    consequence: Annotated[str, typer.Option(help="Its consequence.")] = "",
    indicator: Annotated[list[str] | None, typer.Option(help="A catalogue indicator whose alerts evidence it "
                                                                "(repeat for more).")] = None,
    file: Annotated[Path | None, typer.Option(help="Instead: a YAML file with `risks:` as in bromley_risks.yaml.",
                                                 exists=True)] = None,
) -> None:
    """Add a risk: --title, --subgroup, --owner, --likelihood, --impact and --appetite (its id is the next R
    number); or every risk in a YAML --file, none if any is refused."""
    from radar.actions.refusal import refuse_if
    from radar.actions.register import add_risk, add_risks

    form = {"title": title, "subgroup": subgroup, "owner": owner, "likelihood": likelihood, "impact": impact,
            "appetite": appetite}
    ctx, engine = store()
    with refusals():
        if file is not None:
            refuse_if([] if all(v is None for v in form.values()) else ["give either --file or the risk's fields"])
            added = add_risks(engine, ctx, file, by=by, today=date.today())
        else:
            refuse_if([f"--{k} is needed" for k, v in form.items() if v is None])
            added = [add_risk(engine, ctx, **form, by=by, today=date.today(), priority=priority, cause=cause,
                              event=event, consequence=consequence, indicators=tuple(indicator or ()))]
    console.print(f"Added {', '.join(added)}")


@risks_app.command("score")
def risks_score(
    risk_id: RiskId,
    likelihood: Annotated[int, typer.Option(help="New likelihood (1 to the matrix's top level).")],
    impact: Annotated[int, typer.Option(help="New impact (1 to the matrix's top level).")],
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why the score changes.")],
    expected_version: Annotated[int | None, typer.Option(
        help="The risk's version you saw (radar risks show ID); refused if it has changed since.")] = None,
    old_version: Annotated[int | None, typer.Option("--version", hidden=True)] = None,  # its old name
) -> None:
    """Re-score a risk: its current likelihood and impact, with a reason."""
    from radar.actions.refusal import refuse_if
    from radar.actions.register import rescore_risk

    version = expected_version if expected_version is not None else old_version
    ctx, engine = store()
    with refusals():
        refuse_if([] if version is not None else [NEED_VERSION])
        rescore_risk(engine, ctx, risk_id, likelihood=likelihood, impact=impact, by=by, reason=reason,
                     version=version, today=date.today())
    console.print(f"{risk_id}: now {likelihood} x {impact} = {likelihood * impact}")


@risks_app.command("review")
def risks_review(
    risk_id: RiskId,
    by: ByOption,
    note: Annotated[str, typer.Option(help="What the review found.")],
) -> None:
    """Record a review that keeps the score; the next review date follows the score band's cadence."""
    from radar.actions.register import review_risk

    ctx, engine = store()
    with refusals():
        next_review = review_risk(engine, ctx, risk_id, by=by, note=note, today=date.today())
    console.print(f"{risk_id}: reviewed; next review {next_review}")


@risks_app.command("decide")
def risks_decide(
    risk_id: RiskId,
    proposal: Annotated[int, typer.Argument(help="The proposal's id (radar risks show ID).")],
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why you decided so.")],
    accept: Annotated[bool, typer.Option("--accept", help="Take the proposed score.")] = False,
    reject: Annotated[bool, typer.Option("--reject", help="Keep the current score.")] = False,
    change: Annotated[str | None, typer.Option(help="Give another score instead, as LIKELIHOOD,IMPACT.",
                                                  metavar="L,I")] = None,
) -> None:
    """Decide on a proposed re-score: --accept, --reject or --change L,I (the decision is kept in the history)."""
    from radar.actions.refusal import refuse_if
    from radar.actions.register import decide_proposal

    ctx, engine = store()
    with refusals():
        chosen = [name for name, given in (("accepted", accept), ("rejected", reject), ("changed", change)) if given]
        refuse_if([] if len(chosen) == 1 else ["give exactly one of --accept, --reject or --change L,I"])
        score = None
        if change:
            parts = change.split(",")
            refuse_if([] if len(parts) == 2 and all(p.strip().isdigit() for p in parts)
                      else [f"--change must be LIKELIHOOD,IMPACT such as 3,4, not {change!r}"])
            score = (int(parts[0]), int(parts[1]))
        result = decide_proposal(engine, ctx, risk_id, proposal, decision=chosen[0], by=by, reason=reason,
                                 today=date.today(), change=score)
    console.print(f"{risk_id}: proposal {proposal} {result['status']}")


action_app = typer.Typer(help="The actions on a risk: add, update, close (with a note).", no_args_is_help=True)
risks_app.add_typer(action_app, name="action")
ActionId = Annotated[int, typer.Argument(help="The action's number (radar risks show ID).")]
ExpectedVersion = Annotated[int | None, typer.Option(
    help="The risk's version you saw (radar risks show ID); refused if it has changed since.")]
DueOption = Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"], help="When it is due (YYYY-MM-DD).")]


@action_app.command("add")
def action_add(
    risk_id: RiskId,
    description: Annotated[str, typer.Option(help="What will be done.")],
    owner: Annotated[str, typer.Option(help="Who does it.")],
    due: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="When it is due (YYYY-MM-DD).")],
    by: ByOption,
    expected_version: ExpectedVersion = None,
) -> None:
    """Add an action to a risk: what, who and by when."""
    from radar.actions.register import add_risk_action

    ctx, engine = store()
    with refusals():
        number = add_risk_action(engine, ctx, risk_id, description=description, owner=owner, due=due.date(), by=by,
                                 today=date.today(), version=expected_version)
    console.print(f"{risk_id}: action {number} added")


@action_app.command("update")
def action_update(
    risk_id: RiskId,
    action_id: ActionId,
    by: ByOption,
    description: Annotated[str | None, typer.Option(help="What will be done, reworded.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who does it now.")] = None,
    due: DueOption = None,
    expected_version: ExpectedVersion = None,
) -> None:
    """Change an open action's description, owner or due date."""
    from radar.actions.register import update_risk_action

    ctx, engine = store()
    with refusals():
        update_risk_action(engine, ctx, risk_id, action_id, by=by, today=date.today(), description=description,
                           owner=owner, due=due.date() if due else None, version=expected_version)
    console.print(f"{risk_id}: action {action_id} updated")


@action_app.command("close")
def action_close(
    risk_id: RiskId,
    action_id: ActionId,
    by: ByOption,
    note: Annotated[str, typer.Option(help="What was done (or why it is dropped).")],
    dropped: Annotated[bool, typer.Option("--dropped", help="Close it as dropped, not done.")] = False,
    expected_version: ExpectedVersion = None,
) -> None:
    """Close an action, done (or --dropped), with a note."""
    from radar.actions.register import close_risk_action

    ctx, engine = store()
    with refusals():
        close_risk_action(engine, ctx, risk_id, action_id, note=note, by=by, today=date.today(), dropped=dropped,
                          version=expected_version)
    console.print(f"{risk_id}: action {action_id} {'dropped' if dropped else 'done'}")
