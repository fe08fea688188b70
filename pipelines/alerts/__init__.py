"""The alert rules, as one package: the rule type, one module per rule family, the registry, inhibition and the lifecycle.

Pure, like the rest of pipelines/: frames in, frames out.  The words an
alert is judged in (its statuses, the active ones, severity order) are the
ground floor's (radar.core.alert_vocabulary), so the store, the command line
and the dashboard read them from the same place.
"""
