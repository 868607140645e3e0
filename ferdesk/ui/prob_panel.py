"""Per-class probability bars for the selected face."""
from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QProgressBar

from ferdesk.types import FaceResult
from ferdesk.ui.video_view import LABEL_COLOURS


class ProbabilityPanel(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Selected face", parent)
        self._form = QFormLayout(self)
        self._bars: dict[str, QProgressBar] = {}
        self._labels: tuple[str, ...] = ()
        self.caption = QLabel("no face")
        self._form.addRow(self.caption)

    def set_labels(self, labels: tuple[str, ...]) -> None:
        if labels == self._labels:
            return
        for bar in self._bars.values():
            self._form.removeRow(bar)
        self._bars = {}
        for label in labels:
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setFormat(f"%p%")
            bar.setStyleSheet(f"QProgressBar::chunk {{ background: {LABEL_COLOURS.get(label, '#26a69a')}; }}")
            self._form.addRow(label, bar)
            self._bars[label] = bar
        self._labels = labels

    def show_face(self, face: FaceResult | None) -> None:
        if face is None:
            self.caption.setText("no face")
            for bar in self._bars.values():
                bar.setValue(0)
            return
        self.caption.setText(f"face #{face.face_id}: {face.label} ({face.confidence:.0%})")
        for label, p in zip(self._labels, face.probs):
            self._bars[label].setValue(int(round(p * 1000)))

    def value(self, label: str) -> float:
        return self._bars[label].value() / 1000
