"""Python's cyclic garbage collector, run only in the UI thread while the window's worker threads run.

The collector runs in whichever thread happens to allocate when a generation fills up. A cycle holding
Qt objects (a closed window, its actions, a replaced capture worker) freed by the collector in the
inference thread runs QObject destructors there: they take Qt locks that the UI thread may hold while
it waits for the GIL, and the two threads deadlock (seen in CI with PySide6 6.11: the UI thread in
``runDeletionInMainThread`` -> ``~QAction``, the inference thread in ``~QObject`` -> ``PyGILState_Ensure``).
pyqtgraph's ``util.garbage_collector.GarbageCollector`` does the same; this one can also be stopped.
"""
from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class UiThreadGarbageCollector(QObject):
    """While started, automatic collection is off and a UI-thread timer collects each generation that
    has passed its threshold; ``stop`` puts automatic collection back as it was."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None):
        super().__init__(parent)
        self._timer = QTimer(self, interval=interval_ms, timeout=self.collect_due)
        self._was_enabled: bool | None = None

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        if self.running:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        if not self.running:
            return
        self._timer.stop()
        self.collect_due()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> None:
        """Collect the oldest generation whose count has passed its threshold (and the younger ones)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        due = [g for g in range(3) if counts[g] > thresholds[g]]
        if due:
            gc.collect(max(due))
