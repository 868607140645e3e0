"""OpenCV's Viola-Jones Haar cascade (haarcascade_frontalface_default.xml, bundled in models/)."""
from __future__ import annotations

import cv2
import numpy as np

from ferdesk.catalog import ModelSpec, check_file
from ferdesk.detectors.base import Detector, RawFace
from ferdesk.detectors.registry import detectors
from ferdesk.errors import ModelError


@detectors.register("opencv-cascade")
class OpenCVCascadeDetector(Detector):
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return (True, "") if hasattr(cv2, "CascadeClassifier") else (False, "this OpenCV build has no objdetect module")

    def __init__(self, spec: ModelSpec, backend: str | None = None, threads: int = 2, min_score: float | None = None):
        super().__init__(spec, backend, threads, min_score)
        mf = spec.file_for("opencv-cascade")
        if mf is None:
            raise ModelError(f"detector {spec.name} has no cascade file in the catalog")
        check_file(mf)
        self._cascade = cv2.CascadeClassifier(str(mf.path))
        if self._cascade.empty():
            raise ModelError(f"cannot load cascade {mf.path}")
        self.min_neighbors = int(spec.get("min_neighbors", 5))
        self.max_side = int(spec.get("max_side", 480))

    def detect_raw(self, image: np.ndarray) -> list[RawFace]:
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        s = min(1.0, self.max_side / max(gray.shape))
        if s < 1.0:  # the cascade's cost grows with pixels; faces below ~60 px are out of reach anyway
            gray = cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        # detectMultiScale2 keeps the cascade's early rejection (detectMultiScale3 with reject
        # levels is ~10x slower); the neighbour count stands in for a confidence.
        rects, neighbours = self._cascade.detectMultiScale2(gray, scaleFactor=1.1, minNeighbors=self.min_neighbors, minSize=(30, 30))
        return [RawFace((x + w / 2) / s, (y + h / 2) / s, w / s, h / s, min(1.0, n / 30)) for (x, y, w, h), n in zip(rects, np.ravel(neighbours))]
