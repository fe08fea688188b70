"""Radar's dashboard for the Independent Chair and subgroup chairs.

Run with `streamlit run dashboard/app.py`.  It only reads the store; files
arrive through `radar ingest` and the monthly flow.  Each page is a script
in dashboard/pages/, registered here so the sidebar shows plain titles.
"""

import streamlit as st

from radar.dashboard.common import context

st.set_page_config(page_title="Radar", page_icon=":material/radar:", layout="wide")

partnership = context().config.partnership
st.sidebar.markdown(f"### {partnership.name}")
st.sidebar.caption(f"{partnership.la_name} ({partnership.la_code}) · Radar strategic threat assessment")

page = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/radar:", default=True),
        st.Page("pages/alerts.py", title="Alerts", icon=":material/notifications:"),
        st.Page("pages/indicators.py", title="Indicator explorer", icon=":material/monitoring:"),
        st.Page("pages/feed_status.py", title="Feed status", icon=":material/inbox:"),
        st.Page("pages/rejected.py", title="Rejected files", icon=":material/report:"),
    ]
)
page.run()
