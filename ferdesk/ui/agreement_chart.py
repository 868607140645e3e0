"""The Compare view's chart: how often the two models agree over the last minute, and what each costs per face.

Fed the processed frames shown (``add``); each refresh plots the share of faces, since the last refresh, on
which the running model (A) and the comparison model (B) gave the same label, and writes the totals since the
comparison started (``ferdesk.comparison.Agreement``) in the title. Hidden while no comparison runs.
"""
from __future__ import annotations

import time
from collections import deque

import pyqtgraph as pg

from ferdesk.comparison import Agreement
from ferdesk.types import FrameResult


class AgreementChart(pg.PlotWidget):
    def __init__(self, window_s: float = 60.0, parent=None):
        super().__init__(parent)
        self.setTitle("A/B agreement", size="8pt")
        self.window_s = window_s
        self._t0 = time.monotonic()
        self._points: deque = deque()      # (t, share agreeing since the previous refresh)
        self._pending = [0, 0]             # faces compared, faces agreeing since the last refresh
        self.totals: Agreement | None = None
        self.setMinimumHeight(110)
        self.setLabel("bottom", "s ago")
        self.setXRange(-window_s, 0, padding=0)
        self.setYRange(0, 1.05, padding=0)
        self.enableAutoRange(x=False, y=False)
        self.setMouseEnabled(x=False, y=False)
        self.curve = self.plot(pen=pg.mkPen("#f06292", width=2), symbol="o", symbolSize=3)

    def start(self, labels) -> None:
        """A new comparison (or another pair of models): the totals start again."""
        self.totals = Agreement(labels)
        self._points.clear()
        self._pending = [0, 0]
        self.curve.setData([], [])

    def add(self, result: FrameResult, model: str, backend: str) -> None:
        if self.totals is None:
            return
        compared, same = self.totals.add(result, model, backend)
        self._pending[0] += compared
        self._pending[1] += same

    def title_text(self) -> str:
        s = self.totals.summary() if self.totals is not None else None
        if not s or not s["faces"]:
            return "A/B agreement (no face compared yet)"

        def ms(side):
            return f"{side['ms_per_face']['p50']:.2f} ms" if side["ms_per_face"] else "- ms"

        return f"A/B agreement {s['agreement']:.0%} of {s['faces']} faces; A {ms(s['a'])}, B {ms(s['b'])} a face"

    def refresh(self) -> None:
        now = time.monotonic() - self._t0
        if self._pending[0]:
            self._points.append((now, self._pending[1] / self._pending[0]))
        self._pending = [0, 0]
        while self._points and self._points[0][0] < now - self.window_s:
            self._points.popleft()
        self.curve.setData([t - now for t, _ in self._points], [v for _, v in self._points])
        self.setTitle(self.title_text(), size="8pt")
