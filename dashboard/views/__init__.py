"""The dashboard's pages, each a Streamlit script registered in dashboard/app.py."""
