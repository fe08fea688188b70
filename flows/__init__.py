"""Prefect flows and tasks: the orchestration of I/O (ingest, the monthly cycle, delivery, pulls, the quarterly
Board pack), with retries, schedules, events and notifications.  The steps the command line and the dashboard
take too (the register's evidence from the cycle, the Board pack's assembly) are the actions floor's
(radar.actions), called from here; the flows' own writes (files stored, the cycle's values and alerts, the
outbox) stay in flows/."""

from radar.flows.processes import die_with_serve

die_with_serve()  # in a flow-run process of `radar serve`'s runner: stop when radar serve does, even on kill -9
