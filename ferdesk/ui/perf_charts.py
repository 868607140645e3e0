"""pyqtgraph charts of FPS and per-stage latency over the last minute."""
from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

STAGE_COLOURS = {"capture": "#90caf9", "detect": "#ef5350", "track": "#ab47bc", "crop": "#ffa726",
                 "classify": "#66bb6a", "temporal": "#26c6da", "render": "#bdbdbd"}


class PerfCharts(QWidget):
    def __init__(self, window_s: float = 60.0, parent=None):
        super().__init__(parent)
        self.window_s = window_s
        self._t0 = time.monotonic()
        self._frame_times: deque = deque()
        self._stage: dict[str, deque] = {}
        self._fps: deque = deque()
        pg.setConfigOptions(antialias=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.fps_plot = pg.PlotWidget(title="FPS")
        self.fps_plot.setLabel("bottom", "s")
        self.fps_curve = self.fps_plot.plot(pen=pg.mkPen("#80cbc4", width=2))
        self.lat_plot = pg.PlotWidget(title="latency per stage (ms)")
        self.lat_plot.addLegend(offset=(5, 5))
        self.lat_plot.setLabel("bottom", "s")
        self._curves: dict[str, pg.PlotDataItem] = {}
        layout.addWidget(self.fps_plot)
        layout.addWidget(self.lat_plot)

    def add(self, timings_ms: dict[str, float]) -> None:
        now = time.monotonic() - self._t0
        self._frame_times.append(now)
        for stage, ms in timings_ms.items():
            self._stage.setdefault(stage, deque()).append((now, ms))

    def current_fps(self) -> float:
        now = time.monotonic() - self._t0
        recent = [t for t in self._frame_times if t >= now - 2.0]
        return len(recent) / 2.0 if recent else 0.0

    def refresh(self) -> None:
        now = time.monotonic() - self._t0
        cutoff = now - self.window_s
        while self._frame_times and self._frame_times[0] < cutoff:
            self._frame_times.popleft()
        self._fps.append((now, self.current_fps()))
        while self._fps and self._fps[0][0] < cutoff:
            self._fps.popleft()
        self.fps_curve.setData([t for t, _ in self._fps], [v for _, v in self._fps])
        for stage, samples in self._stage.items():
            while samples and samples[0][0] < cutoff:
                samples.popleft()
            if stage not in self._curves:
                self._curves[stage] = self.lat_plot.plot(pen=pg.mkPen(STAGE_COLOURS.get(stage, "#ffffff"), width=1.5), name=stage)
            self._curves[stage].setData([t for t, _ in samples], [v for _, v in samples])
