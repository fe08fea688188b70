"""Prefect flows and tasks: the only layer that orchestrates I/O, schedules, events and notifications."""
