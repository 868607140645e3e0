"""Video files through OpenCV (FFmpeg). Every frame is processed unless ``realtime``."""
from __future__ import annotations

import time
from pathlib import Path

import cv2

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
from ferdesk.sources.registry import sources
from ferdesk.types import Frame

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"}


@sources.register("video")
class VideoSource(Source):
    def __init__(self, target: str, realtime: bool = False):
        super().__init__(target, realtime)
        self.path = Path(target)
        self._cap: cv2.VideoCapture | None = None
        self._index = 0
        self._fps = None
        self._count = None
        self._start = 0.0

    def open(self) -> None:
        if not self.path.exists():
            raise SourceError(f"video file not found: {self.path}")
        if not self.path.is_file():
            raise SourceError(f"not a file: {self.path}")
        cap = cv2.VideoCapture(str(self.path))
        ok = cap.isOpened()
        first = cap.read() if ok else (False, None)
        if not ok or not first[0]:
            cap.release()
            raise SourceError(f"cannot read video {self.path}: not a video OpenCV can decode, or it is corrupt")
        self._cap = cap
        self._pending = first[1]
        self._fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        self._count = n if n > 0 else None
        self._start = time.monotonic()

    def _next_image(self):
        if self._pending is not None:
            image, self._pending = self._pending, None
            return image
        ok, image = self._cap.read()
        return image if ok else None

    def read(self) -> Frame | None:
        while True:
            t0 = time.perf_counter()
            image = self._next_image()
            if image is None:
                return None
            if self.realtime:  # report the decode, not the pacing sleep below
                self.last_read_ms = (time.perf_counter() - t0) * 1e3
            index = self._index
            self._index += 1
            media_t = index / self._fps
            if self.realtime:
                ahead = media_t - (time.monotonic() - self._start)
                if ahead > 0:
                    time.sleep(ahead)
                elif ahead < -1.0 / self._fps:
                    self.dropped += 1  # behind the media clock: skip this frame
                    continue
            return Frame(image, index, media_t, time.time())

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def frame_count(self) -> int | None:
        return self._count
