"""The quarterly Board pack, written by Radar itself: the `board-pack` flow, which `radar serve` runs on a cron
in the partnership's time zone (`service.board_pack_cron`; declared with the others in flows/deployments.py).

The pack is assembled and rendered by the actions floor
(radar.actions.board_pack, as `radar report` and the dashboard's download
do); this flow only picks the month and writes the file whole.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from radar.actions.board_pack import board_pack as assemble
from radar.actions.board_pack import pack_period
from radar.core import periods
from radar.flows.files import atomic_write
from radar.flows.runtime import context, engine

FOLDER = "board-packs"  # under RADAR_HOME


@flow(name="board-pack")
def board_pack(period: str | None = None) -> str:
    """Write the internal Board pack (PDF) for `period` to RADAR_HOME/board-packs/ and return its path.

    By default `period` is the latest month the cycle has computed: on
    schedule, the quarter's last month, whose cycle ran the day before.  A pack
    written again for the same month (after a correction) replaces the earlier
    one whole, so a reader never opens half a PDF.
    """
    ctx = context()
    period = pack_period(engine(), ctx, period)
    pdf = assemble(engine(), ctx, period, "pdf", today=date.today())
    written = atomic_write(ctx.settings.home / FOLDER / f"board-pack-{period}.pdf", lambda tmp: tmp.write_bytes(pdf))
    get_run_logger().info("the Board pack for %s is %s", periods.label(period), written)
    return str(written)

