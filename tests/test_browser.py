"""The running dashboard in a real browser: sign-in through a real OIDC provider, each role, accessibility.

One session fixture starts everything once: a local OpenID Connect provider
on loopback (oidc-provider-mock), the dashboard as `radar dashboard` serves
it (radar.dashboard.auth.streamlit_command) over test_dashboard's store, and
Debian's Chromium driven by Playwright (never a downloaded browser).  Each
role signs in through the provider's own form, opens its pages, and must see
their key text and must not see what belongs to others.  The provider confirms
each role's address (`email_verified`); an impostor's account carries the
chair's address unconfirmed, and must get no role.  Screenshots go to
docs/screenshots/ (the README shows the overview); axe-core checks each page
for serious or critical accessibility violations.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from oidc_provider_mock import User, run_server_in_thread
from playwright.sync_api import expect, sync_playwright
from test_dashboard import APP, FEED_MESSAGE, SPC_MESSAGE, fill

from radar.dashboard.auth import streamlit_command

CHROMIUM = Path("/usr/bin/chromium")
# .ci/run installs Debian's chromium, so CI always runs these; elsewhere, without it, they say why they did not run.
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)")
# The committed screenshots are refreshed on purpose (RADAR_SCREENSHOTS=1 make test), not by every test run.
SCREENSHOTS = (Path(__file__).resolve().parents[1] / "docs" / "screenshots" if os.environ.get("RADAR_SCREENSHOTS")
               else Path(os.environ.get("TMPDIR", "/tmp")) / "radar-screenshots")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]
START_SECONDS = 60
STEP_MS = 20_000
# What each role opens, the text each page must show, and text that must not appear anywhere it goes.
ROLES = {
    "independent-chair@bscp.example.org": {
        "pages": {"": "Strategic threat assessment", "alerts": "Alerts", "indicators": "Indicator explorer",
                  "feed_status": "Feed status", "upload": "Send a file", "rejected": "Rejected files"},
        "hidden": [],
    },
    "pci-chair@bscp.example.org": {"pages": {"alerts": "Acknowledge", "register": "Review or re-score"},
                                   "hidden": ["Send a file"]},
    "analyst@bscp.example.org": {"pages": {"feed_status": "Files by month"}, "hidden": ["Send a file"]},
    "data-lead@csc.example.org": {
        "pages": {"": "Send a file", "rejected": "Report sent to the agency"},
        "hidden": [SPC_MESSAGE, FEED_MESSAGE, "lado_referrals__2025-02.csv", "Strategic threat assessment"],
    },
    "board-member@bscp.example.org": {
        "pages": {"": "Strategic threat assessment", "indicators": "Indicator explorer"},
        "hidden": ["Feed status", "Rejected files", "Acknowledge"],
    },
}
SERIOUS = ("serious", "critical")
STRANGER, IMPOSTOR = "stranger@example.org", "impostor-account"
# The accounts the provider knows: every role's address and a stranger's confirmed, and the chair's address on
# an account whose provider never confirmed it (the red team's case: it signed in as the Chair).
ACCOUNTS = [
    *(User(sub=email, claims={"email": email, "email_verified": True}) for email in [*ROLES, STRANGER]),
    User(sub=IMPOSTOR, claims={"email": "independent-chair@bscp.example.org", "email_verified": False}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {START_SECONDS} s")


@pytest.fixture(scope="session")
def browser_app(tmp_path_factory):
    """(dashboard URL, Chromium) with sign-in through a provider on loopback; stopped when the session ends."""
    home = tmp_path_factory.mktemp("browser_home")
    with pytest.MonkeyPatch.context() as env, run_server_in_thread(user_claims=ACCOUNTS) as provider:
        env.setenv("RADAR_HOME", str(home))
        env.delenv("RADAR_DATABASE_URL", raising=False)
        env.delenv("RADAR_DEV_MODE", raising=False)
        fill(home)
        port = free_port()
        settings = {
            "RADAR_OIDC_METADATA_URL": f"http://localhost:{provider.server_port}/.well-known/openid-configuration",
            "RADAR_OIDC_CLIENT_ID": "radar-dashboard", "RADAR_OIDC_CLIENT_SECRET": "browser-test-secret",
            "RADAR_COOKIE_SECRET": "browser-test-cookie-secret",
        }
        served = subprocess.Popen(streamlit_command(APP, port, env=settings), env={**os.environ, **settings},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://localhost:{port}"
            wait_for(f"{url}/_stcore/health")
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
                yield url, browser
                browser.close()
        finally:
            served.terminate()
            served.wait(timeout=20)


def sign_in(browser, url: str, email: str):
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").first.fill(email)
    page.get_by_role("button", name="Authorize", exact=True).click()
    page.wait_for_url(f"{url}/**")
    expect(page.get_by_text(f"Signed in as {email}")).to_be_visible()
    return page


def settle(page) -> None:
    """Wait until Streamlit has finished running the page's script."""
    page.wait_for_timeout(1000)  # the run starts
    expect(page.get_by_role("button", name="Stop")).to_have_count(0, timeout=STEP_MS)


def test_nothing_shows_before_sign_in(browser_app):
    url, browser = browser_app
    page = browser.new_page()
    page.goto(url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=STEP_MS)
    body = page.inner_text("body")
    assert SPC_MESSAGE not in body and "Strategic threat assessment" not in body
    assert page.get_by_text("Deploy").count() == 0  # Streamlit's toolbar is hidden
    page.close()


@pytest.mark.parametrize(("account", "reason"), [
    (STRANGER, "you have not been given access"), (IMPOSTOR, "your provider has not confirmed this address"),
])
def test_a_stranger_or_an_unconfirmed_address_is_refused_politely(browser_app, account, reason):
    url, browser = browser_app
    page = browser.new_context().new_page()
    page.set_default_timeout(STEP_MS)
    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.locator("input[name=sub]").first.fill(account)
    page.get_by_role("button", name="Authorize", exact=True).click()
    expect(page.get_by_text(reason)).to_be_visible()
    settle(page)
    body = page.inner_text("body")
    assert SPC_MESSAGE not in body and "Strategic threat assessment" not in body and "Send a file" not in body
    page.context.close()


@pytest.mark.parametrize("email", list(ROLES))
def test_each_role_sees_its_pages_and_nothing_else(browser_app, email):
    url, browser = browser_app
    page = sign_in(browser, url, email)
    role = email.split("@")[0]
    serious = []
    for path, text in ROLES[email]["pages"].items():
        page.goto(f"{url}/{path}")
        expect(page.get_by_text(text).first).to_be_visible()
        settle(page)
        body = page.content()  # the whole document, tables' cells included
        assert "mash_contacts__2025-03.csv" in body or path not in ("rejected", "upload")
        for hidden in ROLES[email]["hidden"]:  # page names too: the menu lists only the role's pages
            assert hidden not in body, (email, path, hidden)
        assert page.get_by_text("Deploy").count() == 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{role}-{path or 'home'}.png"), full_page=True)
        result = Axe().run(page)
        serious += [(path, v["id"], [(n["target"], n.get("failureSummary", "")[:160]) for n in v["nodes"]])
                    for v in result.response["violations"] if v["impact"] in SERIOUS]
    assert not serious, serious
    page.context.close()
