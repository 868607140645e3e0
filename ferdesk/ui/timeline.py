"""The session's emotion timeline: the selected face's label over time, one coloured row per class.

Sampled at the chart refresh rate (the label shown at that moment), one scatter item per
class with a fixed brush, so a five-minute window stays cheap to draw.
"""
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
        self._points: deque = deque()   # (t, label index)
        self._labels: tuple[str, ...] = ()
        self._current: str | None = None
        self._items: list[pg.ScatterPlotItem] = []
        # tall enough for seven class names on the left axis without their rows running together
        self.setMinimumHeight(170)
        self.setLabel("bottom", "s ago")
        self.setXRange(-window_s, 0, padding=0)
        self.enableAutoRange(x=False, y=False)
        self.setMouseEnabled(x=False, y=False)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        if labels == self._labels:
            return
        self._labels = labels
        self._points.clear()
        for item in self._items:
            self.removeItem(item)
        self._items = []
        for label in labels:
            item = pg.ScatterPlotItem(size=6, pen=None, brush=pg.mkBrush(QColor(LABEL_COLOURS.get(label, "#26a69a"))))
            self.addItem(item)
            self._items.append(item)
        self.getAxis("left").setTicks([[(i, l) for i, l in enumerate(labels)]])
        self.setYRange(-0.5, len(labels) - 0.5)

    def add(self, label: str) -> None:
        """The label currently shown for the selected face; sampled at each refresh."""
        self._current = label

    def refresh(self) -> None:
        now = time.monotonic() - self._t0
        if self._current in self._labels:
            self._points.append((now, self._labels.index(self._current)))
        self._current = None
        while self._points and self._points[0][0] < now - self.window_s:
            self._points.popleft()
        for k, item in enumerate(self._items):
            xs = [t - now for t, i in self._points if i == k]
            item.setData(x=xs, y=[k] * len(xs))
