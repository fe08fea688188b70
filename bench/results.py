"""bench/results.json: one JSON object of named figures that every benchmark extends."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).with_name("results.json")


def record(**figures: float) -> None:
    current = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    current.update({k: round(v, 3) for k, v in figures.items()})
    RESULTS.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
