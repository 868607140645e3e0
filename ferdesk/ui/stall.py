"""Measures how late the UI event loop runs a 10 ms timer: the stall a user would feel."""
from __future__ import annotations

import time
from collections import deque

import numpy as np
from PySide6.QtCore import QObject, QTimer


class StallMonitor(QObject):
    def __init__(self, interval_ms: int = 10, window: int = 6000, parent=None):
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.lateness_ms: deque = deque(maxlen=window)
        self._last = None
        self._timer = QTimer(self, interval=interval_ms, timeout=self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.lateness_ms.append(max(0.0, (now - self._last) * 1e3 - self.interval_ms))
        self._last = now

    def percentile(self, q: float) -> float:
        return float(np.percentile(np.fromiter(self.lateness_ms, float), q)) if self.lateness_ms else 0.0
