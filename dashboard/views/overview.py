"""Overview: the current strategic threat assessment on one screen, for the Independent Chair.

First the threat assessment itself (radar.pipelines.threats, composed as
the Board pack composes it): what changed since the last Board, each change
one line with a link to the page that deals with it, then the top threats,
each with why it ranks where it does, the register as a likelihood x
impact heat map whose cells list their risks, and how each agency's files
have arrived; the chair can download the Board pack from here.  Then
how many alerts are active and where, what is getting worse, what is new
this month, which agencies were late with their data or have not sent it, what
has been silenced, and what has improved.  Alerts come as the monthly cycle
stored them, file arrivals from pipelines.feed_status; the Alerts page has
the detail and the evidence.

An acknowledged alert is still active: someone is handling it, which the
Chair should see ("Being handled by …"), but the concern has not gone away,
so it stays in the counts, in "Getting worse" and in "New in …".  A silenced
alert is listed apart, with why and until when.
"""

from datetime import date

import polars as pl
import streamlit as st

from radar.actions.board_pack import board_pack
from radar.core import periods
from radar.core.alert_vocabulary import ACTIVE, SEVERITIES
from radar.dashboard.auth import Person, require
from radar.dashboard.common import (
    CHASE_COLUMNS,
    LIVE_SECONDS,
    MISSING,
    chase_table,
    context,
    engine,
    feed_statuses,
    plain,
    read,
    read_action,
    show_no_data,
)
from radar.dashboard.register import (
    BAND_WORDS,
    RISK_COLUMNS,
    TOP_THREATS,
    cells,
    day,
    risk_table,
    styled_heat_table,
    threat_picture,
)
from radar.dashboard.signals import (
    ALERTS_APPEAR,
    FEED_RULES,
    SEVERITY_BADGES,
    SPC_RULES,
    alert_line,
    cycle_month,
    silenced_table,
    subgroup_name,
)
from radar.models import alerts as alert_store
from radar.models import submissions as submission_store
from radar.pipelines.benchmarks import ATTRIBUTION
from radar.pipelines.board_pack import FEED_OUTCOMES
from radar.pipelines.feed_status import feeds_to_chase
from radar.pipelines.threats import grouped_changes

person: Person = require("overview")
ctx = context()
st.title("Strategic threat assessment")
CHANGES_LISTED = 8  # of each kind of change; a long list would push the heat map off the screen
DIRECTION_WORDS = {"rising": "↑ Rising", "falling": "↓ Falling", "steady": "→ Steady"}
PACK_VERSIONS = {"board": "For the Board", "publication": "For publication"}
PACK_FORMATS = {"html": "text/html", "pdf": "application/pdf"}
PAGE_NAMES = {"alerts": "Alerts", "register": "Risk register", "feed_status": "Feed status"}  # app.py's PAGES


def change_markdown(change: dict, may_see) -> str:
    """One change as a bullet, with a link to its page when the person's role may open it."""
    page = change["page"]
    link = f" · [{PAGE_NAMES[page]} →]({page})" if may_see(page) else ""
    return f"- {plain(change['line'])}{link}"


def what_changed(last: date | None, changes: list[dict]) -> None:
    """What changed since the last Board, first on the screen: each change one line, by kind."""
    st.subheader("What changed since the last Board")
    if last is None:
        st.caption("The Board has not met yet, so nothing is compared.")
    elif not changes:
        st.caption("Nothing has changed since the last Board.")
    for title, found in grouped_changes(changes):
        more = (f"\n- and {len(found) - CHANGES_LISTED} more (the Board pack lists them all)"
                if len(found) > CHANGES_LISTED else "")
        st.markdown(f"**{title}** ({len(found)})\n"
                    + "\n".join(change_markdown(c, person.may_see) for c in found[:CHANGES_LISTED]) + more)


def pack_downloads(month: str, today: date) -> None:
    """The Board pack for the chair to download: HTML or PDF, for the Board or for publication (DfE disclosure
    control on counts of children), each rendered by radar.actions.board_pack only when its button is clicked."""
    store = engine()  # read here: the pack is rendered on another thread, only when the chair clicks
    version = st.radio("Board pack", list(PACK_VERSIONS), horizontal=True, key="pack_version",
                       format_func=PACK_VERSIONS.get,
                       help="The publication version shows counts of fewer than the partnership's threshold of "
                            "children as c, and anything resting on them is withheld.")
    publication = version == "publication"
    suffix = "-publication" if publication else ""
    for column, (fmt, mime) in zip(st.columns(len(PACK_FORMATS)), PACK_FORMATS.items()):
        column.download_button(
            f"Download the Board pack for {periods.label(month)} ({fmt.upper()})",
            lambda fmt=fmt: board_pack(store, ctx, month, fmt, today=today, publication=publication),
            file_name=f"board-pack-{month}{suffix}.{fmt}", mime=mime, icon=":material/download:",
            on_click="ignore", key=f"board_pack_{fmt}")


def threats(month: str) -> None:
    """What changed since the last Board, the ranked threats, the register's heat map and agencies' files."""
    today = date.today()
    picture = read_action(threat_picture, month, today)
    sta = picture["sta"]
    last = sta["last_board"]
    st.caption(f"Threats ranked for {periods.label(month)} as judged on {day(sta['as_of'])}; "
               + (f"the last Board met on {day(last)}." if last else "the Board has not met yet."))
    if person.grant.role == "chair":
        pack_downloads(month, today)

    what_changed(last, sta["changes_since_last_board"])

    st.subheader("Top threats")
    for t in sta["threats"][:TOP_THREATS]:
        st.markdown(f"**{t['rank']}. {t['title']}**: score {t['score']} (harm {t['harm']} × likelihood "
                    f"{t['likelihood']}) · {DIRECTION_WORDS[t['direction']]} · Confidence {t['confidence']}")
        st.markdown(plain(t["reason"]))
        if t["changed"]:
            st.caption(f"Since the last Board: {'; '.join(plain(line) for line in t['changed'])}.")
    st.caption(f"{len(sta['threats'])} threats were assessed; the Board pack explains the top ten. "
               f"Benchmarks: {ATTRIBUTION}")

    st.subheader("The risk register")
    matrix = picture["matrix"]
    st.dataframe(styled_heat_table(matrix, picture["risks"]), hide_index=True)
    st.caption("Open risks by current score: impact down the side, likelihood across; "
               + ", ".join(f"{BAND_WORDS[band.name]} {band.name} ({band.min_score}"
                           + (f" to {following.min_score - 1})" if following else " and above)")
                           for band, following in zip(matrix.bands, [*matrix.bands[1:], None])
                           if band.name in BAND_WORDS) + ". "
               "The Risk register page has each risk in full.")
    by_cell = cells(matrix, picture["risks"])
    chosen = st.selectbox("Show the risks in a cell", list(by_cell), index=None, key="heat_cell",
                          placeholder="Choose a cell")
    if chosen:
        st.dataframe(risk_table(ctx, matrix, by_cell[chosen]), hide_index=True,
                     column_config=RISK_COLUMNS)

    st.subheader("Agencies' files over the last year")
    rows = picture["submissions"]
    st.dataframe(pl.DataFrame({"Agency": [r["agency"] for r in rows]} | {
        label: [r[key] for r in rows] for key, label in FEED_OUTCOMES.items()} | {
        "Files due": [r["total"] for r in rows]}, schema_overrides=dict.fromkeys(
        [*FEED_OUTCOMES.values(), "Files due"], pl.Int64)), hide_index=True)


def bullet_list(rows: pl.DataFrame, empty: str) -> None:
    if rows.is_empty():
        st.caption(empty)
    else:
        st.markdown("\n".join(alert_line(ctx, alert) for alert in rows.iter_rows(named=True)))


@st.fragment(run_every=LIVE_SECONDS)
def assessment() -> None:
    """Everything that changes when a file arrives or a cycle runs: re-read live, from the shared cache."""
    alerts = read(alert_store.alerts, ctx.la_code)
    received = read(submission_store.submissions, ctx.la_code)
    if alerts.is_empty() and received.is_empty():
        show_no_data()
        st.stop()

    month = cycle_month(alerts)
    assessed = month or received["period"].max()
    if assessed and ctx.config.risk_register is not None:
        threats(assessed)
    st.header("Alerts")
    if month:
        st.caption(f"{ctx.config.partnership.name} · as judged by the monthly cycle up to {periods.label(month)}")
    active = alerts.filter(pl.col("status").is_in(ACTIVE))

    if active.is_empty():
        st.success("No active alerts.", icon=":material/check_circle:")
        st.caption(ALERTS_APPEAR)
    else:
        by_subgroup = (
            active.group_by("subgroup").agg(
                *(pl.col("severity").eq(s).sum().alias(SEVERITY_BADGES[s][0]) for s in SEVERITIES),
                Total=pl.len(),
                **{"Being handled": pl.col("status").eq("acknowledged").sum()},
            )
            .sort("Total", "subgroup", descending=[True, False])
        )
        columns = st.columns(1 + len(SEVERITIES))
        columns[0].metric("Active alerts", active.height)
        for column, severity in zip(columns[1:], SEVERITIES):
            label = SEVERITY_BADGES[severity][0]
            column.metric(label, by_subgroup[label].sum())
        st.caption("Active alerts are open or acknowledged: an acknowledged alert is being handled, not yet resolved. "
                   "Each alert's id (for example in `radar alerts ack <id>`) follows its message.")

        st.subheader("Active alerts by subgroup")
        chairs = {s: chair.chair for s, chair in ctx.config.subgroups.items()}
        st.dataframe(
            pl.DataFrame({
                "Subgroup": [subgroup_name(ctx, s) for s in by_subgroup["subgroup"]],
                "Chair": [chairs.get(s, "") for s in by_subgroup["subgroup"]],
            }).hstack(by_subgroup.drop("subgroup")),
            hide_index=True,
        )

        st.subheader("Getting worse")
        bullet_list(active.filter(pl.col("rule").is_in(SPC_RULES)),
                    "No indicator shows an active concern on its SPC chart.")

        st.subheader(f"New in {periods.label(month)}")
        bullet_list(active.filter(pl.col("first_period") == month),
                    f"No active alert's cause began in {periods.label(month)}.")

    latest = received["period"].max()
    if latest:
        st.subheader(f"Agencies late with their data for {periods.label(latest)}")
        chase = feeds_to_chase(feed_statuses(ctx, received, latest, latest), latest)
        if chase.is_empty():
            st.caption(f"Every file due for {periods.label(latest)} arrived on time.")
        else:
            feed_alerts = active.filter(pl.col("rule").is_in(FEED_RULES))
            refs = dict(zip(feed_alerts["feed"], feed_alerts["ref"]))
            st.dataframe(
                chase_table(ctx, chase).with_columns(
                    pl.Series("Alert id", [refs.get(feed_id, MISSING) for feed_id in chase["feed_id"]], pl.String)
                ),
                hide_index=True,
                column_config=CHASE_COLUMNS,
            )
            st.caption("Received late: the file came after its due day (Days late says by how much). "
                       "Alerts on the indicators of a missing or rejected feed are held back until the data arrives.")

    silenced = silenced_table(ctx, alerts)
    if not silenced.is_empty():
        st.subheader("Silenced")
        st.dataframe(silenced, hide_index=True)
        st.caption("A silenced alert is not counted above until its silence ends.")

    st.subheader("Improvements")
    improvements = read(alert_store.positive_signals, ctx.la_code).sort("period", descending=True)
    if improvements.is_empty():
        st.caption("No improvement has been signalled.")
    else:
        st.markdown("\n".join(
            f"- {row['message']} *({subgroup_name(ctx, row['subgroup'])})*" for row in improvements.iter_rows(named=True)
        ))


assessment()
