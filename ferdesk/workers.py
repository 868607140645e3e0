"""The only Qt-aware core module: capture and inference workers that run on QThreads.

The UI never touches a source, a model or the log. It sends requests (``request_*``,
thread-safe) and receives frozen results through signals. The capture worker puts frames
into a one-slot mailbox (newest frame wins; overwritten frames are counted as dropped);
the inference worker takes the newest, processes it, logs it when recording, and emits.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ferdesk.errors import FerdeskError
from ferdesk.recorder import SessionRecorder, default_session_dir
from ferdesk.session import build_stack
from ferdesk.sources import make_source
from ferdesk.types import Frame, FrameResult


class FrameSlot:
    """A mailbox holding one frame: put replaces, take waits for a new one."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item: tuple[Frame, float] | None = None
        self.dropped = 0

    def put(self, frame: Frame, capture_ms: float) -> None:
        with self._cond:
            if self._item is not None:
                self.dropped += 1
            self._item = (frame, capture_ms)
            self._cond.notify()

    def take(self, timeout: float) -> tuple[Frame, float] | None:
        with self._cond:
            if self._item is None:
                self._cond.wait(timeout)
            item, self._item = self._item, None
            return item


@dataclass(frozen=True)
class SourceInfo:
    spec: str
    description: str
    width: int
    height: int
    fps: float | None
    live: bool


@dataclass(frozen=True)
class DisplayResult:
    """What the window needs for one processed frame."""

    image: np.ndarray
    result: FrameResult
    labels: tuple[str, ...]
    dropped: int
    timings_ms: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StackInfo:
    model: str
    backend: str
    detector: str
    temporal: str
    recording: str | None


class CaptureWorker(QObject):
    opened = Signal(object)    # SourceInfo
    ended = Signal(str)        # the source ran out of frames (end of a file or folder)
    error = Signal(str)
    finished = Signal()

    def __init__(self, source_spec: str, slot: FrameSlot, realtime: bool = True):
        super().__init__()
        self.source_spec = source_spec
        self.slot = slot
        self.realtime = realtime
        self._stop = threading.Event()
        self.source_dropped = 0

    def stop(self) -> None:
        self._stop.set()

    @Slot()
    def run(self) -> None:
        try:
            source = make_source(self.source_spec, realtime=self.realtime)
            source.open()
        except FerdeskError as e:
            self.error.emit(str(e))
            self.finished.emit()
            return
        try:
            first = True
            while not self._stop.is_set():
                t0 = time.perf_counter()
                frame = source.read()
                if frame is None:
                    self.ended.emit(f"end of {source.describe()}")
                    break
                if first:
                    h, w = frame.image.shape[:2]
                    self.opened.emit(SourceInfo(self.source_spec, source.describe(), w, h, source.fps, source.live))
                    first = False
                self.source_dropped = source.dropped
                own = source.last_read_ms
                self.slot.put(frame, own if own is not None else (time.perf_counter() - t0) * 1e3)
        except FerdeskError as e:
            self.error.emit(str(e))
        finally:
            source.close()
            self.finished.emit()


class InferenceWorker(QObject):
    result = Signal(object)        # DisplayResult
    stack_changed = Signal(object)  # StackInfo
    marker_added = Signal(str)
    error = Signal(str)
    finished = Signal()

    def __init__(self, slot: FrameSlot, model: str | None = None, backend: str | None = None,
                 detector: str | None = None, threads: int = 2, temporal: str | None = None, catalog=None):
        super().__init__()
        self.slot = slot
        self.catalog = catalog  # the window's catalog (bundled set plus model packs); None: the installed one
        self._wanted = {"model": model, "backend": backend, "detector": detector, "temporal": temporal}
        self.threads = threads
        self._requests: queue.Queue = queue.Queue()
        self._stop = threading.Event()
        self._stack = None
        self._recorder: SessionRecorder | None = None
        self._last_index: int | None = None
        self._last_time: float | None = None
        self.source_spec = ""
        self.extra_dropped = lambda: 0  # the capture side's own drop count, set by the owner

    # -- requests from the UI thread (thread-safe) ----------------------------------------------
    def request_stack(self, **changes) -> None:
        self._requests.put(("stack", changes))

    def request_recording(self, folder: Path | None) -> None:
        self._requests.put(("record", folder))

    def request_stop_recording(self) -> None:
        self._requests.put(("stop_record", None))

    def request_marker(self, label: str, text: str = "") -> None:
        self._requests.put(("marker", (label, text)))

    def stop(self) -> None:
        self._stop.set()

    # -- worker thread ---------------------------------------------------------------------------
    def _info(self) -> StackInfo:
        return StackInfo(self._stack.model, self._stack.backend, self._stack.detector, self._stack.temporal,
                         str(self._recorder.folder) if self._recorder else None)

    def _apply(self, kind: str, arg) -> None:
        if kind == "stack":
            wanted = {**self._wanted, **arg}
            try:
                new = build_stack(wanted["model"], wanted["backend"], wanted["detector"], threads=self.threads,
                                  temporal=wanted["temporal"], catalog=self.catalog)
            except FerdeskError as e:
                self.error.emit(str(e))
                return
            if self._recorder and new.pipeline.classifier.labels != self._recorder.labels:
                self.error.emit(f"model {new.model} has other labels than the session being recorded; stop recording first")
                return
            self._wanted, self._stack = wanted, new
            if self._recorder:
                self._recorder.event("switch", self._last_index, model=new.model, backend=new.backend,
                                     detector=new.detector, temporal=new.temporal)
        elif kind == "record" and self._recorder is None and self._stack is not None:
            meta = {"source": self.source_spec, "model": self._stack.model, "backend": self._stack.backend,
                    "detector": self._stack.detector, "temporal": self._stack.temporal}
            try:
                self._recorder = SessionRecorder(arg or default_session_dir(), self._stack.pipeline.classifier.labels, meta).open()
            except FerdeskError as e:
                self.error.emit(str(e))
        elif kind == "stop_record" and self._recorder is not None:
            self._recorder.close()
            self._recorder = None
        elif kind == "marker":
            if self._recorder is None:
                self.error.emit("markers are written to a recording: start recording first (Ctrl+R)")
            else:
                label, text = arg
                self._recorder.marker(self._last_index, self._last_time, label, text)
                self.marker_added.emit(label)
            return
        self.stack_changed.emit(self._info())

    @Slot()
    def run(self) -> None:
        try:
            try:
                self._stack = build_stack(**self._wanted, threads=self.threads, catalog=self.catalog)
            except FerdeskError as e:
                if self._wanted["temporal"] in (None, "off"):
                    raise
                # a temporal mode that cannot run with this model should not cost the whole stack
                self.error.emit(f"{e}; temporal mode off")
                self._wanted["temporal"] = "off"
                self._stack = build_stack(**self._wanted, threads=self.threads, catalog=self.catalog)
        except FerdeskError as e:
            if not any(self._wanted[k] for k in ("model", "backend", "detector")):
                self.error.emit(str(e))
                self.finished.emit()
                return
            # a saved or given name that is gone (a zoo model without its pack, say) must not leave the
            # window without a picture: say so and run the defaults; the menus still switch from there
            self.error.emit(f"{e}; running the default model, backend and detector instead")
            self._wanted = {"model": None, "backend": None, "detector": None, "temporal": "off"}
            try:
                self._stack = build_stack(**self._wanted, threads=self.threads, catalog=self.catalog)
            except FerdeskError as e2:
                self.error.emit(str(e2))
                self.finished.emit()
                return
        self.stack_changed.emit(self._info())
        try:
            while not self._stop.is_set():
                while not self._requests.empty():
                    self._apply(*self._requests.get_nowait())
                item = self.slot.take(0.05)
                if item is None:
                    if self._recorder:
                        self._recorder.tick()
                    continue
                frame, capture_ms = item
                result = self._stack.pipeline.process(frame)
                self._last_index, self._last_time = frame.index, frame.time_s
                dropped = self.slot.dropped + self.extra_dropped()
                if self._recorder:
                    self._recorder.add(result, self._stack.model, self._stack.backend, dropped_total=dropped)
                self.result.emit(DisplayResult(frame.image, result, self._stack.pipeline.classifier.labels, dropped,
                                               {"capture": capture_ms, **result.timings_ms}))
        finally:
            if self._recorder:
                self._recorder.close()
            self.finished.emit()
