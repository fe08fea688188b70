"""The Streamlit dashboard (`streamlit run dashboard/app.py`): it reads the store and never writes it itself.

Every change a signed-in person makes (acknowledge, silence, re-base, the
register's and the Impact Log's edits, an upload's audit) is the actions
floor's (radar.actions), called from dashboard/actions.py after the role
check; the pages hold the widgets.
"""
