"""The Viewer: a recorded session replayed, its video with the log's boxes and labels, the emotion timeline and
the markers in step, with play, pause, frame step and scrubbing.

Opened from the sessions panel (Open in Viewer) for a session recorded with its video (``--record-video`` or
the Video choice of the recording toolbar). Frame k of ``video.mp4`` is source frame ``video_frames.csv[k]``,
whose faces are the rows of ``frames.csv`` with that frame; the timeline shows every face's label over the
session's media time (one row per class) with the markers as lines, and a click on it seeks there.
"""
from __future__ import annotations

import bisect
import csv
from pathlib import Path

import cv2
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout

from ferdesk.sessions import faces_by_frame, read_rows, read_video_index
from ferdesk.ui.video_view import LABEL_COLOURS
from ferdesk.video_log import VIDEO_FILE, draw_faces


class SessionViewer(QDialog):
    def __init__(self, folder: Path, parent=None):
        super().__init__(parent)
        self.folder = Path(folder)
        self.setWindowTitle(f"Viewer: {self.folder.name}")
        self.resize(1000, 760)
        self.index = read_video_index(self.folder)          # FerdeskError when there is no video
        _, rows = read_rows(self.folder)
        self.faces = faces_by_frame(rows)
        self.labels = self._labels(rows)
        self.times = [t for _, t in self.index]
        self.cap = cv2.VideoCapture(str(self.folder / VIDEO_FILE))
        self.fps = self.cap.get(cv2.CAP_PROP_FPS) or 30.0
        self.position = -1          # the video frame shown
        self._next_read = 0         # the frame the capture reads next

        self.picture = QLabel(alignment=Qt.AlignCenter)
        self.picture.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        self.picture.setMinimumSize(320, 240)
        self.picture.setStyleSheet("background: #202124;")
        self.slider = QSlider(Qt.Horizontal, minimum=0, maximum=max(0, len(self.index) - 1))
        self.slider.valueChanged.connect(self.seek)
        self.play_button = QPushButton("Play", clicked=self.toggle_play)
        self.back_button = QPushButton("<", clicked=lambda: self.step(-1))
        self.forward_button = QPushButton(">", clicked=lambda: self.step(1))
        self.where = QLabel()
        controls = QHBoxLayout()
        for w in (self.back_button, self.play_button, self.forward_button):
            controls.addWidget(w)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.where)
        self.timeline = pg.PlotWidget(title="emotions over the session (every face); markers as lines")
        self.timeline.setMinimumHeight(180)
        self.timeline.setLabel("bottom", "media time (s)")
        self.timeline.setMouseEnabled(x=True, y=False)
        self.timeline.scene().sigMouseClicked.connect(self._timeline_clicked)
        self._fill_timeline(rows)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addLayout(controls)
        layout.addWidget(self.timeline)
        self.timer = QTimer(self, interval=max(5, round(1000 / self.fps)), timeout=lambda: self.step(1))
        self.seek(0)

    # -- data ------------------------------------------------------------------------------------
    @staticmethod
    def _labels(rows: list[dict]) -> list[str]:
        labels = [c[2:] for c in (rows[0].keys() if rows else []) if c.startswith("p_")]
        return labels or sorted({r["label"] for r in rows})

    def markers(self) -> list[tuple[float, str]]:
        path = self.folder / "markers.csv"
        if not path.exists():
            return []
        with open(path, newline="") as f:
            return [(float(r["time_s"]), r["label"] + (f": {r['text']}" if r.get("text") else ""))
                    for r in csv.DictReader(f) if r.get("time_s")]

    def _fill_timeline(self, rows: list[dict]) -> None:
        axis = self.timeline.getAxis("left")
        axis.setTicks([[(k, label) for k, label in enumerate(self.labels)]])
        self.timeline.setYRange(-0.5, len(self.labels) - 0.5, padding=0)
        for k, label in enumerate(self.labels):
            ts = [float(r["time_s"]) for r in rows if r["label"] == label]
            if ts:
                self.timeline.addItem(pg.ScatterPlotItem(x=ts, y=[k] * len(ts), size=4, pen=None,
                                                         brush=pg.mkBrush(LABEL_COLOURS.get(label, "#26a69a"))))
        for t, text in self.markers():
            self.timeline.addItem(pg.InfiniteLine(pos=t, angle=90, pen=pg.mkPen("#ffab40", width=1),
                                                  label=text, labelOpts={"position": 0.9, "color": "#ffab40"}))
        self.cursor = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#ff5252", width=2))
        self.timeline.addItem(self.cursor)

    # -- playing -----------------------------------------------------------------------------------
    def _read(self, k: int):
        if k != self._next_read:
            self.cap.set(cv2.CAP_PROP_POS_FRAMES, k)
        ok, image = self.cap.read()
        self._next_read = k + 1
        return image if ok else None

    def seek(self, k: int) -> None:
        k = max(0, min(int(k), len(self.index) - 1))
        if k == self.position or not self.index:
            return
        image = self._read(k)
        if image is None:
            return
        self.position = k
        frame, t = self.index[k]
        shown = draw_faces(image, self.faces.get(frame, []))
        rgb = cv2.cvtColor(shown, cv2.COLOR_BGR2RGB)
        h, w = rgb.shape[:2]
        pixmap = QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy())
        self.picture.setPixmap(pixmap.scaled(self.picture.size(), Qt.KeepAspectRatio, Qt.SmoothTransformation))
        self.where.setText(f"frame {frame}, {t:.2f} s ({k + 1} / {len(self.index)})")
        self.cursor.setValue(t)
        if self.slider.value() != k:
            self.slider.blockSignals(True)
            self.slider.setValue(k)
            self.slider.blockSignals(False)

    def step(self, delta: int) -> None:
        if delta > 0 and self.position >= len(self.index) - 1:
            self.pause()
            return
        self.seek(self.position + delta)

    def toggle_play(self) -> None:
        if self.timer.isActive():
            self.pause()
        else:
            self.timer.start()
            self.play_button.setText("Pause")

    def pause(self) -> None:
        self.timer.stop()
        self.play_button.setText("Play")

    def seek_time(self, t: float) -> None:
        self.seek(max(0, bisect.bisect_left(self.times, t) - (1 if t not in self.times else 0)))

    def _timeline_clicked(self, event) -> None:
        point = self.timeline.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.seek_time(point.x())

    def closeEvent(self, event) -> None:
        self.pause()
        self.cap.release()
        super().closeEvent(event)
