"""The selected face's head pose over the last minutes (yaw, pitch, roll in degrees); shown while head pose
is on (View > Head pose and eye openness). Sampled at the chart refresh rate, as the emotion timeline is."""
from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg

ANGLES = {"yaw": "#4fc3f7", "pitch": "#aed581", "roll": "#ffb74d"}


class HeadPoseChart(pg.PlotWidget):
    def __init__(self, window_s: float = 300.0, parent=None):
        super().__init__(parent)
        self.setTitle("head pose of the selected face (degrees)", size="8pt")
        self.window_s = window_s
        self._t0 = time.monotonic()
        self._points: deque = deque()       # (t, yaw, pitch, roll)
        self._current = None
        self.setMinimumHeight(120)
        self.setLabel("bottom", "s ago")
        self.setXRange(-window_s, 0, padding=0)
        self.setYRange(-60, 60, padding=0)
        self.enableAutoRange(x=False, y=False)
        self.setMouseEnabled(x=False, y=False)
        self.addLegend(offset=(5, 2), colCount=3, labelTextSize="8pt")
        self.curves = {name: self.plot(pen=pg.mkPen(colour, width=1.5), name=name) for name, colour in ANGLES.items()}

    def show_pose(self, pose) -> None:
        """The pose shown now (a ``HeadPose`` or None); sampled at the next refresh."""
        self._current = pose

    def refresh(self) -> None:
        now = time.monotonic() - self._t0
        if self._current is not None:
            p = self._current
            self._points.append((now, p.yaw, p.pitch, p.roll))
        while self._points and self._points[0][0] < now - self.window_s:
            self._points.popleft()
        xs = [t - now for t, *_ in self._points]
        for k, name in enumerate(ANGLES, start=1):
            self.curves[name].setData(xs, [pt[k] for pt in self._points])
