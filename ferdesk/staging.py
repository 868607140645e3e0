"""Run a source through the pipeline on three threads: read -> locate -> classify.

On a 2-core machine the stages overlap: decoding the next frame and detecting in it
while the previous frame's faces are classified (OpenCV and ONNX Runtime release the GIL).
Order is kept (FIFO queues). File sources queue a few frames and lose none; live sources
hold one frame per queue and replace it (newest wins, replacements counted as dropped).
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import replace
from typing import Callable, Iterator

from ferdesk.pipeline import Located, Pipeline
from ferdesk.sources import Source
from ferdesk.types import FrameResult

_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


class StagedRunner:
    def __init__(self, source: Source, pipeline: Pipeline, stop: Callable[[], bool] = lambda: False, depth: int = 4):
        self.source = source
        self.pipeline = pipeline
        self.stop = stop
        self.live = source.live
        depth = 1 if self.live else depth
        self._frames: queue.Queue = queue.Queue(depth)
        self._located: queue.Queue = queue.Queue(depth)
        self._halt = threading.Event()
        self.dropped = 0
        self.capture_ms: dict[int, float] = {}

    def _put(self, q: queue.Queue, item) -> None:
        if self.live and item is not _END and not isinstance(item, _Failure):
            try:  # newest wins: replace what the next stage has not taken yet
                q.get_nowait()
                self.dropped += 1
            except queue.Empty:
                pass
        while not self._halt.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _read(self) -> None:
        try:
            while not self._halt.is_set() and not self.stop():
                t0 = time.perf_counter()
                frame = self.source.read()
                if frame is None:
                    break
                own = self.source.last_read_ms
                self.capture_ms[frame.index] = own if own is not None else (time.perf_counter() - t0) * 1e3
                self._put(self._frames, frame)
            self._put(self._frames, _END)
        except BaseException as e:  # handed to the consumer, which raises it
            self._put(self._frames, _Failure(e))

    def _locate(self) -> None:
        try:
            while not self._halt.is_set():
                item = self._frames.get()
                if item is _END or isinstance(item, _Failure):
                    self._put(self._located, item)
                    return
                self._put(self._located, self.pipeline.locate(item))
        except BaseException as e:
            self._put(self._located, _Failure(e))

    def results(self) -> Iterator[FrameResult]:
        threads = [threading.Thread(target=self._read, name="read", daemon=True),
                   threading.Thread(target=self._locate, name="locate", daemon=True)]
        for t in threads:
            t.start()
        try:
            while True:
                item = self._located.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    raise item.error
                located: Located = item
                result = self.pipeline.classify(located)
                capture = self.capture_ms.pop(located.frame.index, 0.0)
                yield replace(result, timings_ms={"capture": capture, **result.timings_ms})
        finally:
            self._halt.set()
            for t in threads:
                t.join(timeout=2)

    @property
    def frames_dropped(self) -> int:
        return self.source.dropped + self.dropped
