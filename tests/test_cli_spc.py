"""`radar spc rebase`: a recorded, audited decision that the next cycle's charts read."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from radar.cli import app
from radar.models import charts as chart_store
from radar.models.audit import AuditEvent
from radar.models.engine import get_engine

runner = CliRunner()
REBASE = ["spc", "rebase", "ehe_registered", "--from", "2020-04", "--reason", "new EHE register process",
          "--by", "Analyst A"]


def test_a_rebase_is_recorded_once_and_audited(radar_store):
    first = runner.invoke(app, REBASE)
    again = runner.invoke(app, REBASE)
    assert first.exit_code == 0 and again.exit_code == 0, (first.output, again.output)
    assert "already recorded" in again.output
    with get_engine(radar_store).connect() as conn:
        rebases = chart_store.read_rebases(conn, "E09000006")
        audits = conn.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.action == "spc_rebased")).all()
    assert rebases.rows() == [("ehe_registered", "", "2020-04", "new EHE register process")]
    assert audits == [("spc_rebased", "Analyst A")]


@pytest.mark.parametrize(("change", "says"), [
    ({2: "ehe_registred"}, "not an indicator"),
    ({4: "2020-4"}, "YYYY-MM"),
    ({6: "  "}, "--reason and --by"),
])
def test_a_bad_rebase_is_refused_and_nothing_is_written(radar_store, change, says):
    args = [change.get(i, arg) for i, arg in enumerate(REBASE)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and says in result.output
    with get_engine(radar_store).connect() as conn:
        assert chart_store.read_rebases(conn, "E09000006").is_empty()


def test_a_breakdown_must_belong_to_the_indicator(radar_store):
    result = runner.invoke(app, ["spc", "rebase", "cpp_open", "--from", "2020-04", "--reason", "r", "--by", "b",
                                 "--breakdown", "burglary"])
    assert result.exit_code == 2 and "neglect" in result.output
