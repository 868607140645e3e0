"""The session's emotion timeline: the selected face's label over time, one coloured row per class."""
from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg
from PySide6.QtGui import QColor

from ferdesk.ui.video_view import LABEL_COLOURS


class EmotionTimeline(pg.PlotWidget):
    def __init__(self, window_s: float = 300.0, parent=None):
        super().__init__(parent, title="emotion timeline (selected face)")
        self.window_s = window_s
        self._t0 = time.monotonic()
        self._points: deque = deque()
        self._labels: tuple[str, ...] = ()
        self._scatter = pg.ScatterPlotItem(size=5, pen=None)
        self.addItem(self._scatter)
        self.setLabel("bottom", "s")
        self.setMouseEnabled(y=False)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        if labels != self._labels:
            self._labels = labels
            self.getAxis("left").setTicks([[(i, l) for i, l in enumerate(labels)]])
            self.setYRange(-0.5, len(labels) - 0.5)

    def add(self, label: str) -> None:
        if label in self._labels:
            self._points.append((time.monotonic() - self._t0, self._labels.index(label), label))

    def refresh(self) -> None:
        cutoff = time.monotonic() - self._t0 - self.window_s
        while self._points and self._points[0][0] < cutoff:
            self._points.popleft()
        self._scatter.setData(
            x=[p[0] for p in self._points], y=[p[1] for p in self._points],
            brush=[pg.mkBrush(QColor(LABEL_COLOURS.get(p[2], "#26a69a"))) for p in self._points],
        )
