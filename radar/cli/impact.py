"""`radar impact`: the Impact Log listed, and its entries added and updated (radar.actions.register)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import typer

from radar.cli.common import ByOption, JsonOption, Table, app, console, print_json, print_table, refusals, store

impact_app = typer.Typer(help="The Impact Log: each challenge, the action taken and its evidence of impact, "
                               "linked to risks and alerts.",
                         no_args_is_help=True)
app.add_typer(impact_app, name="impact")


@impact_app.command("list")
def impact_list(
    as_json: JsonOption = False,
    subgroup: Annotated[str | None, typer.Option(help="Only this subgroup's entries.")] = None,
    status: Annotated[str | None, typer.Option(help="Only entries with this status: open, in_progress or "
                                                       "complete.")] = None,
) -> None:
    """List the Impact Log: each challenge, the action and its evidence of impact."""
    from radar.actions.register import NOT_LOADED, impact_links, impact_log, loaded

    ctx, engine = store()
    with refusals():
        links = impact_links(engine, ctx)
        rows = [r | {"risks": links.get(r["id"], {}).get("risk", []), "alerts": links.get(r["id"], {}).get("alert", [])}
                for r in impact_log(engine, ctx)
                if subgroup in (None, r["subgroup"]) and status in (None, r["status"])]
    if not rows and not loaded(engine, ctx):
        console.print(f"No Impact Log entries: {NOT_LOADED}.")
    if as_json:
        print_json(rows)
        return
    table = Table("id", "date", "subgroup", "challenge", "action", "owner", "status", "risks", title="Impact Log")
    for r in rows:
        table.add_row(r["id"], str(r["date"]), r["subgroup"], r["challenge"], r["action"], r["owner"], r["status"],
                      ", ".join(r["risks"]))
    print_table(table)


@impact_app.command("add")
def impact_add(
    subgroup: Annotated[str, typer.Option(help="The subgroup that raised the challenge (e.g. pci).")],
    challenge: Annotated[str, typer.Option(help="The challenge made.")],
    action: Annotated[str, typer.Option(help="The action agreed.")],
    owner: Annotated[str, typer.Option(help="Who owns the action.")],
    by: ByOption,
    on: Annotated[datetime | None, typer.Option("--date", formats=["%Y-%m-%d"],
                                                   help="When it was raised (default today).")] = None,
    status: Annotated[str, typer.Option(help="open, in_progress or complete.")] = "open",
    evidence: Annotated[str, typer.Option(help="Evidence of impact so far.")] = "",
) -> None:
    """Add an entry to the Impact Log (its id is the next IL number)."""
    from radar.actions.register import add_impact_entry

    ctx, engine = store()
    with refusals():
        added = add_impact_entry(engine, ctx, subgroup=subgroup, challenge=challenge, action=action, owner=owner,
                                 on=on.date() if on else date.today(), status=status, evidence=evidence, by=by)
    console.print(f"Added {added}")


@impact_app.command("update")
def impact_update(
    entry_id: Annotated[str, typer.Argument(help="The entry's id, e.g. IL04.")],
    by: ByOption,
    version: Annotated[int, typer.Option(help="The entry's version you are editing (radar impact list --json).")],
    status: Annotated[str | None, typer.Option(help="open, in_progress or complete.")] = None,
    action: Annotated[str | None, typer.Option(help="The action, reworded.")] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns the action now.")] = None,
    evidence: Annotated[str | None, typer.Option(help="Evidence of impact.")] = None,
) -> None:
    """Update an Impact Log entry's status, action, owner or evidence of impact."""
    from radar.actions.register import update_impact_entry

    changes = {k: v for k, v in {"status": status, "action": action, "owner": owner, "evidence": evidence}.items()
               if v is not None}
    ctx, engine = store()
    with refusals():
        update_impact_entry(engine, ctx, entry_id, changes, by=by, version=version)
    console.print(f"{entry_id}: updated")


@impact_app.command("link")
def impact_link(
    entry_id: Annotated[str, typer.Argument(help="The entry's id, e.g. IL04.")],
    by: ByOption,
    risk: Annotated[str | None, typer.Option(help="A register risk's id, e.g. R04.")] = None,
    alert: Annotated[str | None, typer.Option(help="An alert's ref as radar alerts list shows it.")] = None,
) -> None:
    """Link an Impact Log entry to a register risk (--risk) or an alert (--alert)."""
    from radar.actions.register import link_impact_entry

    ctx, engine = store()
    with refusals():
        said = link_impact_entry(engine, ctx, entry_id, by=by, risk_id=risk, alert=alert)
    console.print(f"{entry_id}: linked to {said}")
