"""The actions floor: every change a person or a schedule makes to the store, written once.

Acknowledging and silencing an alert, re-basing a chart, withdrawing a
submission, auditing an upload, the risk register's edits (add, score,
review, decide on a proposal, the cycle's evidence), the Impact Log's
entries, and assembling the Board pack: each is one function here, with its
checks, its refusals (radar.actions.refusal) and its one transaction.  The
`radar` command and the dashboard call these and nothing else to write; the
dashboard adds only who may (its role checks) and its widgets, the command
line only its options and printing, flows/ only orchestration (retries,
schedules, files).

Each function takes the store's engine and the partnership context (or its
`la_code`) from its caller, so the command line, a Streamlit server and a
Prefect worker each bring their own.  The floor sits above radar.models and
radar.pipelines and below radar.flows, radar.dashboard and radar.cli (the
layers in pyproject.toml); it never imports Prefect or Streamlit.
"""
