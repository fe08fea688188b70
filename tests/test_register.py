"""The risk register and Impact Log: matrix arithmetic, edit rules, evidence and proposals (pure), the store's
seeding, optimistic locking and history (SQLite and PostgreSQL), the seed files and the CLI's JSON."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from radar.core.alert_settings import ALERTS_FILE, parse_alert_settings
from radar.core.config import DEFAULT_CONFIG, load_config
from radar.core.register import (
    FileProblem,
    ImpactFile,
    Matrix,
    RegisterFiles,
    RiskFile,
    RiskSpec,
    load_yaml,
    parse_yaml,
)
from radar.models import register as store
from radar.models.alerts import Alert
from radar.models.engine import get_engine
from radar.pipelines import register as rules
from radar.pipelines.alerts.overdue import overdue_candidates

CONFIG = load_config(DEFAULT_CONFIG)
MATRIX = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.matrix), Matrix)
FILES = RegisterFiles(*(CONFIG.resolve_path(f) for f in (CONFIG.risk_register.matrix, CONFIG.risk_register.risks,
                                                          CONFIG.risk_register.impact_log)))
TODAY = date(2026, 6, 15)
SUBGROUPS = set(CONFIG.subgroups)


def spec(**changes) -> RiskSpec:
    base = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.risks), RiskFile).risks[8]  # R09, EHE
    return base.model_copy(update={"id": "R99"} | changes)


def test_bands_appetite_and_review_dates_follow_the_matrix():
    # 5x5; bands low 1-4 (6 months), medium 5-11 (3), high 12+ (1); appetite strategic 9, operational 12.
    assert [MATRIX.band(s).name for s in (4, 5, 11, 12, 25)] == ["low", "medium", "medium", "high", "high"]
    assert MATRIX.out_of_appetite("strategic", 10) and not MATRIX.out_of_appetite("strategic", 9)
    assert not MATRIX.out_of_appetite("operational", 12) and MATRIX.out_of_appetite("operational", 15)
    assert MATRIX.next_review(16, date(2020, 1, 31)) == date(2020, 2, 29)  # monthly, clamped to February's end
    assert MATRIX.next_review(6, date(2020, 11, 30)) == date(2021, 2, 28)  # quarterly across a year
    assert MATRIX.next_review(2, date(2020, 3, 15)) == date(2020, 9, 15)  # six-monthly
    assert MATRIX.score_problem(6, 2) and MATRIX.score_problem(1, 0) and MATRIX.score_problem(5, 5) is None


def test_trend_since_last_review():
    assert [rules.trend(None, 9), rules.trend(9, 12), rules.trend(12, 9), rules.trend(9, 9)] == \
        ["new", "up", "down", "steady"]


@pytest.mark.parametrize("changes, words", [
    ({"current": {"likelihood": 6, "impact": 3}}, "current score"),
    ({"owner": "Someone Else"}, "owner 'Someone Else'"),
    ({"subgroup": "nope"}, "subgroup 'nope'"),
    ({"linked_indicators": ["ehe_registered", "not_an_indicator"]}, "not_an_indicator"),
    ({"next_review": date(2026, 6, 14)}, "in the past"),
    ({"status": "accepted", "expiry": date(2027, 1, 1)}, "approver"),
    ({"status": "accepted", "approver": "Independent Chair"}, "expiry"),
])
def test_each_bad_edit_is_named(changes, words, catalogue):
    bad = spec(**changes) if "current" not in changes else RiskSpec.model_validate(
        spec().model_dump() | changes)
    problems = rules.risk_problems(bad, MATRIX, SUBGROUPS, catalogue.indicator_by_id, TODAY)
    assert len(problems) == 1 and words in problems[0]
    assert rules.risk_problems(spec(), MATRIX, SUBGROUPS, catalogue.indicator_by_id, TODAY) == []


def test_an_action_without_owner_or_due_date_is_refused_with_its_line():
    text = ("risks:\n  - id: R50\n    actions:\n      - description: x\n        owner: ''\n")
    with pytest.raises(FileProblem) as error:
        parse_yaml(text, RiskFile, "risks.yaml")
    assert "risks.yaml line 5, field risks.0.actions.0.owner" in str(error.value)
    assert "line 4, field risks.0.actions.0.due: Field required" in str(error.value)


def test_seed_files_load_and_every_linked_indicator_exists(catalogue):
    risks = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.risks), RiskFile).risks
    log = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.impact_log), ImpactFile).entries
    assert len(log) == 11 and {e.subgroup for e in log} <= SUBGROUPS
    assert len(risks) >= 9 and all(r.linked_indicators for r in risks)
    for risk in risks:
        assert rules.risk_problems(risk, MATRIX, SUBGROUPS, catalogue.indicator_by_id, date(2020, 1, 1)) == []


def alert(key, status="open", severity="medium", indicator="ehe_registered"):
    return {"key": key, "indicator": indicator, "status": status, "severity": severity, "last_period": "2020-03",
            "message": "Children electively home educated above its usual range for 3 months."}


def test_evidence_is_news_once_and_proposes_one_step_of_likelihood():
    links = {"R09": ["ehe_registered"], "R04": ["mash_enquiries"]}
    found = rules.new_evidence(links, [alert("a")], [])
    assert [(e["risk_id"], e["change"]) for e in found] == [("R09", "raised")]
    assert rules.new_evidence(links, [alert("a")], [("R09", "a", "open", "medium")]) == []
    assert rules.new_evidence(links, [alert("a", severity="high")], [("R09", "a", "open", "medium")])[0]["change"] \
        == "escalated"
    assert rules.new_evidence(links, [alert("a", "resolved")], [("R09", "a", "open", "medium")])[0]["change"] \
        == "resolved"
    risk = {"risk_id": "R09", "status": "open", "current_likelihood": 3, "current_impact": 3, "proposals": []}
    [proposal] = rules.propose_rescores([risk], found, {"R09": 1}, MATRIX)
    assert (proposal["likelihood"], proposal["impact"]) == (4, 3)
    assert proposal["reason"] == "Children electively home educated above its usual range for 3 months; likelihood 3 → 4."
    waiting = risk | {"proposals": [{"status": "proposed"}]}
    assert rules.propose_rescores([waiting], found, {"R09": 1}, MATRIX) == []


def test_overdue_reviews_and_actions_raise_alert_candidates_for_the_owning_subgroup():
    settings = parse_alert_settings(ALERTS_FILE.read_text(encoding="utf-8"))
    risk = {"risk_id": "R09", "title": "EHE", "status": "open", "subgroup": "education", "owner": "Designated Nurse",
            "next_review": date(2026, 6, 1), "actions": [
                {"id": 7, "description": "Publish policy", "owner": "Director of Education",
                 "due": date(2026, 5, 1), "status": "open"},
                {"id": 8, "description": "Done", "owner": "x", "due": date(2026, 5, 1), "status": "done"}]}
    frame = overdue_candidates([risk], TODAY, "2026-05", "E09000006", settings)
    assert sorted(frame["rule"].to_list()) == ["action_overdue", "risk_review_overdue"]
    assert set(frame["subgroup"]) == {"education"}
    assert all('"owner": "Designated Nurse"' in e for e in frame["evidence"])  # notification routes address the owner
    assert overdue_candidates([risk | {"status": "closed"}], TODAY, "2026-05", "E09000006", settings).is_empty()


def _open(store_url):
    return get_engine(store_url)


def _seeded(store_url):
    engine = _open(store_url)
    with engine.begin() as conn:
        store.ensure_seeded(conn, CONFIG.partnership.la_code, FILES, TODAY)
    return engine


def test_a_new_store_loads_the_files_once(store_url):
    engine = _seeded(store_url)
    with engine.begin() as conn:
        store.ensure_seeded(conn, CONFIG.partnership.la_code, FILES, TODAY)
        risks = store.read_risks(conn, CONFIG.partnership.la_code)
        log = store.read_impact(conn, CONFIG.partnership.la_code)
    assert len(risks) == len(load_yaml(CONFIG.resolve_path(CONFIG.risk_register.risks), RiskFile).risks)
    assert len(log) == 11


def test_stale_version_is_refused_and_nothing_changes(store_url):
    engine, la = _seeded(store_url), CONFIG.partnership.la_code
    with engine.begin() as conn:
        store.rescore_risk(conn, la, "R09", likelihood=4, impact=3, by="DoE", reason="EHE up", version=1,
                           matrix=MATRIX, today=TODAY)
    with pytest.raises(store.RegisterRefusal, match="version 1, it is now version 2"), engine.begin() as conn:
        store.rescore_risk(conn, la, "R09", likelihood=2, impact=2, by="other", reason="x", version=1,
                           matrix=MATRIX, today=TODAY)
    with engine.begin() as conn:
        row = store.risk_row(conn, la, "R09")
        history = store.risk_history(conn, la, "R09")
    assert (row["current_likelihood"], row["current_impact"], row["version"]) == (4, 3, 2)
    assert row["next_review"] == date(2026, 7, 15)  # 12 is high: monthly
    assert [h["what"] for h in history] == ["risk_loaded", "risk_scored"]
    assert history[1]["by"] == "DoE" and history[1]["detail"]["from"] == [3, 3]


def test_a_proposal_changes_nothing_until_the_owner_decides(store_url):
    engine, la = _seeded(store_url), CONFIG.partnership.la_code
    proposal = {"risk_id": "R09", "likelihood": 4, "impact": 3, "reason": "EHE up; likelihood 3 → 4.", "alert_key": "a"}
    with engine.begin() as conn:
        store.attach_evidence(conn, la, [{"risk_id": "R09", "alert_key": "a", "change": "raised", "status": "open",
                                          "severity": "medium", "period": "2020-03", "message": "m"}], [proposal])
        risk = next(r for r in store.read_risks(conn, la) if r["risk_id"] == "R09")
    view = rules.risk_view(risk, MATRIX, TODAY)
    assert view["current"]["score"] == 9 and view["evidence"] == ["a"]
    [made] = view["proposals"]
    assert made["status"] == "proposed"
    with engine.begin() as conn:
        store.decide_proposal(conn, la, "R09", made["id"], decision="changed", by="DoE", reason="less than that",
                              matrix=MATRIX, today=TODAY, change=(3, 4))
    with pytest.raises(store.RegisterRefusal, match="already changed"), engine.begin() as conn:
        store.decide_proposal(conn, la, "R09", made["id"], decision="accepted", by="x", reason="y",
                              matrix=MATRIX, today=TODAY)
    with engine.begin() as conn:
        row = store.risk_row(conn, la, "R09")
        what = [h["what"] for h in store.risk_history(conn, la, "R09")]
    assert (row["current_likelihood"], row["current_impact"]) == (3, 4)
    assert what == ["risk_loaded", "risk_evidence", "proposal_made", "risk_decided", "proposal_changed"]


def test_impact_update_with_a_stale_version_is_refused(store_url):
    engine, la = _seeded(store_url), CONFIG.partnership.la_code
    with engine.begin() as conn:
        store.update_impact(conn, la, "IL08", {"status": "complete"}, by="chair", version=1)
    with pytest.raises(store.RegisterRefusal, match="has changed since you read it"), engine.begin() as conn:
        store.update_impact(conn, la, "IL08", {"status": "open"}, by="other", version=1)
    with engine.begin() as conn:
        assert [e["status"] for e in store.read_impact(conn, la) if e["id"] == "IL08"] == ["complete"]


def test_cli_json_shapes_and_refusals(register_store, tmp_path):
    from radar.cli import app

    runner = CliRunner()
    listed = json.loads(runner.invoke(app, ["risks", "list", "--json", "--subgroup", "education"]).stdout)
    assert [r["id"] for r in listed] == ["R09"]
    assert {"id", "title", "category", "priority", "subgroup", "owner", "inherent", "current", "target", "appetite",
            "out_of_appetite", "confidence", "status", "next_review", "version", "linked_indicators", "evidence",
            "proposals"} <= set(listed[0])
    assert listed[0]["current"] == {"likelihood": 3, "impact": 3, "score": 9}
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(CONFIG.resolve_path(CONFIG.risk_register.risks)).read_text().replace(
        "id: R01", "id: R77").replace("owner: Independent Chair\n", "owner: Nobody\n", 1))
    refused = runner.invoke(app, ["risks", "add", "--file", str(bad), "--by", "me"])
    assert refused.exit_code == 2 and "Nothing was saved" in refused.output
    missing = runner.invoke(app, ["risks", "show", "R77", "--json"])
    assert missing.exit_code == 2 and "no risk R77" in missing.output  # nothing half-saved
    log = json.loads(runner.invoke(app, ["impact", "list", "--json"]).stdout)
    assert len(log) == 11 and set(log[0]) >= {"id", "date", "subgroup", "challenge", "action", "owner", "status",
                                                "evidence"}


def test_cli_adds_a_risk_and_its_actions_without_yaml_and_shows_it_as_text(register_store):
    from radar.cli import app

    runner = CliRunner()
    owner = MATRIX.owners[0]
    due = date.fromordinal(date.today().toordinal() + 40)
    add = ["risks", "add", "--title", "Children placed out of area without notice, in part",  # a comma, no YAML
           "--subgroup", "pci", "--owner", owner, "--likelihood", "4", "--impact", "3", "--appetite", "strategic",
           "--by", "chair@bscp"]
    added = runner.invoke(app, add)
    assert added.exit_code == 0, added.output
    seeded = load_yaml(CONFIG.resolve_path(CONFIG.risk_register.risks), RiskFile).risks
    new_id = f"R{max(int(r.id[1:]) for r in seeded) + 1:02d}"
    assert f"Added {new_id}" in added.output
    shown_json = json.loads(runner.invoke(app, ["risks", "show", new_id, "--json"]).stdout)
    assert (shown_json["title"], shown_json["subgroup"], shown_json["owner"], shown_json["category"]) == (
        "Children placed out of area without notice, in part", "pci", owner, "strategic")
    assert shown_json["current"] == {"likelihood": 4, "impact": 3, "score": 12} and shown_json["out_of_appetite"]
    assert [h["what"] for h in shown_json["history"]] == ["risk_added"] and shown_json["history"][0]["by"] == "chair@bscp"
    # off the matrix, an unknown appetite: refused with the reason, nothing added
    off = runner.invoke(app, [*add[:9], "6", *add[10:]])
    assert off.exit_code == 2 and "a likelihood must be 1 to 5" in off.output
    wrong = runner.invoke(app, [*add[:13], "lenient", *add[14:]])
    assert wrong.exit_code == 2 and "the appetite must be strategic" in wrong.output
    assert [r["id"] for r in json.loads(runner.invoke(app, ["risks", "list", "--json"]).stdout)][-1] == new_id

    act = runner.invoke(app, ["risks", "action", "add", new_id, "--description", "Ask the placing authorities",
                              "--owner", "Head of Service", "--due", due.isoformat(), "--by", "chair@bscp"])
    assert act.exit_code == 0, act.output
    number = int(act.output.split("action ")[1].split()[0])
    past = runner.invoke(app, ["risks", "action", "add", new_id, "--description", "x", "--owner", "y",
                               "--due", "2020-01-01", "--by", "chair@bscp"])
    assert past.exit_code == 2 and "the due date 2020-01-01 is in the past" in past.output
    stale = runner.invoke(app, ["risks", "action", "update", new_id, str(number), "--owner", "Designated Nurse",
                                "--expected-version", "1", "--by", "other@bscp"])  # the action moved it to 2
    assert stale.exit_code == 2 and "you had version 1, it is now version 2" in stale.output
    moved = runner.invoke(app, ["risks", "action", "update", new_id, str(number), "--owner", "Designated Nurse",
                                "--expected-version", "2", "--by", "chair@bscp"])
    assert moved.exit_code == 0, moved.output
    closed = runner.invoke(app, ["risks", "action", "close", new_id, str(number), "--note", "All three replied",
                                 "--by", "chair@bscp"])
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(app, ["risks", "action", "close", new_id, str(number), "--note", "x", "--by", "me"])
    assert again.exit_code == 2 and "already done" in again.output
    [action] = json.loads(runner.invoke(app, ["risks", "show", new_id, "--json"]).stdout)["actions"]
    assert (action["owner"], action["status"], action["note"]) == ("Designated Nurse", "done", "All three replied")

    text = runner.invoke(app, ["risks", "show", new_id])
    assert text.exit_code == 0 and "datetime." not in text.output and "{'" not in text.output
    assert f"{new_id}: Children placed out of area without notice, in part  (version 4)" in text.output
    assert f"due {due.day} {due:%b %Y}; done; All three replied" in text.output
    assert "action closed: All three replied" in text.output


def test_cli_shows_a_risk_as_readable_text(register_store):
    from radar.cli import app

    shown = CliRunner().invoke(app, ["risks", "show", "R09"])  # a risk from the file, with its dates and actions
    assert shown.exit_code == 0 and "datetime." not in shown.output and "{'" not in shown.output
    with get_engine(register_store).connect() as conn:
        row = store.risk_row(conn, CONFIG.partnership.la_code, "R09")
    review = row["next_review"]
    assert f"Next review: {review.day} {review:%b %Y}" in shown.output
    assert f"R09: {row['title']}  (version 1)" in shown.output


def test_cli_links_an_impact_entry_to_a_risk_and_refuses_unknown_ones(register_store):
    from radar.cli import app

    runner = CliRunner()
    linked = runner.invoke(app, ["impact", "link", "IL04", "--risk", "R09", "--by", "chair@bscp"])
    assert linked.exit_code == 0 and "IL04: linked to risk R09" in linked.output
    for args, words in ((["IL04", "--risk", "R09"], "already linked"), (["IL04", "--risk", "R77"], "no risk R77"),
                        (["IL99", "--risk", "R09"], "no Impact Log entry IL99"),
                        (["IL04", "--alert", "spc-nothere"], "no alert spc-nothere"),
                        (["IL04"], "exactly one: a risk or an alert")):
        refused = runner.invoke(app, ["impact", "link", *args, "--by", "chair@bscp"])
        assert refused.exit_code == 2 and words in refused.output, (args, refused.output)
    engine = get_engine(register_store)
    with engine.begin() as conn:  # an alert as the monthly cycle stores one
        conn.execute(Alert.__table__.insert().values(
            la_code=CONFIG.partnership.la_code, key="spc_run|ehe_registered||la", ref="spc-k3f9qa2b", rule="spc_run",
            indicator="ehe_registered", scope="la", severity="medium", subgroup="education", status="open",
            message="m", first_period="2020-01", last_period="2020-03"))
    by_ref = runner.invoke(app, ["impact", "link", "IL05", "--alert", "spc-k3f9qa2b", "--by", "chair@bscp"])
    assert by_ref.exit_code == 0 and "IL05: linked to alert spc-k3f9qa2b" in by_ref.output
    log = {e["id"]: e for e in json.loads(runner.invoke(app, ["impact", "list", "--json"]).stdout)}
    assert (log["IL04"]["risks"], log["IL04"]["alerts"]) == (["R09"], [])
    assert (log["IL05"]["risks"], log["IL05"]["alerts"]) == ([], ["spc_run|ehe_registered||la"])
    with engine.connect() as conn:
        trail = conn.execute(store.AUDIT.select().where(store.AUDIT.c.action == "impact_linked")).mappings().all()
    assert [(t["actor"], t["subject"]) for t in trail] == [("chair@bscp", "impact:IL04"), ("chair@bscp", "impact:IL05")]


def test_cli_score_takes_the_version_the_person_saw(register_store):
    from radar.cli import app

    runner = CliRunner()
    score = ["risks", "score", "R09", "--likelihood", "4", "--impact", "3", "--by", "DoE", "--reason", "EHE up"]
    assert runner.invoke(app, [*score, "--expected-version", "1"]).exit_code == 0
    stale = runner.invoke(app, [*score, "--expected-version", "1"])
    assert stale.exit_code == 2 and "you had version 1, it is now version 2" in stale.output
    assert "--expected-version" in runner.invoke(app, ["risks", "score", "--help"]).output


def _rows(url: str) -> dict[str, int]:
    """Every table's row count: what a read must leave as it found it."""
    from sqlalchemy import func, select
    from sqlmodel import SQLModel

    with get_engine(url).connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in SQLModel.metadata.sorted_tables}


def test_reads_of_a_store_whose_register_is_not_loaded_write_nothing(radar_store):
    """The register, the Impact Log and the threat assessment only read: on a store the monthly cycle has not yet
    loaded the register into, they show no risks (and say why) instead of seeding it."""
    from radar.cli import app

    runner = CliRunner()
    before = _rows(radar_store)
    listed = runner.invoke(app, ["risks", "list", "--json"])
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []
    assert "the monthly cycle loads it" in listed.stderr
    log = runner.invoke(app, ["impact", "list", "--json"])
    assert log.exit_code == 0 and json.loads(log.stdout) == []
    sta = runner.invoke(app, ["sta", "--period", "2020-03", "--json"])
    assert sta.exit_code == 0, sta.output
    assert not [r for t in json.loads(sta.stdout)["threats"] for r in t["risks"]]
    assert _rows(radar_store) == before


def test_an_edit_before_the_register_is_loaded_is_refused_and_saves_nothing(radar_store):
    """A risk added by hand before the cycle loads the file's risks would take R01 from under them."""
    from radar.cli import app

    before = _rows(radar_store)
    added = CliRunner().invoke(app, ["risks", "add", "--title", "t", "--subgroup", "pci", "--owner", MATRIX.owners[0],
                                     "--likelihood", "2", "--impact", "2", "--appetite", "strategic", "--by", "me"])
    assert added.exit_code == 2 and "the monthly cycle loads it" in added.output
    assert _rows(radar_store) == before


def test_the_register_files_are_parsed_once_in_a_run(radar_store, tmp_path, monkeypatch):
    """The matrix is parsed once per run (on the partnership context), however many reads, assessments and Board
    packs the run makes; before, every read parsed it again and a Board pack twice."""
    import radar.core.register as files
    from radar.cli import app

    parsed: list[str] = []
    real = files.parse_yaml

    def counting(text, model, name):
        parsed.append(Path(name).name)
        return real(text, model, name)

    monkeypatch.setattr(files, "parse_yaml", counting)
    runner = CliRunner()
    for args in (["risks", "list", "--json"], ["sta", "--period", "2020-03", "--json"],
                 ["sta", "--period", "2020-03", "--json"],
                 ["report", "--period", "2020-03", "--format", "html", "--out", str(tmp_path / "pack.html")]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    matrix = Path(CONFIG.risk_register.matrix).name
    assert parsed.count(matrix) == 1, parsed
    assert parsed.count(Path(CONFIG.risk_register.risks).name) == 1, parsed  # the themes' cross-check
