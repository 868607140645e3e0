"""Cameras through OpenCV's VideoCapture (V4L2 on Linux), by index: ``camera:N``."""
from __future__ import annotations

import glob
import sys
import time

import cv2

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
from ferdesk.sources.latest import LatestFrameGrabber
from ferdesk.sources.registry import sources
from ferdesk.types import Frame


def _open_capture(index: int) -> cv2.VideoCapture:
    backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    return cv2.VideoCapture(index, backend)


@sources.register("camera")
class CameraSource(Source):
    live = True

    @classmethod
    def discover(cls, max_index: int = 8) -> list[str]:
        if sys.platform.startswith("linux"):
            indices = sorted(int(p[len("/dev/video"):]) for p in glob.glob("/dev/video*") if p[len("/dev/video"):].isdigit())
        else:
            indices = list(range(max_index))
        found = []
        for i in indices[:max_index]:
            cap = _open_capture(i)
            if cap.isOpened() and cap.read()[0]:
                found.append(f"camera:{i}")
            cap.release()
        return found

    def __init__(self, target: str, realtime: bool = True, width: int = 640, height: int = 480):
        super().__init__(target, realtime)
        try:
            self.index = int(target)
        except ValueError:
            raise SourceError(f"camera index must be a number, got {target!r} (use camera:0)") from None
        self.width, self.height = width, height
        self._cap: cv2.VideoCapture | None = None
        self._grabber: LatestFrameGrabber | None = None
        self._t0 = 0.0
        self._fps: float | None = None

    def open(self) -> None:
        self._cap = _open_capture(self.index)
        if not self._cap.isOpened():
            raise SourceError(f"no camera at index {self.index} (cameras found: {', '.join(self.discover()) or 'none'})")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._fps = self._cap.get(cv2.CAP_PROP_FPS) or None

        def grab():
            ok, image = self._cap.read()
            return image if ok else None

        self._grabber = LatestFrameGrabber(grab)
        self._t0 = time.monotonic()
        self._grabber.start()

    def read(self) -> Frame | None:
        got = self._grabber.latest() if self._grabber else None
        if got is None:
            if self._grabber and self._grabber.error:
                raise SourceError(f"camera {self.index} lost: {self._grabber.error}")
            return None
        image, index, mono = got
        self.dropped = self._grabber.dropped
        self.last_read_ms = self._grabber.last_grab_ms
        return Frame(image, index, mono - self._t0, time.time())

    def close(self) -> None:
        if self._grabber:
            self._grabber.stop()
        if self._cap is not None:
            self._cap.release()

    @property
    def fps(self) -> float | None:
        return self._fps
