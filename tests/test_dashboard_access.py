"""Who sees what on the dashboard: sign-in, roles, refusals, the actions each role may take, and uploads.

Every page is run with AppTest as each role of Bromley's `[access]` table, a
signed-in person being seeded as `st.user` is after a real OIDC sign-in
(tests/test_browser.py signs in for real).  The store is test_dashboard's,
whose alert messages and file names are the things a wrong role must not see.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from feedfiles import aggregate_rows, catalogue_once, write_aggregate
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from test_dashboard import APP, FEED_MESSAGE, LA, SPC_MESSAGE, every_text, fill

from radar.core.config import Access, Grant, get_context, load_config
from radar.dashboard.auth import (
    NO_ROLE,
    NOT_CONFIGURED,
    NOT_CONFIRMED,
    NOT_YOUR_PAGE,
    OIDC_VARIABLES,
    PAGES,
    Person,
    grant_for,
    provider_settings,
    signed_in,
    streamlit_command,
    write_auth_secrets,
)
from radar.models.alerts import Alert
from radar.models.audit import AuditEvent
from radar.models.engine import get_engine

PAGE_DIR = APP.parent / "views"
CHAIR, PCI_CHAIR, ANALYST, CSC_LEAD, VIEWER = (
    "independent-chair@bscp.example.org", "pci-chair@bscp.example.org", "analyst@bscp.example.org",
    "data-lead@csc.example.org", "board-member@bscp.example.org",
)
TITLES = {"overview": "Strategic threat assessment", "alerts": "Alerts", "indicators": "Indicator explorer",
          "feed_status": "Feed status", "upload": "Send a file", "rejected": "Rejected files",
          "register": "Risk register", "impact_log": "Impact Log"}
ROLE_PAGES = {
    CHAIR: {"overview", "alerts", "indicators", "feed_status", "upload", "rejected", "register", "impact_log"},
    PCI_CHAIR: {"overview", "alerts", "indicators", "feed_status", "rejected", "register", "impact_log"},
    ANALYST: {"overview", "alerts", "indicators", "feed_status", "rejected", "register", "impact_log"},
    CSC_LEAD: {"upload", "rejected"},
    VIEWER: {"overview", "indicators"},
}
PROVIDER = {"RADAR_OIDC_METADATA_URL": "http://127.0.0.1:9/.well-known/openid-configuration",
            "RADAR_OIDC_CLIENT_ID": "radar", "RADAR_OIDC_CLIENT_SECRET": "not-a-secret",
            "RADAR_COOKIE_SECRET": "cookie-secret-for-tests"}


def make_home(path: Path, monkeypatch: pytest.MonkeyPatch, provider: bool = True, loaded: bool = True) -> Path:
    monkeypatch.setenv("RADAR_HOME", str(path))
    monkeypatch.delenv("RADAR_DATABASE_URL", raising=False)
    monkeypatch.delenv("RADAR_CONFIG", raising=False)
    monkeypatch.delenv("RADAR_DEV_MODE", raising=False)
    monkeypatch.delenv("RADAR_DEV_USER", raising=False)
    for name in OIDC_VARIABLES:
        if provider:
            monkeypatch.setenv(name, PROVIDER[name])
        else:
            monkeypatch.delenv(name, raising=False)
    fill(path, loaded)
    return path


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """test_dashboard's store, read with a sign-in provider configured."""
    with pytest.MonkeyPatch.context() as env:
        yield make_home(tmp_path_factory.mktemp("access_home"), env)


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    """A store of its own, for tests that change it."""
    return make_home(tmp_path, monkeypatch)


def as_person(email: str | None, script: Path = APP, verified: object = True) -> AppTest:
    app = AppTest.from_file(str(script), default_timeout=30)
    if email:
        app.user = {"is_logged_in": True, "email": email, "email_verified": verified, "name": email.split("@")[0]}
    return app


def visit(email: str | None, page: str | None = None, verified: object = True) -> AppTest:
    app = as_person(email, verified=verified).run()
    if page:
        app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def audit_events(action: str) -> list[dict]:
    with get_engine(get_context().settings.database_url).connect() as conn:
        table = AuditEvent.__table__
        return [dict(r) for r in conn.execute(select(table).where(table.c.action == action)).mappings()]


def test_without_a_provider_or_development_mode_nothing_is_shown(tmp_path, monkeypatch):
    make_home(tmp_path, monkeypatch, provider=False)
    app = visit(None)
    assert app.info[0].value == NOT_CONFIGURED
    assert SPC_MESSAGE not in every_text(app) and not app.sidebar.markdown
    assert "RADAR_DEV_MODE=1" in NOT_CONFIGURED


def test_development_mode_says_so_on_every_page(tmp_path, monkeypatch):
    make_home(tmp_path, monkeypatch, provider=False)
    monkeypatch.setenv("RADAR_DEV_MODE", "1")
    for page in PAGES:
        app = visit(None, page)
        assert "Development mode" in app.warning[0].value, page
        assert app.title[0].value == TITLES[page]


def test_development_mode_can_borrow_a_configured_role(tmp_path, monkeypatch):
    make_home(tmp_path, monkeypatch, provider=False)
    monkeypatch.setenv("RADAR_DEV_MODE", "1")
    monkeypatch.setenv("RADAR_DEV_USER", VIEWER)
    app = visit(None, "indicators")
    assert "shown as to the viewer" in app.warning[0].value
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        visit(None, "alerts")


def test_a_provider_asks_for_sign_in_before_showing_anything(home):
    app = visit(None)
    assert app.button[0].label == "Sign in"
    assert SPC_MESSAGE not in every_text(app) and not app.sidebar.markdown


def test_someone_signed_in_without_a_role_is_refused_politely(home):
    app = visit("stranger@example.org")
    assert app.info[0].value == NO_ROLE.format(email="stranger@example.org")
    text = every_text(app)
    assert SPC_MESSAGE not in text and FEED_MESSAGE not in text and "Strategic" not in text


def test_a_role_limited_to_a_subgroup_or_agency_is_named_in_words(home):
    ctx = get_context()
    pci = next(s.name for s in ctx.catalogue.subgroups if s.id == "pci")
    assert visit(PCI_CHAIR).sidebar.caption[-1].value == f"Signed in as {PCI_CHAIR} · Subgroup chair ({pci})"
    csc = visit(CSC_LEAD).sidebar.caption[-1].value
    assert csc.endswith(f"({ctx.config.agencies['csc'].name})"), csc  # never "(csc)"


@pytest.mark.parametrize("email", list(ROLE_PAGES))
def test_each_role_sees_its_pages_and_is_kept_from_the_others(home, email):
    for page in PAGES:
        if page in ROLE_PAGES[email]:
            app = visit(email, page)
            assert app.title[0].value == TITLES[page], (email, page)
        else:  # not in the menu at all
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                visit(email, page)
    assert f"Signed in as {email}" in visit(email).sidebar.caption[-1].value


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_checks_the_role_itself_before_reading(home, page):
    """A page script run on its own (not through the menu) still refuses a role it does not include."""
    refused = next(email for email, pages in ROLE_PAGES.items() if page not in pages)
    app = as_person(refused, PAGE_DIR / f"{page}.py").run()
    assert not app.exception
    assert app.warning[0].value.startswith(NOT_YOUR_PAGE.split("(")[0])
    assert SPC_MESSAGE not in every_text(app) and "mash_contacts" not in every_text(app)


def test_an_agency_data_lead_sees_only_their_agency_files(home):
    app = visit(CSC_LEAD, "rejected")
    text = every_text(app)
    assert "mash_contacts__2025-03.csv" in text and "lado_referrals__2025-02.csv" not in text
    assert "Files from Bromley Children's Social Care and MASH only." in text


def test_a_viewer_cannot_acknowledge_and_a_subgroup_chair_only_their_own(home):
    assert not visit(VIEWER).expander  # the overview offers no action
    labels = [e.label for e in visit(PCI_CHAIR, "alerts").expander if e.label.startswith("Acknowledge")]
    with get_engine(get_context().settings.database_url).connect() as conn:
        table = Alert.__table__
        open_pci = set(conn.execute(select(table.c.ref).where(
            table.c.la_code == LA, table.c.subgroup == "pci", table.c.status == "open")).scalars())
    assert open_pci and {label.removeprefix("Acknowledge ") for label in labels} == open_pci
    health = Person("health-chair@bscp.example.org", Grant(role="subgroup_chair", subgroup="health"))
    assert health.may_act_on_subgroup("health") and not health.may_act_on_subgroup("pci")
    assert not Person(ANALYST, Grant(role="analyst")).may_act_on_subgroup("pci")


def test_acknowledging_in_the_dashboard_is_audited_with_the_address(own_home):
    app = visit(PCI_CHAIR, "alerts")
    ref = next(e.label for e in app.expander if e.label.startswith("Acknowledge")).removeprefix("Acknowledge ")
    app.text_input(key=f"note-{ref}").input("Asked CSC for the April breakdown")
    app.button(key=f"FormSubmitter:acknowledge-{ref}-Acknowledge").click().run()
    assert not app.exception, [e.value for e in app.exception]
    with get_engine(get_context().settings.database_url).connect() as conn:
        table = Alert.__table__
        row = conn.execute(select(table).where(table.c.ref == ref, table.c.la_code == LA)).mappings().one()
    assert (row["status"], row["acknowledged_by"], row["ack_note"]) == (
        "acknowledged", PCI_CHAIR, "Asked CSC for the April breakdown")
    assert [e["actor"] for e in audit_events("alert_status_changed")] == [PCI_CHAIR]


def test_silencing_in_the_dashboard_needs_a_reason_and_is_audited_with_the_address(own_home):
    app = visit(PCI_CHAIR, "alerts")
    refs = [e.label.removeprefix("Silence ") for e in app.expander if e.label.startswith("Silence ")]
    with get_engine(get_context().settings.database_url).connect() as conn:
        table = Alert.__table__
        active_pci = set(conn.execute(select(table.c.ref).where(
            table.c.la_code == LA, table.c.subgroup == "pci", table.c.status.in_(["open", "acknowledged"]))).scalars())
    assert active_pci and set(refs) == active_pci
    ref = refs[0]
    app.button(key=f"FormSubmitter:silence-{ref}-Silence").click().run()
    assert "Nothing was saved: silencing an alert needs a reason" in app.error[0].value
    app.text_input(key=f"why-{ref}").input("Known cause: the new recording system, reviewed in May")
    app.button(key=f"FormSubmitter:silence-{ref}-Silence").click().run()
    assert not app.exception, [e.value for e in app.exception]
    with get_engine(get_context().settings.database_url).connect() as conn:
        row = conn.execute(select(table).where(table.c.ref == ref, table.c.la_code == LA)).mappings().one()
    assert (row["status"], row["silenced_reason"], row["silenced_until"]) == (
        "silenced", "Known cause: the new recording system, reviewed in May", date.today() + timedelta(days=30))
    assert [e["actor"] for e in audit_events("alert_status_changed")] == [PCI_CHAIR]


def test_an_analyst_re_bases_a_chart_with_a_reason_under_their_address(own_home):
    app = visit(ANALYST, "indicators")
    app.selectbox(key="subgroup").select("pci").run()
    app.selectbox(key="indicator").select("cpp_repeat_rate").run()
    app.text_input(key="rebase_reason").input("New recording system from January")
    app.selectbox(key="rebase_from").select("2025-01")
    app.button(key="FormSubmitter:rebase-Record the re-base").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert "the limits start again from Jan 2025" in app.success[-1].value
    events = audit_events("spc_rebased")
    assert [(e["actor"], e["subject"]) for e in events] == [(ANALYST, "cpp_repeat_rate||2025-01")]
    assert not any(e.label == "Re-base the limits" for e in visit(VIEWER, "indicators").expander)


def upload(app: AppTest, path: Path, name: str | None = None) -> AppTest:
    app.file_uploader(key="upload").set_value((name or path.name, path.read_bytes(), "text/csv"))
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_an_accepted_upload_goes_to_the_inbox_and_is_audited(own_home, tmp_path_factory):
    feed = write_aggregate(tmp_path_factory.mktemp("sent"), "csc_monthly", "2025-04", catalogue_once())
    app = upload(visit(CSC_LEAD), feed)
    assert "passed every check" in app.success[0].value
    assert "It passed every check and has been accepted." in every_text(app)
    assert (own_home / "inbox" / feed.name).read_bytes() == feed.read_bytes()
    assert not [p for p in own_home.rglob(".upload-*")]  # nothing left staged
    assert "Waiting for the inbox to be read: csc_monthly__2025-04.csv" in app.info[-1].value
    [event] = audit_events("dashboard_upload")
    assert event["actor"] == CSC_LEAD and json.loads(event["detail"])["accepted"] is True


def test_a_misnamed_upload_gets_the_pipeline_report_and_is_not_kept(own_home, tmp_path_factory):
    feed = write_aggregate(tmp_path_factory.mktemp("sent"), "csc_monthly", "2025-04", catalogue_once())
    app = upload(visit(CSC_LEAD), feed, name="csc_monthly_2025-04.csv")
    text = every_text(app)
    assert "| File name does not follow the pattern | 1 |" in text
    assert "Rename the file as the problem below explains" in text  # validation.report's own words
    assert not (own_home / "inbox").exists() or not any((own_home / "inbox").iterdir())


def test_a_rejected_upload_shows_the_problems_and_is_kept_only_in_quarantine(own_home, tmp_path_factory):
    catalogue = catalogue_once()
    first = aggregate_rows(catalogue, "csc_monthly", "2025-04")[0]
    feed = write_aggregate(tmp_path_factory.mktemp("sent"), "csc_monthly", "2025-04", catalogue,
                           overrides={(first["indicator"], first["breakdown"]): "many"})
    app = upload(visit(CSC_LEAD), feed)
    assert "not accepted" in app.error[0].value and "quarantine for 30 days" in app.error[0].value
    assert "It was **not accepted**" in every_text(app)
    assert not (own_home / "inbox").exists() or not any((own_home / "inbox").iterdir())
    [kept] = [p for p in (own_home / "quarantine").iterdir() if p.name.endswith(feed.name)]
    assert kept.read_bytes() == feed.read_bytes()


def test_a_data_lead_cannot_send_another_agency_return(own_home, tmp_path_factory):
    feed = write_aggregate(tmp_path_factory.mktemp("sent"), "police_monthly", "2025-04", catalogue_once())
    app = upload(visit(CSC_LEAD), feed)
    assert "another agency's return" in app.error[0].value
    assert not (own_home / "inbox").exists() or not any((own_home / "inbox").iterdir())


def test_auth_settings_are_written_from_the_environment_and_owner_only(tmp_path):
    path = write_auth_secrets(tmp_path, "http://localhost:8501", PROVIDER)
    text = path.read_text()
    assert 'redirect_uri = "http://localhost:8501/oauth2callback"' in text
    assert f'server_metadata_url = "{PROVIDER["RADAR_OIDC_METADATA_URL"]}"' in text
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    assert write_auth_secrets(tmp_path / "none", "http://localhost:8501", {}) is None


def test_the_served_command_hides_the_toolbar_and_passes_the_settings(home):
    command = streamlit_command(APP, 8600, env=PROVIDER)
    assert command[command.index("--client.toolbarMode") + 1] == "viewer"
    assert Path(command[command.index("--secrets.files") + 1]) == home / "streamlit" / "secrets.toml"
    assert "--secrets.files" not in streamlit_command(APP, 8600, env={})


def test_behind_a_proxy_sign_in_returns_to_the_public_address(home):
    command = streamlit_command(APP, 8501, "0.0.0.0", "https://radar.bscp.example.org/", env=PROVIDER)
    assert command[command.index("--server.address") + 1] == "0.0.0.0"
    secrets = Path(command[command.index("--secrets.files") + 1]).read_text()
    assert 'redirect_uri = "https://radar.bscp.example.org/oauth2callback"' in secrets


def test_half_a_provider_is_an_error_that_names_what_is_missing():
    with pytest.raises(ValueError, match="missing: RADAR_COOKIE_SECRET"):
        provider_settings({k: v for k, v in PROVIDER.items() if k != "RADAR_COOKIE_SECRET"})


def test_grants_by_address_ignore_case_and_fall_back_to_groups():
    access = Access(users={"A@x.org": Grant(role="analyst")},
                    groups={"board": Grant(role="viewer"), "pci": Grant(role="subgroup_chair", subgroup="pci")})
    assert grant_for(access, {"email": "a@X.org", "email_verified": True, "groups": ["pci"]}).role == "analyst"
    assert grant_for(access, {"email": "b@x.org", "email_verified": True,
                              "groups": ["other", "pci", "board"]}).subgroup == "pci"
    assert grant_for(access, {"email": "b@x.org", "email_verified": True, "groups": ["other"]}) is None
    assert grant_for(access, {"email": "b@x.org", "groups": "board"}).role == "viewer"  # one group, as a string


@pytest.mark.parametrize("verified", [False, "false", None, "yes", 1])
def test_an_address_the_provider_has_not_confirmed_gives_no_role(verified):
    access = Access(users={CHAIR: Grant(role="chair")})
    claims = {"sub": "someone-else", "email": CHAIR} | ({} if verified is None else {"email_verified": verified})
    assert grant_for(access, claims) is None
    person = signed_in(access, claims)
    assert (person.grant, person.confirmed, person.email) == (None, False, f"{CHAIR} (unconfirmed)")


@pytest.mark.parametrize("verified", [True, "true", "True"])
def test_an_address_the_provider_confirmed_gives_its_role_even_as_the_string_true(verified):
    person = signed_in(Access(users={CHAIR: Grant(role="chair")}), {"email": CHAIR, "email_verified": verified})
    assert (person.grant, person.confirmed, person.email) == (Grant(role="chair"), True, CHAIR)


def test_stable_ids_and_groups_give_roles_without_a_confirmed_address():
    """Entra ID sends no email_verified by default: its object id (oid) or groups still map, and the address it
    does send is shown and audited as unconfirmed; `xms_edov` can stand for email_verified."""
    entra = Access(subject_claim="oid", verified_claim="xms_edov", subjects={"6f1c-oid": Grant(role="analyst")},
                   users={CHAIR: Grant(role="chair")}, groups={"board-group-id": Grant(role="viewer")})
    analyst = signed_in(entra, {"sub": "pairwise", "oid": "6f1c-oid", "email": "a@x.org"})
    assert (analyst.grant.role, analyst.email) == ("analyst", "a@x.org (unconfirmed)")
    assert signed_in(entra, {"oid": "other", "email": CHAIR, "groups": ["board-group-id"]}).grant.role == "viewer"
    assert signed_in(entra, {"oid": "other", "email": CHAIR, "email_verified": True}).grant is None
    assert signed_in(entra, {"oid": "other", "email": CHAIR, "xms_edov": True}).grant.role == "chair"
    assert grant_for(Access(subjects={"6f1c-oid": Grant(role="analyst")}), {"oid": "6f1c-oid"}) is None  # sub only
    nameless = signed_in(Access(subjects={"s-1": Grant(role="viewer")}), {"sub": "s-1"})
    assert (nameless.email, nameless.grant.role) == ("sub s-1", "viewer")


def test_someone_whose_address_is_not_confirmed_is_told_why_and_sees_nothing(home):
    app = visit(CHAIR, verified=False)
    assert app.info[0].value == NOT_CONFIRMED.format(email=f"{CHAIR} (unconfirmed)")
    assert "your provider has not confirmed this address" in app.info[0].value
    text = every_text(app)
    assert SPC_MESSAGE not in text and FEED_MESSAGE not in text and "Strategic" not in text
    page = as_person(CHAIR, PAGE_DIR / "upload.py", verified=False).run()  # the page on its own refuses too
    assert page.warning[0].value == NOT_YOUR_PAGE.format(role="no role") and not page.file_uploader


@pytest.mark.parametrize("grant", [
    {"role": "subgroup_chair"}, {"role": "agency_submitter"}, {"role": "viewer", "agency": "csc"},
    {"role": "chair", "subgroup": "pci"}, {"role": "admin"},
])
def test_a_grant_that_is_wider_or_narrower_than_it_says_is_refused(grant):
    with pytest.raises(ValueError):
        Grant(**grant)


def test_access_naming_an_unknown_agency_stops_start_up(tmp_path):
    source = (Path(get_context().settings.config_path)).read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(source.replace('agency = "csc"', 'agency = "cscc"'))
    config = load_config(bad)
    with pytest.raises(ValueError, match=r"\[access\] names unknown agencies: \['cscc'\]"):
        config.check_against(catalogue_once())
    bad.write_text(source + '[access.subjects]\n"6f1c-oid" = { role = "subgroup_chair", subgroup = "pcii" }\n')
    with pytest.raises(ValueError, match=r"\[access\] names unknown subgroups: \['pcii'\]"):
        load_config(bad).check_against(catalogue_once())
