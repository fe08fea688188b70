"""Prefect flows and tasks: the only layer that orchestrates I/O, schedules, events and notifications."""

from radar.flows.processes import die_with_serve

die_with_serve()  # in a flow-run process of `radar serve`'s runner: stop when radar serve does, even on kill -9
