"""The `radar` commands that need no Prefect harness, against a real store on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from radar.cli import app
from radar.core.config import shipped_data
from radar.models import alerts as alert_store
from radar.models.engine import get_engine
from radar.pipelines.alerts.lifecycle import empty_state, reconcile
from radar.pipelines.alerts.rule import CANDIDATE_SCHEMA, alert_key, alert_ref

DFE = str(shipped_data() / "dfe")  # the DfE statistics shipped with Radar
runner = CliRunner()


def run(*args):
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


def test_catalog_json_has_the_public_contract():
    code, out = run("catalog", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["partnership"] == {"la_code": "E09000006", "name": "Bromley Safeguarding Children Partnership"}
    feeds = {f["id"]: f for f in data["feeds"]}
    assert feeds["csc_monthly"]["kind"] == "aggregate" and "cpp_open" in feeds["csc_monthly"]["indicators"]
    source = next(c for c in feeds["mash_contacts"]["columns"] if c["name"] == "source")
    assert source["allowed"][:3] == ["police", "health", "schools"]
    indicators = {i["id"]: i for i in data["indicators"]}
    assert len(indicators) >= 30 and len({f["agency"] for f in data["feeds"]}) >= 8
    assert indicators["cpp_rate"].items() >= {"derived": True, "numerator": "cpp_open", "denominator": "population",
                                              "unit": "rate_per_10k"}.items()
    assert indicators["cpp_open"]["breakdowns"] == ["neglect", "emotional_abuse", "physical_abuse", "sexual_abuse",
                                                     "multiple"]


def open_alert(url, rule="spc_shift", indicator="ehe_registered"):
    key = alert_key(rule, indicator, "", "E09000006")
    candidate = pl.DataFrame([{
        "key": key, "rule": rule, "indicator": indicator, "breakdown": "", "feed": "education_monthly",
        "scope": "E09000006", "period": "2020-03", "since": "2019-09", "severity": "medium", "subgroup": "education",
        "message": "Children electively home educated stayed above average for 7 months running (since Sep 2019).",
        "evidence": json.dumps({"value": 314}),
    }], schema=CANDIDATE_SCHEMA)
    state, transitions = reconcile(empty_state(), candidate, "2020-03", date(2020, 4, 20))
    with get_engine(url).begin() as conn:
        alert_store.save_alerts(conn, "E09000006", state, transitions, "test")
    return key


def test_alerts_list_ack_and_silence(radar_store):
    key = open_alert(radar_store)
    ref = alert_ref(key)
    code, out = run("alerts", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["key"] for r in rows] == [key]
    assert rows[0]["evidence"] == {"value": 314} and rows[0]["period"] == "2020-03"
    assert {k: rows[0][k] for k in ("id", "first_raised", "raised_on", "acknowledged_by", "note", "silenced_until",
                                    "silence_reason")} == {
        "id": ref, "first_raised": "2019-09", "raised_on": "2020-04-20", "acknowledged_by": None, "note": None,
        "silenced_until": None, "silence_reason": None,
    }

    # The short id is what people type; an acknowledged alert is still active (listed by default).
    code, _ = run("alerts", "ack", ref, "--by", "PCI chair", "--note", "asked Education for the cohort analysis")
    assert code == 0
    active = json.loads(run("alerts", "--json")[1])
    assert [(r["status"], r["acknowledged_by"], r["note"]) for r in active] == [
        ("acknowledged", "PCI chair", "asked Education for the cohort analysis")]
    assert json.loads(run("alerts", "--json", "--status", "open")[1]) == []
    acknowledged = json.loads(run("alerts", "--json", "--status", "acknowledged")[1])
    assert [r["status"] for r in acknowledged] == ["acknowledged"]

    code, _ = run("alerts", "silence", key, "--reason", "reviewed at Board", "--until", "2030-01-31")
    assert code == 0
    silenced = json.loads(run("alerts", "--json", "--status", "all")[1])
    assert [(r["status"], r["silenced_until"], r["silence_reason"]) for r in silenced] == [
        ("silenced", "2030-01-31", "reviewed at Board")]
    assert json.loads(run("alerts", "--json")[1]) == []  # a silenced alert is not active

    code, _ = run("alerts", "ack", "no|such|key|x", "--by", "me", "--note", "x")
    assert code == 2  # a clear refusal, not a crash


def words(text: str) -> str:
    """Terminal output with the console's line wrapping undone."""
    return " ".join(text.split())


def test_alert_ids_are_named_in_the_table_and_refusals_say_what_to_do(radar_store):
    key = open_alert(radar_store)
    result = runner.invoke(app, ["alerts"])
    assert result.exit_code == 0 and alert_ref(key) in result.stdout
    result = runner.invoke(app, ["alerts", "ack", "spc-nosuchid", "--by", "me", "--note", "x"])
    assert result.exit_code == 2 and "`radar alerts --status all` lists every alert's id" in words(result.stderr)
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    for until in (yesterday, date.today().isoformat()):
        result = runner.invoke(app, ["alerts", "silence", alert_ref(key), "--reason", "r", "--until", until])
        assert result.exit_code == 2 and f"{until} is not in the future" in words(result.stderr)
    assert [r["status"] for r in json.loads(run("alerts", "--json")[1])] == ["open"]


def test_alert_status_changes_are_audited(radar_store):
    key = open_alert(radar_store)
    run("alerts", "ack", key, "--by", "PCI chair", "--note", "on it")
    from sqlalchemy import select

    from radar.models.audit import AuditEvent

    with get_engine(radar_store).connect() as conn:
        rows = conn.execute(select(AuditEvent.action, AuditEvent.actor).where(AuditEvent.subject == key)).all()
    assert rows == [("alert_status_changed", "test"), ("alert_status_changed", "PCI chair")]


def test_a_bad_benchmark_file_changes_nothing(radar_store, tmp_path):
    """Task functions called directly: the whole import is checked before anything is written."""
    from radar.flows.benchmarks import read_benchmarks, save_benchmarks
    from radar.models.benchmarks import read_benchmarks as benchmarks
    from radar.validation.ees import EESError

    def stored() -> int:
        with get_engine(radar_store).connect() as conn:
            return benchmarks(conn).height

    save_benchmarks.fn(read_benchmarks.fn([Path(DFE)]), ["dfe"])
    before = stored()
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(f"{DFE}/d3_cpps_subsequent_plan_2013_to_2025.csv", bad)
    text = (bad / "d3_cpps_subsequent_plan_2013_to_2025.csv").read_text()
    (bad / "d3_cpps_subsequent_plan_2013_to_2025.csv").write_text(text.replace("CPP_subsequent_percent", "Pct_Repeat", 1))
    with pytest.raises(EESError) as error:
        read_benchmarks.fn([bad])
    assert "d3_cpps_subsequent_plan_2013_to_2025.csv" in str(error.value.problems[0])
    assert any("CPP_subsequent_percent" in str(p) or "cpp_subsequent_percent" in str(p) for p in error.value.problems)
    assert stored() == before


def test_benchmarks_show_reproduces_the_reports_comparisons(radar_store):
    from radar.flows.benchmarks import read_benchmarks, save_benchmarks

    save_benchmarks.fn(read_benchmarks.fn([Path(DFE)]), ["dfe"])
    code, out = run("benchmarks", "show", "--la", "E09000006", "--year", "2020", "--json")
    rows = {r["indicator"]: r for r in json.loads(out)}
    assert code == 0
    # BSCP annual report 2019-20: 2419 children in need and 294 on a plan at 31 March 2020;
    # 15% of plans were second or subsequent (England 21-22%).
    assert rows["cin_open"]["la_value"] == 2419
    assert rows["cpp_open"]["la_value"] == 294
    assert rows["cpp_repeat_rate"]["la_value"] == pytest.approx(15.2)
    assert rows["cpp_repeat_rate"]["national"] == pytest.approx(21.9)
    assert rows["cpp_rate"]["national"] == pytest.approx(43.7, abs=0.1)
    assert rows["cpp_repeat_rate"]["sn_count"] == 10
