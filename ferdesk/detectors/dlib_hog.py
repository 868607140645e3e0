"""dlib's HOG + linear SVM frontal face detector (optional extra ``dlib``: dlib-bin wheels)."""
from __future__ import annotations

import cv2
import numpy as np

from ferdesk.catalog import ModelSpec
from ferdesk.detectors.base import Detector, RawFace
from ferdesk.detectors.registry import detectors


@detectors.register("dlib-hog")
class DlibHogDetector(Detector):
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import dlib  # noqa: F401
        except ImportError:
            return False, "dlib is not installed: pip install 'ferdesk[dlib]'"
        return True, ""

    def __init__(self, spec: ModelSpec, backend: str | None = None, threads: int = 2, min_score: float | None = None):
        super().__init__(spec, backend, threads, min_score)
        import dlib

        self._detector = dlib.get_frontal_face_detector()
        # HOG finds faces down to 80 px; upsampling costs 4x, so scan half-size frames
        # only when they are large, and report boxes in source pixels.
        self.max_side = int(spec.get("max_side", 640))

    def detect_raw(self, image: np.ndarray) -> list[RawFace]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        s = min(1.0, self.max_side / max(gray.shape))
        if s < 1.0:
            gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        rects, scores, _ = self._detector.run(gray, 0, self.min_score)
        return [
            RawFace((r.left() + r.right()) / 2 / s, (r.top() + r.bottom()) / 2 / s, r.width() / s, r.height() / s, float(sc))
            for r, sc in zip(rects, scores)
        ]
