"""Months only move forward: a cycle for an earlier month than one already run is refused, not run."""

from __future__ import annotations

import pytest

from radar.core.config import get_context
from radar.flows.cycle import CycleOrderError, check_order
from radar.models import audit as audit_trail
from radar.models.engine import get_engine


def test_the_first_cycle_may_be_any_month(radar_store):
    check_order("2019-06")


def test_an_earlier_month_is_refused_and_the_latest_or_a_later_one_runs(radar_store):
    with get_engine(radar_store).begin() as conn:
        audit_trail.record_cycle(conn, get_context().la_code, "2019-12", {})
        audit_trail.record_cycle(conn, get_context().la_code, "2020-03", {})
    with pytest.raises(CycleOrderError, match=r"already run for Mar 2020, so it cannot run for Jun 2019"):
        check_order("2019-06")
    check_order("2020-03")
    check_order("2020-04")


def test_another_partnerships_cycles_do_not_count(radar_store):
    with get_engine(radar_store).begin() as conn:
        audit_trail.record_cycle(conn, "E09000008", "2020-03", {})
    check_order("2019-06")
