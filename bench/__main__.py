"""`python -m bench`: run every benchmark and record its figures in bench/results.json."""

from bench import ingest
from bench.results import record

record(**ingest.run())
