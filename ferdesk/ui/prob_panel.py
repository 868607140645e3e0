"""Per-class probability bars for the selected face.

One widget paints every bar and schedules its repaint with ``update()``: QProgressBar's
``setValue`` repaints synchronously, and seven of them per frame repainted the window
seven times (the largest cost on the UI thread, measured with py-spy).
"""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGroupBox, QLabel, QSizePolicy, QVBoxLayout, QWidget

from ferdesk.types import FaceResult
from ferdesk.ui.video_view import LABEL_COLOURS


class _Bars(QWidget):
    ROW = 24

    def __init__(self, parent=None):
        super().__init__(parent)
        self.labels: tuple[str, ...] = ()
        self.values: tuple[float, ...] = ()
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.values = tuple(0.0 for _ in labels)
        self.setFixedHeight(self.ROW * len(labels) + 4)
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        name_w = 80
        bar_w = max(10, self.width() - name_w - 60)
        for i, (label, v) in enumerate(zip(self.labels, self.values)):
            y = 2 + i * self.ROW
            p.setPen(self.palette().windowText().color())
            p.drawText(QRectF(0, y, name_w, self.ROW), Qt.AlignVCenter | Qt.AlignLeft, label)
            p.fillRect(QRectF(name_w, y + 4, bar_w, self.ROW - 8), QColor("#3c4043"))
            p.fillRect(QRectF(name_w, y + 4, bar_w * v, self.ROW - 8), QColor(LABEL_COLOURS.get(label, "#26a69a")))
            p.drawText(QRectF(name_w + bar_w + 6, y, 54, self.ROW), Qt.AlignVCenter | Qt.AlignLeft, f"{v:.0%}")


class ProbabilityPanel(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Selected face", parent)
        layout = QVBoxLayout(self)
        self.caption = QLabel("no face")
        self.bars = _Bars()
        layout.addWidget(self.caption)
        layout.addWidget(self.bars)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        if labels != self.bars.labels:
            self.bars.set_labels(labels)

    def show_face(self, face: FaceResult | None) -> None:
        text = "no face" if face is None else f"face #{face.face_id}: {face.label} ({face.confidence:.0%})"
        if face is not None and face.pose is not None:
            p = face.pose
            text += (f"\nyaw {p.yaw:+.0f}°, pitch {p.pitch:+.0f}°, roll {p.roll:+.0f}°; "
                     f"eyes open {p.eye_open_left:.2f} / {p.eye_open_right:.2f} (left / right)")
        if text != self.caption.text():
            self.caption.setText(text)
        self.bars.values = tuple(0.0 for _ in self.bars.labels) if face is None else tuple(face.probs)
        self.bars.update()

    def value(self, label: str) -> float:
        return self.bars.values[self.bars.labels.index(label)]
