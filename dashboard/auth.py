"""Who is looking at the dashboard, and what their role lets them see and do.

The dashboard shows LADO referrals, children going missing and which agency
is failing, so nothing is shown to someone Radar cannot name.  Sign-in is
Streamlit's own `st.login` against the partnership's OpenID Connect provider
(Microsoft Entra ID, or any other), configured by four environment variables
from which `streamlit_command` writes Streamlit's `[auth]` settings into
RADAR_HOME itself, so nobody hand-edits a secrets file and none is committed.

The partnership file's `[access]` maps the provider's stable id for a person,
a signed-in address or the provider's groups to a role (radar.core.config.Grant);
an address counts only when the provider says it has confirmed it
(`email_verified`), because anyone can put the chair's address on an account
at a provider that does not check.  Every page calls `require` on
the server before it reads anything; every action calls `may_act`.  With no
provider configured the dashboard shows nothing, unless development mode is
switched on explicitly (RADAR_DEV_MODE=1, which `radar demo` sets), and then
every page says so in a banner.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from radar.core.config import Access, Grant, Role, Settings, get_context

OIDC_VARIABLES = ("RADAR_OIDC_METADATA_URL", "RADAR_OIDC_CLIENT_ID", "RADAR_OIDC_CLIENT_SECRET", "RADAR_COOKIE_SECRET")
DEV_MODE = "RADAR_DEV_MODE"
# GOV.UK's text and link colours, dark enough that Streamlit's paler captions, code and badges still
# pass WCAG AA contrast (tests/test_browser.py checks every page with axe-core).
THEME = {
    "base": "light", "textColor": "#0b0c0c", "primaryColor": "#1d70b8", "linkColor": "#1d70b8",
    "codeTextColor": "#0b0c0c", "redTextColor": "#942514", "orangeTextColor": "#6e3619",
    "blueTextColor": "#0f385c", "grayTextColor": "#383f43", "greenTextColor": "#005a30",
}
DEV_USER = "RADAR_DEV_USER"  # in development mode, whose role to borrow from [access] (default: the chair's)
DEV_ADDRESS = "development-mode"  # the actor the audit trail records in development mode
PAGES: dict[str, frozenset[Role]] = {
    "overview": frozenset({"chair", "subgroup_chair", "analyst", "viewer"}),
    "alerts": frozenset({"chair", "subgroup_chair", "analyst"}),
    "indicators": frozenset({"chair", "subgroup_chair", "analyst", "viewer"}),
    "feed_status": frozenset({"chair", "subgroup_chair", "analyst"}),
    "rejected": frozenset({"chair", "subgroup_chair", "analyst", "agency_submitter"}),
    "upload": frozenset({"chair", "agency_submitter"}),
    "register": frozenset({"chair", "subgroup_chair", "analyst"}),
    "impact_log": frozenset({"chair", "subgroup_chair", "analyst"}),
}
ROLE_NAMES = {
    "chair": "Chair", "subgroup_chair": "Subgroup chair", "analyst": "Analyst",
    "agency_submitter": "Agency data lead", "viewer": "Viewer",
}
DEV_BANNER = ("**Development mode**: nobody has signed in and every page is shown as to the {role}. "
              "Do not use development mode with real data; configure sign-in as in docs/operators.md.")
NOT_CONFIGURED = (
    "Sign-in has not been set up for this dashboard, so it shows no data. The person who runs Radar "
    "sets RADAR_OIDC_METADATA_URL, RADAR_OIDC_CLIENT_ID, RADAR_OIDC_CLIENT_SECRET and RADAR_COOKIE_SECRET "
    "(docs/operators.md, \"The dashboard\"), or RADAR_DEV_MODE=1 to try Radar with sample data."
)
NO_ROLE = ("You are signed in as {email}, but you have not been given access to Radar's dashboard. "
           "If you need it, ask the partnership's business unit to add your address.")
NOT_CONFIRMED = ("You are signed in as {email}, but your provider has not confirmed this address, so Radar cannot "
                 "give it access. Ask whoever runs your organisation's sign-in to confirm (verify) your address, or "
                 "the partnership's business unit to give access to your account itself rather than its address.")
UNCONFIRMED = "{address} (unconfirmed)"  # how an address the provider has not confirmed is shown and audited
NOT_YOUR_PAGE = "This page is not part of your role ({role}). Choose another page from the menu."


@dataclass(frozen=True)
class Person:
    """Someone using the dashboard: how they are named (and audited), their grant (None: no role), whether the
    provider confirmed their address, and whether this is development mode."""

    email: str  # the confirmed address, else the address marked unconfirmed, else the stable id
    grant: Grant | None
    dev: bool = False
    confirmed: bool = True

    def may_see(self, page: str) -> bool:
        return self.grant is not None and self.grant.role in PAGES[page]

    def may_act_on_subgroup(self, subgroup: str) -> bool:
        """Act for a subgroup (acknowledge its alerts, decide on its risks' proposed re-scores, add to and update
        its Impact Log entries): the chair any, a subgroup chair their own, as the owning subgroup answers for them."""
        if self.grant is None:
            return False
        return self.grant.role == "chair" or (self.grant.role == "subgroup_chair" and self.grant.subgroup == subgroup)

    def may_rebase(self) -> bool:
        return self.grant is not None and self.grant.role in ("chair", "analyst")

    def agency(self) -> str | None:
        """The one agency whose files this person may see, or None for everyone's (a chair, an analyst)."""
        return self.grant.agency if self.grant else None

    def role_name(self) -> str:
        if self.grant is None:
            return "no role"
        return ROLE_NAMES[self.grant.role] + (f" ({scope})" if (scope := self.scope_name()) else "")

    def scope_name(self) -> str | None:
        """The subgroup or agency a role is limited to, by its name: "Performance, Challenge & Impact", not "pci"."""
        if self.grant is None or not (self.grant.subgroup or self.grant.agency):
            return None
        ctx = get_context()
        if self.grant.subgroup:
            names = {s.id: s.name for s in ctx.catalogue.subgroups}
            return names.get(self.grant.subgroup, self.grant.subgroup)
        agency = ctx.config.agencies.get(self.grant.agency or "")
        return agency.name if agency else self.grant.agency


def provider_settings(env: Mapping[str, str] = os.environ) -> dict[str, str] | None:
    """The four sign-in variables, or None when none is set; some but not all is a mistake worth stopping on."""
    given = {name: env.get(name, "") for name in OIDC_VARIABLES}
    if not any(given.values()):
        return None
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise ValueError(f"Sign-in needs all four of {', '.join(OIDC_VARIABLES)}; missing: {', '.join(missing)}.")
    return given


def claimed(value: object) -> bool:
    """A yes/no claim's yes: JSON true, or the string "true" that some providers send."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def address_grant(access: Access, address: str) -> Grant | None:
    """The grant [access.users] gives an address, compared without regard to case."""
    by_address = {listed.lower(): grant for listed, grant in access.users.items()}
    return by_address.get(address.lower()) if address else None


def grant_for(access: Access, claims: Mapping[str, Any]) -> Grant | None:
    """The grant for the person's stable id, else for their address if the provider confirmed it, else for the
    first of their groups that has one."""
    subject = claims.get(access.subject_claim)
    if subject is not None and str(subject) in access.subjects:
        return access.subjects[str(subject)]
    if claimed(claims.get(access.verified_claim)):
        grant = address_grant(access, str(claims.get("email") or ""))
        if grant is not None:
            return grant
    groups = claims.get(access.groups_claim) or []
    groups = [groups] if isinstance(groups, str) else groups  # a provider may send one group as a string
    return next((access.groups[g] for g in groups if g in access.groups), None)


def signed_in(access: Access, claims: Mapping[str, Any]) -> Person:
    """The person the provider's claims name: their grant, and the name they are shown and audited under
    (an address the provider has not confirmed is marked so, and never gives a role on its own)."""
    address = str(claims.get("email") or "")
    if address and not claimed(claims.get(access.verified_claim)):
        return Person(UNCONFIRMED.format(address=address), grant_for(access, claims), confirmed=False)
    return Person(address or f"{access.subject_claim} {claims.get(access.subject_claim)}", grant_for(access, claims))


def write_auth_secrets(home: Path, base_url: str, env: Mapping[str, str] = os.environ) -> Path | None:
    """Write Streamlit's `[auth]` settings from the environment into RADAR_HOME (owner-only); None without a provider.

    Written whole under a temporary name and renamed, so a dashboard starting
    at the same moment never reads half a file.
    """
    given = provider_settings(env)
    if given is None:
        return None
    folder = home / "streamlit"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    values = {
        "redirect_uri": f"{base_url.rstrip('/')}/oauth2callback",
        "cookie_secret": given["RADAR_COOKIE_SECRET"],
        "client_id": given["RADAR_OIDC_CLIENT_ID"],
        "client_secret": given["RADAR_OIDC_CLIENT_SECRET"],
        "server_metadata_url": given["RADAR_OIDC_METADATA_URL"],
    }
    text = "[auth]\n" + "".join(f"{key} = {_toml_string(value)}\n" for key, value in values.items())
    text += '[auth.client_kwargs]\nscope = "openid profile email"\nprompt = "login"\n'
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".secrets-")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    target = folder / "secrets.toml"
    os.replace(temporary, target)
    return target


def _toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def streamlit_command(app: Path, port: int, address: str = "localhost", public_url: str | None = None,
                      settings: Settings | None = None, env: Mapping[str, str] = os.environ) -> list[str]:
    """The command that serves the dashboard: its sign-in settings, and no "Deploy" button or raw page list.

    `public_url` is the address people's browsers open (behind a proxy, the
    proxy's): the identity provider sends them back there after sign-in.
    """
    settings = settings or Settings.from_env()
    command = [
        sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
        "--server.port", str(port), "--server.address", address, "--browser.gatherUsageStats", "false",
        "--client.toolbarMode", "viewer",  # no "Deploy"; the menu is app.py's own st.navigation, by role
        # Streamlit's own log (its web server's start, cache notices such as "No runtime found, using
        # MemoryCacheStorageManager") is not for the people running Radar; its errors still print.
        "--logger.level", "error",
        *(arg for name, value in THEME.items() for arg in (f"--theme.{name}", value)),
    ]
    secrets_file = write_auth_secrets(settings.home, public_url or f"http://localhost:{port}", env)
    if secrets_file:
        command += ["--secrets.files", str(secrets_file)]
    return command


def current_person() -> Person | None:
    """Who is looking, read on the server for every run; None when nobody can be named (nothing is shown)."""
    access = get_context().config.access
    if provider_settings() is not None:
        user = st.user
        if not user.get("is_logged_in"):  # absent, not False, before Streamlit has read [auth]
            return None
        return signed_in(access, user)
    if os.environ.get(DEV_MODE) == "1":
        chosen = os.environ.get(DEV_USER)
        if chosen:
            return Person(chosen, address_grant(access, chosen), dev=True)
        return Person(DEV_ADDRESS, Grant(role="chair"), dev=True)
    return None


def gate() -> Person:
    """The front door, run by app.py before any page: sign-in, or a polite refusal and nothing else."""
    person = current_person()
    if person is None:
        st.title("Radar")
        if provider_settings() is None:
            st.info(NOT_CONFIGURED, icon=":material/lock:")
        else:
            st.markdown("Sign in with your organisation's account to see the partnership's threat assessment.")
            st.button("Sign in", type="primary", on_click=st.login, icon=":material/login:")
        st.stop()
    if person.grant is None:
        st.title("Radar")
        st.info((NO_ROLE if person.confirmed else NOT_CONFIRMED).format(email=person.email), icon=":material/lock:")
        introduce(person)
        st.stop()
    return person


def introduce(person: Person) -> None:
    """Who is signed in, and a way out, in the sidebar."""
    st.sidebar.caption(f"Signed in as {person.email} · {person.role_name()}")
    if not person.dev:
        st.sidebar.button("Sign out", on_click=st.logout, icon=":material/logout:")


def require(page: str) -> Person:
    """Stop the page, before it reads anything, unless the person's role includes it."""
    person = current_person()
    if person is None or not person.may_see(page):
        st.warning(NOT_YOUR_PAGE.format(role=person.role_name() if person else "no role"), icon=":material/lock:")
        st.stop()
    if person.dev:  # here, in every page's own script, so the banner is part of the page whichever it is
        st.warning(DEV_BANNER.format(role=person.role_name().lower()), icon=":material/construction:")
    return person
