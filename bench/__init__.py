"""Benchmarks (`make bench`): each figure is a ratio against a baseline measured in the same run."""

import os

# Before anything imports Prefect (it reads its settings then): its servers here send no telemetry, as
# `radar` commands' do not (radar.cli); offline, the attempt only logged an error mid-benchmark.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
