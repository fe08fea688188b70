"""The risk register, the Impact Log and the threat assessment as the dashboard reads and words them.

The reads are the actions floor's (radar.actions.register, and the threat
assessment of radar.actions.board_pack.assessment) and each risk is shown as
pipelines.register.risk_view makes it, so the dashboard, `radar risks` and
the Board pack can never disagree.  Each read takes the engine first, as
`common.read_action` wants, so a room of viewers shares one read per store change.
What is here beyond that only puts things into words: scores as their level
names, dates as people write them, changes since the last Board with
names rather than ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl
import streamlit as st
from sqlalchemy import Engine

from radar.actions import register
from radar.actions.board_pack import assessment
from radar.core import periods
from radar.core.config import Context
from radar.core.register import PRIORITY_NAMES, STATUS_NAMES, Matrix
from radar.dashboard.common import MISSING, context, read_action
from radar.dashboard.signals import subgroup_name
from radar.pipelines.board_pack import heat_map, submission_performance

# The bands of the register's matrix as the usual red, amber and green of a 5 x 5 risk matrix.
BAND_COLOURS = {"low": "#c8e6c9", "medium": "#ffe0b2", "high": "#ef9a9a"}
BAND_WORDS = {"low": "green", "medium": "amber", "high": "red"}
TOP_THREATS = 5  # the overview explains these; the Board pack has the rest
HISTORY_WORDS = {
    "risk_loaded": "Loaded from the partnership's register file", "risk_added": "Added to the register",
    "risk_scored": "Re-scored", "risk_reviewed": "Reviewed", "risk_decided": "Re-scored on a proposal",
    "risk_evidence": "Evidence attached", "proposal_made": "Re-score proposed", "proposal_accepted": "Proposal accepted",
    "proposal_changed": "Proposal changed", "proposal_rejected": "Proposal rejected",
    "action_added": "Action added", "action_updated": "Action changed", "action_closed": "Action closed",
}


def day(value: date | None) -> str:
    """A date as people write it: "30 Sep 2020"."""
    return MISSING if value is None else periods.day_label(value)


def score_words(matrix: Matrix, score: dict) -> str:
    """A score as the Board reads it: "Likely × Major (4 × 4 = 16)"."""
    return (f"{matrix.likelihood[score['likelihood'] - 1].name} × {matrix.impact[score['impact'] - 1].name} "
            f"({score['likelihood']} × {score['impact']} = {score['score']})")


def shown_version(key: str, now: int) -> int:
    """The version a person had on screen when they pressed a button: the one the run before showed.

    A form's button re-runs the page, which reads the store again; optimistic
    locking must judge the edit against what the person was looking at, so
    each run remembers the version it shows (`now`) and hands back the last one.
    """
    seen = st.session_state.get(key, now)
    st.session_state[key] = now
    return seen


def done(message: str) -> None:
    """After a successful edit: say so on the next run, which reads the store afresh (the edit included)."""
    st.session_state["register_done"] = message
    st.rerun()


def say_done() -> None:
    if message := st.session_state.pop("register_done", None):
        st.success(message, icon=":material/check_circle:")


def owned_risks(engine: Engine, today: date) -> tuple[Matrix, list[dict]]:
    """The matrix and every risk as the register shows it."""
    return register.risks(engine, context(), today)


def judged_on(engine: Engine, today: date) -> date:
    """The day the register and Impact Log pages judge on, as `radar risks` and `radar impact list` judge
    (actions.register.judged_on): a demo of March 2020 shows no review six years overdue."""
    return register.judged_on(engine, context(), today)


def register_loaded(engine: Engine) -> bool:
    """Whether the monthly cycle has loaded the partnership's register files into the store (pages say so when
    not, rather than show an empty register as if it were one)."""
    return register.loaded(engine, context())


NOT_LOADED = register.NOT_LOADED[0].upper() + register.NOT_LOADED[1:] + "."


def stop_unless_kept(what: str) -> None:
    """End the page with the reason where there is no register to show: the partnership keeps none (its config),
    or the monthly cycle has not loaded its files yet."""
    if context().config.risk_register is None:
        st.info(f"This partnership keeps no {what} in Radar (its config has no [risk_register] section).")
        st.stop()
    if not read_action(register_loaded):
        st.info(NOT_LOADED)
        st.stop()


def judged_risks() -> tuple[Matrix, list[dict]]:
    """The matrix and every risk, judged as of the month shown (`judged_on`)."""
    return read_action(owned_risks, read_action(judged_on, date.today()))


def history(engine: Engine, risk_id: str) -> list[dict]:
    return register.history(engine, context().la_code, risk_id)


def impact_log(engine: Engine) -> list[dict]:
    return register.impact_log(engine, context())


def impact_links(engine: Engine) -> dict[str, dict[str, list[str]]]:
    return register.impact_links(engine, context())


def threat_picture(engine: Engine, period: str, today: date) -> dict:
    """The overview's threat assessment: the report, the open risks and matrix of the heat map, and each agency's
    submissions over the last year."""
    ctx = context()
    inputs, sta = assessment(engine, ctx, period, periods.as_of(period, today))
    agencies = {f.id: ctx.config.agencies[f.agency].name for f in ctx.catalogue.feeds}
    open_risks = [r for r in inputs.risks if r["status"] != "closed"]
    return {"sta": sta, "risks": open_risks, "matrix": register.register_matrix(ctx),
            "submissions": submission_performance(inputs.feed_status, agencies, period)}


def heat_table(matrix: Matrix, risks: Sequence[dict]) -> pl.DataFrame:
    """The heat map as a table: one row per impact level (highest first), one column per likelihood level."""
    cells = heat_map(risks, matrix)
    impacts = [f"{lv.value} {lv.name}" for lv in reversed(matrix.impact)]
    return pl.DataFrame({"Impact": impacts} | {
        f"{lv.value} {lv.name}": [row[lv.value - 1] for row in cells] for lv in matrix.likelihood})


def heat_colours(matrix: Matrix) -> pl.DataFrame:
    """Each heat-map cell's background, in `heat_table`'s shape: its score's band (low, medium, high) in the
    register's usual green, amber and red, so the map reads at a glance as on paper."""
    likelihoods = [lv.value for lv in matrix.likelihood]
    return pl.DataFrame({"Impact": [""] * len(matrix.impact)} | {
        f"{lik} {matrix.likelihood[lik - 1].name}": [
            "background-color: {}; color: #0b0c0c".format(BAND_COLOURS.get(matrix.band(lik * imp.value).name, ""))
            for imp in reversed(matrix.impact)]
        for lik in likelihoods})


def styled_heat_table(matrix: Matrix, risks: Sequence[dict]):
    """`heat_table` coloured by band, for st.dataframe (a pandas Styler: st.dataframe keeps its colours)."""
    table, colours = heat_table(matrix, risks).to_pandas(), heat_colours(matrix).to_pandas()
    return table.style.apply(lambda _: colours, axis=None)


def cells(matrix: Matrix, risks: Sequence[dict]) -> dict[str, list[dict]]:
    """The heat map's non-empty cells, highest score first, each named in words with its risks."""
    found: dict[tuple[int, int], list[dict]] = {}
    for r in risks:
        found.setdefault((r["current"]["likelihood"], r["current"]["impact"]), []).append(r)
    order = sorted(found, key=lambda c: (-c[0] * c[1], -c[1]))
    return {f"{matrix.likelihood[lik - 1].name} × {matrix.impact[imp - 1].name} (score {lik * imp}): "
            f"{len(found[(lik, imp)])} risk{'s' if len(found[(lik, imp)]) > 1 else ''}": found[(lik, imp)]
            for lik, imp in order}


def risk_table(ctx: Context, matrix: Matrix, risks: Sequence[dict]) -> pl.DataFrame:
    """Risks as a list for people: names and words, the out-of-appetite flag in words beside its icon.

    The columns the Board reads first (the risk, its score, appetite and owner)
    come first and short, so at 1440 pixels they show without scrolling sideways;
    show it with `column_config=RISK_COLUMNS`.
    """
    return pl.DataFrame({
        "Risk": [r["id"] for r in risks],
        "Title": [r["title"] for r in risks],
        "Score": [f"{r['current']['score']} ({r['current']['likelihood']} × {r['current']['impact']})" for r in risks],
        "Appetite": [f"⚠ Out of appetite (above {r['appetite']})" if r["out_of_appetite"]
                     else f"Within ({r['appetite']} or less)" for r in risks],
        "Owner": [r["owner"] for r in risks],
        "Subgroup": [subgroup_name(ctx, r["subgroup"]) for r in risks],
        "Status": [STATUS_NAMES[r["status"]] for r in risks],
        "Next review": [day(r["next_review"]) + (" (overdue)" if r["review_overdue"] else "") for r in risks],
        "Proposals": [sum(p["status"] == "proposed" for p in r["proposals"]) for r in risks],
        "Priority": [PRIORITY_NAMES[r["priority"]] for r in risks],
    }, schema_overrides={"Proposals": pl.Int64})


RISK_COLUMNS = {
    "Risk": st.column_config.TextColumn(width=45),
    "Title": st.column_config.TextColumn(width=250),
    "Score": st.column_config.TextColumn(width=70, help="Current score: likelihood × impact"),
    "Appetite": st.column_config.TextColumn(width=190),
    "Owner": st.column_config.TextColumn(width=200),
    "Subgroup": st.column_config.TextColumn(width=150),
    "Status": st.column_config.TextColumn(width=75),
    "Next review": st.column_config.TextColumn(width=110),
    "Proposals": st.column_config.NumberColumn(width=80, help="Proposed re-scores waiting for a decision"),
}
# The Impact Log's nine columns fit 1280 pixels beside the sidebar: long text is cut to its column (the full text
# shows on hover and in the update form below), so no column needs sideways scrolling.
IMPACT_COLUMNS = {
    "Entry": st.column_config.TextColumn(width=45),
    "Raised": st.column_config.TextColumn(width=80),
    "Subgroup": st.column_config.TextColumn(width=90),
    "Challenge": st.column_config.TextColumn(width=130),
    "Action": st.column_config.TextColumn(width=130),
    "Owner": st.column_config.TextColumn(width=90),
    "Status": st.column_config.TextColumn(width=75),
    "Evidence of impact": st.column_config.TextColumn(width=90),
    "Linked to": st.column_config.TextColumn(width=65),
}
