"""Model > Model map: this machine's accuracy against latency, one point per model and backend measured here.

Points come from ``model_rows`` (FER2013 PublicTest from the catalog, latency from ``ferdesk bench`` on this
machine, ``latency.json``); the marker says the precision, the running model is drawn larger and ringed,
and a click on a point asks for that model on that backend (``model_chosen``; the dialog never switches a
model itself). "Benchmark this machine" runs ``ferdesk bench --all`` in a separate process, shows its
progress, and redraws the map with the new figures.
"""
from __future__ import annotations

import math
import re
import sys

import pyqtgraph as pg
from PySide6.QtCore import QProcess, Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from ferdesk.latency_store import LatencyStore
from ferdesk.ui.model_table import model_rows

SYMBOLS = {"fp32": "o", "fp16": "s", "fp16-weights": "s", "int8": "t", "int4": "d"}
COLOURS = {"onnxruntime": "#4fc3f7", "litert": "#ffb74d"}
PROGRESS = re.compile(r"bench: (\d+)/(\d+) (.*)")
TICKS_MS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)


def map_points(catalog, latencies) -> list[dict]:
    """One point per (model, backend) with a measured latency and a PublicTest figure."""
    points = []
    for row in model_rows(catalog, latencies):
        if row.accuracy is None:
            continue
        for backend, ms in sorted(row.latency_ms.items()):
            points.append({"model": row.name, "backend": backend, "latency_ms": ms, "accuracy": row.accuracy,
                           "precision": row.precision, "tier": row.tier})
    return points


class ModelMapDialog(QDialog):
    model_chosen = Signal(str, str)      # model, backend

    def __init__(self, catalog, current: tuple[str, str] | None, packs=(), parent=None):
        super().__init__(parent)
        self.setWindowTitle("Model map: this machine")
        self.resize(900, 600)
        self.catalog, self.current, self.packs = catalog, current, tuple(packs)
        self.plot = pg.PlotWidget()
        # x is log10 of the latency, with ticks labelled in ms (ScatterPlotItems do not follow setLogMode)
        self.plot.setLabel("bottom", "latency per face here (ms, p50, log scale)")
        self.plot.setLabel("left", "FER2013 PublicTest accuracy (%)")
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.plot.getAxis("bottom").setTicks([[(math.log10(v), f"{v:g}") for v in TICKS_MS]])
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.addLegend(offset=(-10, 10))
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.hide()
        self.bench_button = QPushButton("Benchmark this machine", clicked=self.benchmark)
        self.bench_button.setToolTip("ferdesk bench --all: every installed model on every backend here, a few "
                                     "minutes; the figures are kept for the Model menu and this map")
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addWidget(self.bench_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.note)
        layout.addLayout(buttons)
        self.process: QProcess | None = None
        self.points: list[dict] = []
        self.redraw()

    def redraw(self) -> None:
        self.plot.clear()
        self.points = map_points(self.catalog, LatencyStore().load())
        groups: dict[tuple[str, str], list[dict]] = {}
        for p in self.points:
            groups.setdefault((p["backend"], p["precision"]), []).append(p)
        for (backend, precision), pts in sorted(groups.items()):
            item = pg.ScatterPlotItem(
                x=[math.log10(p["latency_ms"]) for p in pts], y=[100 * p["accuracy"] for p in pts], data=pts, size=10,
                symbol=SYMBOLS.get(precision, "+"), brush=pg.mkBrush(COLOURS.get(backend, "#e0e0e0")),
                pen=pg.mkPen("#202124"), name=f"{precision} on {backend}", hoverable=True, tip=self._tip)
            item.sigClicked.connect(self._clicked)
            self.plot.addItem(item)
        now = [p for p in self.points if (p["model"], p["backend"]) == self.current]
        if now:
            ring = pg.ScatterPlotItem(x=[math.log10(now[0]["latency_ms"])], y=[100 * now[0]["accuracy"]], size=22, symbol="o",
                                      brush=None, pen=pg.mkPen("#ff5252", width=3), name="running now")
            self.plot.addItem(ring)
        self.note.setText(
            f"{len(self.points)} models and backends measured here; click one to run it."
            if self.points else "Nothing measured on this machine yet: press Benchmark this machine "
                                "(or run ferdesk bench --all).")

    @staticmethod
    def _tip(x, y, data):
        return f"{data['model']} on {data['backend']}\n{data['accuracy']:.2%} PublicTest, {data['latency_ms']:.3f} ms"

    def _clicked(self, _item, spots, _event=None) -> None:
        if spots:
            d = spots[0].data()
            self.model_chosen.emit(d["model"], d["backend"])

    def choose(self, model: str, backend: str) -> None:
        """What a click on that point does (for tests and keyboard users)."""
        self.model_chosen.emit(model, backend)

    def benchmark(self) -> None:
        if self.process is not None:
            return
        self.process = QProcess(self)
        args = ["-m", "ferdesk", "bench", "--all", "--json"]
        for pack in self.packs:
            args += ["--models", str(pack)]
        self.process.readyReadStandardError.connect(self._read_progress)
        self.process.finished.connect(self._finished)
        self.progress.setRange(0, 0)
        self.progress.show()
        self.bench_button.setEnabled(False)
        self.note.setText("benchmarking every model on every backend here; the live view goes on meanwhile, "
                          "and both run slower")
        self.process.start(sys.executable, args)

    def _read_progress(self) -> None:
        text = bytes(self.process.readAllStandardError()).decode(errors="replace")
        for line in text.splitlines():
            m = PROGRESS.search(line)
            if m:
                self.progress.setRange(0, int(m.group(2)))
                self.progress.setValue(int(m.group(1)) - 1)
                self.progress.setFormat(f"%v / %m: {m.group(3)}")

    def _finished(self, code: int, _status=None) -> None:
        self.process = None
        self.progress.hide()
        self.bench_button.setEnabled(True)
        self.redraw()
        if code != 0:
            self.note.setText(self.note.text() + f" (ferdesk bench ended with code {code}: some pairs failed)")
