"""The Streamlit dashboard: reads the store, never writes it (`streamlit run dashboard/app.py`)."""
