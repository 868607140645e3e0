"""Cameras through OpenCV's VideoCapture (V4L2 on Linux), by index: ``camera:N``.

``read`` waits for the device's next frame; the runner reads on its own thread and keeps only the newest
frame for the next stage (``ferdesk.runner.Mailbox``), so a slow consumer drops frames instead of lagging.
"""
from __future__ import annotations

import glob
import sys
import time

import cv2

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
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
        self._t0 = 0.0
        self._fps: float | None = None
        self._index = -1
        self.max_failures = 30   # consecutive failed reads (about a second at 30 fps) before the camera counts as lost

    def open(self) -> None:
        self._cap = _open_capture(self.index)
        if not self._cap.isOpened():
            raise SourceError(f"no camera at index {self.index} (cameras found: {', '.join(self.discover()) or 'none'})")
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._fps = self._cap.get(cv2.CAP_PROP_FPS) or None
        self._t0 = time.monotonic()
        self._index = -1

    def read(self) -> Frame | None:
        failures = 0
        while True:
            if self._cap.grab():                     # waits for the device's next frame
                t0 = time.perf_counter()
                ok, image = self._cap.retrieve()     # decodes it: the capture cost, without the wait
                if ok and image is not None:
                    self.last_read_ms = (time.perf_counter() - t0) * 1e3
                    self._index += 1
                    return Frame(image, self._index, time.monotonic() - self._t0, time.time())
            failures += 1
            if failures >= self.max_failures:
                raise SourceError(f"camera {self.index} lost: {failures} reads in a row failed (unplugged?)")
            time.sleep(0.03)

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    @property
    def fps(self) -> float | None:
        return self._fps
