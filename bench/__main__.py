"""`python -m bench`: run every benchmark and record its figures in bench/results.json."""

from bench import cli, cycle, dashboard, early_warning, ingest, national, serve
from bench.results import record

# The national benchmark runs first: its peak_rss_gib is the process's high-water mark so far.
record(**national.run())
record(**ingest.run())
record(**cycle.run())
record(**dashboard.run())
record(**serve.run())
record(**early_warning.run())
record(**cli.run())
