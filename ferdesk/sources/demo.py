"""The bundled demo: a public-domain portrait drifting slowly in a 640x480 frame, at 30 fps.

Works with no camera. Live like a camera (paced, newest frame wins) and endless; the
motion (pan, zoom, a little roll) exercises tracking and alignment.
"""
from __future__ import annotations

import math
import time
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
from ferdesk.sources.registry import sources
from ferdesk.types import Frame

DEMO_IMAGE = Path(str(resources.files("ferdesk") / "resources" / "demo" / "astronaut.jpg"))  # package data


def demo_matrix(photo_shape: tuple, t: float, size=(640, 480)) -> np.ndarray:
    """The 2x3 map from the photo to the demo frame at time ``t`` (pan, zoom, a little roll)."""
    w, h = size
    zoom = 0.85 + 0.1 * math.sin(t * 0.7)
    angle = 6 * math.sin(t * 0.45)
    cx = w / 2 + 60 * math.sin(t * 0.3)
    cy = h / 2 + 20 * math.sin(t * 0.5)
    ph, pw = photo_shape[:2]
    m = cv2.getRotationMatrix2D((pw / 2, ph / 2), angle, zoom * h / ph)
    m[:, 2] += (cx - pw / 2, cy - ph / 2)
    return m


def render_demo_frame(photo: np.ndarray, t: float, size=(640, 480)) -> np.ndarray:
    return cv2.warpAffine(photo, demo_matrix(photo.shape, t, size), size, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(40, 40, 40))


def compose_two_face_clip(path: Path, frames: int = 24, size=(640, 480), fps: float = 30.0) -> list[list[tuple]]:
    """Write a short clip of two faces cut from the demo portrait, drifting on grey; returns each frame's
    face tiles (x, y, w, h). The tests and the emulated aarch64 comparison run on it."""
    photo = cv2.imread(str(DEMO_IMAGE))[10:230, 120:340]  # the head, face about half the tile
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    truth = []
    for i in range(frames):
        frame = np.full((h, w, 3), 90, np.uint8)
        boxes = []
        for k, (x0, y0, s) in enumerate([(40, 80, 240), (360, 160, 200)]):
            x = x0 + (i % 8) * 2 * (1 if k else -1) + 16
            frame[y0:y0 + s, x:x + s] = cv2.resize(photo, (s, s), interpolation=cv2.INTER_AREA)
            boxes.append((x, y0, s, s))
        writer.write(frame)
        truth.append(boxes)
    writer.release()
    return truth


@sources.register("demo")
class DemoSource(Source):
    live = True

    def __init__(self, target: str = "", realtime: bool = True, fps: float = 30.0):
        super().__init__(target, realtime)
        self._fps = fps
        self._photo: np.ndarray | None = None
        self._start = 0.0
        self._last_index = -1

    def open(self) -> None:
        self._photo = cv2.imread(str(DEMO_IMAGE))
        if self._photo is None:
            raise SourceError(f"demo image missing or unreadable: {DEMO_IMAGE}")
        self._start = time.monotonic()
        self._last_index = -1

    def read(self) -> Frame | None:
        # A virtual camera: the frame index follows the clock; frames the consumer was too
        # slow to take are dropped, and a fast consumer waits for the next tick.
        index = int((time.monotonic() - self._start) * self._fps)
        if index <= self._last_index:
            index = self._last_index + 1
            time.sleep(max(0.0, self._start + index / self._fps - time.monotonic()))
        self.dropped += max(0, index - self._last_index - 1)
        self._last_index = index
        t = index / self._fps
        t0 = time.perf_counter()
        image = render_demo_frame(self._photo, t)
        self.last_read_ms = (time.perf_counter() - t0) * 1e3
        return Frame(image, index, t, time.time())

    @property
    def fps(self) -> float | None:
        return self._fps
