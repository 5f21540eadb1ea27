"""Timing helper shared by the benchmark scripts."""

import statistics
import time
from collections.abc import Callable


def compare(operation: Callable[[], object], baseline: Callable[[], object],
            repeats: int) -> tuple[float, float]:
    """Median wall times in seconds of ``operation`` and ``baseline``, run alternately ``repeats``
    times each after one warm-up, so that load from elsewhere on the machine hits both alike."""
    operation()
    baseline()
    ours, theirs = [], []
    for _ in range(repeats):
        for function, samples in ((operation, ours), (baseline, theirs)):
            start = time.perf_counter()
            function()
            samples.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(theirs)
