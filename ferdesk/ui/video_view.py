"""The live video with a box, id, label and confidence per face (and the comparison model's label under the
box when one runs); click a face to select it."""
from __future__ import annotations

import cv2
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ferdesk.workers import DisplayResult

LABEL_COLOURS = {
    "angry": "#e53935", "disgust": "#7cb342", "fear": "#8e24aa", "happy": "#fdd835",
    "sad": "#1e88e5", "surprise": "#fb8c00", "neutral": "#9e9e9e", "contempt": "#6d4c41",
}


def colour_for(label: str) -> QColor:
    return QColor(LABEL_COLOURS.get(label, "#26a69a"))


class VideoView(QWidget):
    face_clicked = Signal(int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setMinimumSize(320, 240)
        self._shown: DisplayResult | None = None
        self._image: QImage | None = None
        self._source_size = (1, 1)
        self.selected_id: int | None = None
        self.message = "starting..."

    def show_result(self, shown: DisplayResult | None) -> None:
        if shown is not None and shown is not self._shown:
            # Scale with OpenCV (fast, and it releases the GIL) so painting is a plain blit:
            # Qt's smooth scaling in paintEvent cost ~5 ms of UI thread per frame.
            h, w = shown.image.shape[:2]
            s = min(self.width() / w, self.height() / h)
            size = (max(1, round(w * s)), max(1, round(h * s)))
            rgb = cv2.cvtColor(cv2.resize(shown.image, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR),
                               cv2.COLOR_BGR2RGB)
            self._image = QImage(rgb.data, size[0], size[1], 3 * size[0], QImage.Format_RGB888).copy()
            self._source_size = (w, h)
            self._shown = shown
        self.update()

    def _geometry(self) -> tuple[float, float, float]:
        """Scale from source pixels to widget pixels, and the image's offset in the widget."""
        iw, ih = self._source_size
        s = min(self.width() / iw, self.height() / ih)
        return s, (self.width() - iw * s) / 2, (self.height() - ih * s) / 2

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("#202124"))
        if self._image is None or self._shown is None:
            p.setPen(QColor("#e8eaed"))
            p.drawText(self.rect(), Qt.AlignCenter | Qt.TextWordWrap, self.message)
            return
        s, ox, oy = self._geometry()
        iw, ih = self._source_size
        p.drawImage(QRectF(ox, oy, iw * s, ih * s), self._image)
        font = QFont(self.font())
        font.setPointSize(10)
        font.setBold(True)
        p.setFont(font)
        for face in self._shown.result.faces:
            x, y, w, h = face.box
            r = QRectF(ox + x * s, oy + y * s, w * s, h * s)
            c = colour_for(face.label)
            p.setPen(QPen(c, 4 if face.face_id == self.selected_id else 2))
            p.setBrush(Qt.NoBrush)
            p.drawRect(r)
            text = f"#{face.face_id} {face.label} {face.confidence:.0%}"
            tw = p.fontMetrics().horizontalAdvance(text) + 8
            th = p.fontMetrics().height() + 2
            label_rect = QRectF(r.left(), max(0.0, r.top() - th), tw, th)
            p.fillRect(label_rect, c)
            p.setPen(QColor("#000000"))
            p.drawText(label_rect, Qt.AlignCenter, text)
            if face.compare is not None:   # the comparison model's answer, under the box
                b = face.compare
                text = f"B {b.label} {b.confidence:.0%}" + ("" if b.label == face.label else "  (differs)")
                tw = p.fontMetrics().horizontalAdvance(text) + 8
                b_rect = QRectF(r.left(), r.bottom(), tw, th)
                p.fillRect(b_rect, colour_for(b.label))
                p.drawText(b_rect, Qt.AlignCenter, text)
        if self.message:
            p.setPen(QColor("#ffab40"))
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignBottom | Qt.AlignLeft, self.message)

    def mousePressEvent(self, event) -> None:
        if self._image is None or self._shown is None:
            return
        s, ox, oy = self._geometry()
        pt = QPointF((event.position().x() - ox) / s, (event.position().y() - oy) / s)
        for face in self._shown.result.faces:
            x, y, w, h = face.box
            if QRectF(x, y, w, h).contains(pt):
                self.face_clicked.emit(face.face_id)
                return
