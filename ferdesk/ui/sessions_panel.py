"""Past sessions: a list, a summary of the selected one, its share-of-time chart, export and open."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
import pyqtgraph.exporters
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem,
                               QPushButton, QVBoxLayout, QWidget)

from ferdesk.errors import FerdeskError
from ferdesk.sessions import list_sessions, sessions_root, summarise
from ferdesk.ui.video_view import LABEL_COLOURS


class SessionsPanel(QDockWidget):
    def __init__(self, root: Path | None = None, parent=None):
        super().__init__("Sessions", parent)
        self.setObjectName("sessions_dock")
        self.root = root
        body = QWidget()
        layout = QVBoxLayout(body)
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._show)
        self.summary = QLabel("no session selected")
        self.summary.setWordWrap(True)
        self.chart = pg.PlotWidget(title="share of faces per emotion")
        self.chart.setMinimumHeight(160)
        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh", clicked=self.refresh)
        self.export_button = QPushButton("Export chart (PNG)...", clicked=self._export_chart)
        self.open_button = QPushButton("Open folder", clicked=self._open_folder)
        self.viewer_button = QPushButton("Open in Viewer", clicked=self.open_viewer)
        self.viewer_button.setToolTip("replay the session: its video with the log's boxes, the timeline and the "
                                      "markers (sessions recorded with their video)")
        for b in (self.refresh_button, self.export_button, self.open_button, self.viewer_button):
            buttons.addWidget(b)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.summary)
        layout.addWidget(self.chart, 1)
        layout.addLayout(buttons)
        self.setWidget(body)
        self.current: Path | None = None
        self.refresh()

    def refresh(self) -> None:
        self.list.clear()
        for folder in list_sessions(self.root):
            item = QListWidgetItem(folder.name if folder.parent == Path(self.root or sessions_root()) else
                                   f"{folder.parent.name}/{folder.name}")
            item.setData(256, str(folder))
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def _show(self, item, _previous=None) -> None:
        self.chart.clear()
        if item is None:
            self.current = None
            self.summary.setText("no session selected")
            return
        self.current = Path(item.data(256))
        try:
            s = summarise(self.current)
        except (FerdeskError, OSError, ValueError, KeyError) as e:
            self.summary.setText(f"cannot read {self.current.name}: {e}")
            return
        shares = ", ".join(f"{k} {v:.0%}" for k, v in sorted(s.label_share.items(), key=lambda kv: -kv[1]))
        who = " · ".join(f"{k} {v}" for k, v in (("participant", s.participant), ("condition", s.condition)) if v)
        self.summary.setText(
            f"{s.started_at or '?'} · {s.duration_s:.1f} s · {s.frames} frames · {s.faces} faces "
            f"({s.face_ids} ids) · model {s.model or '?'}{'' if s.stopped else ' · (not closed cleanly)'}\n"
            + (f"{who}\n" if who else "") + (f"note: {s.note}\n" if s.note else "") + shares
        )
        labels = list(s.label_share)
        bars = pg.BarGraphItem(x=list(range(len(labels))), height=[s.label_share[l] for l in labels], width=0.7,
                               brushes=[pg.mkBrush(QColor(LABEL_COLOURS.get(l, "#26a69a"))) for l in labels])
        self.chart.addItem(bars)
        self.chart.getAxis("bottom").setTicks([[(i, l) for i, l in enumerate(labels)]])

    def export_chart(self, path: Path) -> Path:
        exporter = pyqtgraph.exporters.ImageExporter(self.chart.plotItem)
        exporter.parameters()["width"] = 800
        exporter.export(str(path))
        return path

    def _export_chart(self) -> None:
        if self.current is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export chart", str(self.current / "summary.png"), "PNG (*.png)")
        if path:
            self.export_chart(Path(path))

    def open_viewer(self):
        """The Viewer on the selected session, or a line saying why not (no video recorded)."""
        if self.current is None:
            return None
        from ferdesk.ui.viewer import SessionViewer

        try:
            viewer = SessionViewer(self.current, parent=self)
        except (FerdeskError, OSError, ValueError, KeyError) as e:
            self.summary.setText(f"{self.summary.text()}\ncannot replay: {e}")
            return None
        viewer.setAttribute(Qt.WA_DeleteOnClose)
        viewer.show()
        return viewer

    def _open_folder(self) -> None:
        if self.current is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.current)))
