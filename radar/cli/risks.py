"""`radar risks`: the risk register listed and shown, and its edits (radar.actions.register)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Optional

import typer

from radar.cli.common import ByOption, JsonOption, Table, app, console, print_json, print_table, refusals, store

risks_app = typer.Typer(help="The risk register: list, show, add, score, review, decide on proposed re-scores.",
                        no_args_is_help=True)
app.add_typer(risks_app, name="risks")

RiskId = Annotated[str, typer.Argument(help="The risk's id, e.g. R04.")]


@risks_app.command("list")
def risks_list(
    as_json: JsonOption = False,
    subgroup: Annotated[Optional[str], typer.Option(help="Only this subgroup's risks (e.g. pci).")] = None,
    status: Annotated[Optional[str], typer.Option(help="Only risks with this status: open, treated, accepted "
                                                       "or closed.")] = None,
) -> None:
    """List the register's risks with their scores, appetite, evidence and proposed re-scores."""
    from radar.actions.register import risks

    ctx, engine = store()
    with refusals():
        rows = [r for r in risks(engine, ctx, date.today())[1]
                if subgroup in (None, r["subgroup"]) and status in (None, r["status"])]
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
    from radar.actions.register import risk

    ctx, engine = store()
    with refusals():
        row = risk(engine, ctx, risk_id, date.today())
    if as_json:
        print_json(row)
    else:
        print_table(row)


@risks_app.command("add")
def risks_add(
    file: Annotated[Path, typer.Option(help="A YAML file with `risks:` as in bromley_risks.yaml.", exists=True)],
    by: ByOption,
) -> None:
    """Add the risks in a YAML file; if any is refused, none is added."""
    from radar.actions.register import add_risks

    ctx, engine = store()
    with refusals():
        added = add_risks(engine, ctx, file, by=by, today=date.today())
    console.print(f"Added {', '.join(added)}")


@risks_app.command("score")
def risks_score(
    risk_id: RiskId,
    likelihood: Annotated[int, typer.Option(help="New likelihood (1 to the matrix's top level).")],
    impact: Annotated[int, typer.Option(help="New impact (1 to the matrix's top level).")],
    by: ByOption,
    reason: Annotated[str, typer.Option(help="Why the score changes.")],
    version: Annotated[int, typer.Option(help="The risk's version you are editing (radar risks show ID); an edit "
                                              "of an older version is refused.")],
) -> None:
    """Re-score a risk: its current likelihood and impact, with a reason."""
    from radar.actions.register import rescore_risk

    ctx, engine = store()
    with refusals():
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
    change: Annotated[Optional[str], typer.Option(help="Give another score instead, as LIKELIHOOD,IMPACT.",
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
