"""pyqtgraph charts of FPS and per-stage latency over the last minute.

Per-frame timings are accumulated and plotted as one mean per stage per refresh (2 Hz):
re-plotting every frame's sample each refresh cost the UI thread tens of milliseconds.
"""
from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

STAGE_COLOURS = {"capture": "#90caf9", "detect": "#ef5350", "track": "#ab47bc", "crop": "#ffa726",
                 "classify": "#66bb6a", "temporal": "#26c6da", "compare": "#f06292", "pose": "#9575cd",
                 "record": "#8d6e63", "stream": "#4db6ac", "render": "#bdbdbd"}


class PerfCharts(QWidget):
    def __init__(self, window_s: float = 60.0, parent=None):
        super().__init__(parent)
        self.window_s = window_s
        self._t0 = time.monotonic()
        self._frame_times: deque = deque()
        self._pending: dict[str, list[float]] = {}   # samples since the last refresh
        self._series: dict[str, deque] = {}          # stage -> (t, mean ms) per refresh
        self._fps: deque = deque()
        pg.setConfigOptions(antialias=False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # x is "seconds before now" on a fixed range, so axes are not re-ticked on every refresh
        self.fps_plot = pg.PlotWidget(title="FPS")
        self.fps_plot.setLabel("bottom", "s ago")
        self.fps_curve = self.fps_plot.plot(pen=pg.mkPen("#80cbc4", width=2))
        self.lat_plot = pg.PlotWidget(title="latency per stage (ms, mean per 0.5 s)")
        # the stages in rows of four: one entry per row overflowed the plot (six stages with the temporal
        # head on) and the last ones were cut off at the chart's foot
        self.lat_plot.addLegend(offset=(5, 2), colCount=4, labelTextSize="8pt", verSpacing=-6)
        self.lat_plot.setLabel("bottom", "s ago")
        for plot in (self.fps_plot, self.lat_plot):
            plot.setMinimumHeight(110)
            plot.setXRange(-window_s, 0, padding=0)
            plot.enableAutoRange(x=False)
            plot.setMouseEnabled(x=False, y=False)
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._turn = 0
        layout.addWidget(self.fps_plot)
        layout.addWidget(self.lat_plot)

    def add(self, timings_ms: dict[str, float]) -> None:
        self._frame_times.append(time.monotonic() - self._t0)
        for stage, ms in timings_ms.items():
            self._pending.setdefault(stage, []).append(ms)

    def current_fps(self) -> float:
        now = time.monotonic() - self._t0
        while self._frame_times and self._frame_times[0] < now - 2.0:
            self._frame_times.popleft()
        return len(self._frame_times) / 2.0

    def refresh(self) -> None:
        """Collect the samples since the last call; redraw one of the two plots (they alternate,
        so each call costs the UI thread half as much)."""
        now = time.monotonic() - self._t0
        cutoff = now - self.window_s
        self._fps.append((now, self.current_fps()))
        for stage, samples in self._pending.items():
            if samples:
                self._series.setdefault(stage, deque()).append((now, sum(samples) / len(samples)))
        self._pending = {}
        for series in (self._fps, *self._series.values()):
            while series and series[0][0] < cutoff:
                series.popleft()
        self._turn ^= 1
        if self._turn:
            self.fps_curve.setData([t - now for t, _ in self._fps], [v for _, v in self._fps])
            return
        for stage, series in self._series.items():
            if stage not in self._curves:
                self._curves[stage] = self.lat_plot.plot(pen=pg.mkPen(STAGE_COLOURS.get(stage, "#ffffff"), width=1.5), name=stage)
            self._curves[stage].setData([t - now for t, _ in series], [v for _, v in series])
