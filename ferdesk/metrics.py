"""Rolling timing statistics shared by ``ferdesk run``/``bench`` summaries and the app's charts, and the
process's peak memory."""
from __future__ import annotations

import resource
import sys
from collections import defaultdict, deque

import numpy as np


class StageStats:
    """Per-stage latency samples (ms) in a bounded window, plus frame count and wall span."""

    def __init__(self, window: int = 100_000):
        self.samples: dict[str, deque] = defaultdict(lambda: deque(maxlen=window))

    def add(self, timings_ms: dict[str, float]) -> None:
        for stage, ms in timings_ms.items():
            self.samples[stage].append(ms)

    def percentiles(self, q=(50, 95)) -> dict[str, dict[str, float]]:
        return {
            stage: {f"p{p}": float(np.percentile(np.fromiter(v, float), p)) for p in q}
            for stage, v in self.samples.items() if v
        }


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20
