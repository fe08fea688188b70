"""The quarterly Board pack, written by Radar itself: the `board-pack` flow, which `radar serve` runs on a cron
in the partnership's time zone (`service.board_pack_cron`; deploy/prefect.yaml declares the same for a worker).

Why it sits here, on the application floor under radar.cli, and not in
flows/ with the other deployments: the pack is composed and rendered by
radar.dashboard.board_pack, because its SPC charts are the dashboard's own
(the Board reads on paper the chart it sees on screen), and flows/ may not
import the dashboard (the two are siblings on one floor of the import
contract in pyproject.toml).  The composition cannot move down instead: it
reads the store (models) and builds with pipelines, and only a floor above
both may combine them.  So the one module that needs the dashboard's
composition and a flow's place to write sits above both, and `radar serve`
adds its deployment to the flows' (`radar.cli.served_deployments`).
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger
from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment

from radar.core import periods
from radar.core.config import PartnershipConfig, get_context
from radar.flows.files import atomic_write
from radar.flows.service import DEPLOYMENT_OPTIONS
from radar.models import store
from radar.models.engine import get_engine

FOLDER = "board-packs"  # under RADAR_HOME


@flow(name="board-pack")
def board_pack(period: str | None = None) -> str:
    """Write the internal Board pack (PDF) for `period` to RADAR_HOME/board-packs/ and return its path.

    By default `period` is the latest month the cycle has computed: on
    schedule, the quarter's last month, whose cycle ran the day before.  A pack
    written again for the same month (after a correction) replaces the earlier
    one whole, so a reader never opens half a PDF.
    """
    from radar.dashboard.board_pack import gather, render  # here: serving the deployment need not load Streamlit

    ctx = get_context()
    engine = get_engine(ctx.settings.database_url)
    if period is None:
        with engine.connect() as conn:
            period = store.latest_cycle(conn, ctx.la_code)
        if period is None:
            raise RuntimeError("No monthly cycle has run yet, so there is no month for a Board pack.")
    if not periods.is_period(period):
        raise ValueError(f"period must be a month as YYYY-MM, such as 2020-03, not {period!r}")
    today = date.today()
    pack, charts = gather(engine, ctx, period, periods.as_of(period, today), today)
    pdf = render(pack, charts, "pdf")
    written = atomic_write(ctx.settings.home / FOLDER / f"board-pack-{period}.pdf", lambda tmp: tmp.write_bytes(pdf))
    get_run_logger().info("the Board pack for %s is %s", periods.label(period), written)
    return str(written)


def deployment(config: PartnershipConfig) -> RunnerDeployment:
    """`board-pack` on the partnership's quarterly cron, in its time zone."""
    schedule = CronSchedule(cron=config.service.board_pack_cron, timezone=config.service.timezone)
    return board_pack.to_deployment(name="board-pack", schedules=[schedule], **DEPLOYMENT_OPTIONS)
