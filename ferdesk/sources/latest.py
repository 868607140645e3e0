"""Newest-frame-wins reading for live sources: a grabber thread keeps only the latest frame."""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np


class LatestFrameGrabber:
    """Calls ``grab()`` in a background thread as fast as the device delivers.

    ``grab`` returns a BGR image or None (a failed read). ``latest()`` blocks until a frame
    newer than the last one handed out exists, and returns it with its grab index and time;
    frames overwritten before anyone took them are counted in ``dropped``. After
    ``max_failures`` consecutive failed reads the grabber stops and ``error`` says why.
    """

    def __init__(self, grab: Callable[[], np.ndarray | None], max_failures: int = 30):
        self._grab = grab
        self._max_failures = max_failures
        self._cond = threading.Condition()
        self._frame: tuple[np.ndarray, int, float] | None = None
        self._taken = -1
        self._count = 0
        self._stop = threading.Event()
        self.dropped = 0
        self.last_grab_ms: float | None = None  # includes the wait for the device's next frame
        self.error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="frame-grabber", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            t0 = time.perf_counter()
            image = self._grab()
            self.last_grab_ms = (time.perf_counter() - t0) * 1e3
            if image is None:
                failures += 1
                if failures >= self._max_failures:
                    self.error = f"the source stopped delivering frames ({failures} failed reads)"
                    break
                time.sleep(0.01)
                continue
            failures = 0
            with self._cond:
                if self._frame is not None and self._frame[1] > self._taken:
                    self.dropped += 1
                self._frame = (image, self._count, time.monotonic())
                self._count += 1
                self._cond.notify_all()
        with self._cond:
            self._stop.set()
            self._cond.notify_all()

    def latest(self, timeout: float = 5.0) -> tuple[np.ndarray, int, float] | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (self._frame is not None and self._frame[1] > self._taken):
                if self._stop.is_set():
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.error = self.error or f"no frame for {timeout:.0f} s"
                    return None
                self._cond.wait(remaining)
            self._taken = self._frame[1]
            return self._frame

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=2)
