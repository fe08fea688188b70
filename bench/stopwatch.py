"""Per-stage wall-clock timing that the computation modules accept without depending on it.

A computation takes `run` (default `direct`) and calls each stage as
`run(name, function, *args)`; the benchmark passes a `Stopwatch`, which does
the same call and adds its duration to the stage, so the timed code is the
code that runs in the fairness check and the tests.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def direct(_stage: str, function: Callable, *args: Any) -> Any:
    return function(*args)


class Stopwatch:
    """Seconds spent in each named stage, in the order stages first ran; stages run in several threads at once
    (bench/national_signals.py: `full`) add up their threads' seconds."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def __call__(self, stage: str, function: Callable, *args: Any) -> Any:
        start = time.perf_counter()
        result = function(*args)
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - start
        return result
