"""Radar's dashboard for the Independent Chair, subgroup chairs, analysts and agencies' data leads.

Run with `radar dashboard` (which writes the sign-in settings and hides
Streamlit's own toolbar and page list; see radar.dashboard.auth).  Nothing is
shown before `auth.gate` has named the person and found their role; the menu
then lists only the pages that role includes, and each page checks the role
again on the server before it reads the store.
"""

import streamlit as st

from radar.dashboard import auth
from radar.dashboard.common import context

st.set_page_config(page_title="Radar", page_icon=":material/radar:", layout="wide")

person = auth.gate()
partnership = context().config.partnership
st.sidebar.markdown(f"### {partnership.name}")
st.sidebar.caption(f"{partnership.la_name} ({partnership.la_code}) · Radar strategic threat assessment")

PAGES = [
    ("overview", "views/overview.py", "Overview", ":material/radar:"),
    ("register", "views/register.py", "Risk register", ":material/table_chart:"),
    ("impact_log", "views/impact_log.py", "Impact Log", ":material/fact_check:"),
    ("alerts", "views/alerts.py", "Alerts", ":material/notifications:"),
    ("indicators", "views/indicators.py", "Indicator explorer", ":material/monitoring:"),
    ("feed_status", "views/feed_status.py", "Feed status", ":material/inbox:"),
    ("upload", "views/upload.py", "Send a file", ":material/upload_file:"),
    ("rejected", "views/rejected.py", "Rejected files", ":material/report:"),
]
page = st.navigation([
    st.Page(path, title=title, icon=icon, url_path=key)
    for key, path, title, icon in PAGES if person.may_see(key)
])
auth.introduce(person)
page.run()
