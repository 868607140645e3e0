"""One runner for ``ferdesk run`` and the window: source -> read / locate / classify -> events. No Qt.

Per source, a read thread and a locate thread (detect, track, crop) feed the caller's thread, which
classifies, records and yields events; on two cores decoding and detection of the next frame overlap with
classifying the previous one (OpenCV and ONNX Runtime release the GIL). Between stages sits a ``Mailbox``:
for live sources (cameras, the demo) the newest frame wins and replaced frames count as dropped; file
sources keep every frame in order.

Requests (``request_*``, thread-safe) are applied between frames by the caller's thread: switch model,
backend, detector or temporal mode, open another source, start or stop a recording, write a marker, stop.
The session's metadata is written here and only here: what ran when the recording started, every change
as an event with the frame it took effect, frames dropped since the recording started, and how it ended.

``strict`` runners (the command line) raise on a model or source that cannot be used; the window's runner
turns them into ``Notice`` events, falls back to the defaults, and retries a live source that failed.
"""
from __future__ import annotations

import collections
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

import numpy as np

from ferdesk.errors import FerdeskError, LogError
from ferdesk.metrics import peak_rss_mb
from ferdesk.recorder import SessionRecorder, new_session_dir
from ferdesk.session import Stack, build_stack
from ferdesk.sources import Source, make_source
from ferdesk.streams import StreamSet
from ferdesk.types import FrameResult


# -- events -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceInfo:
    """A source opened (again)."""

    spec: str
    description: str
    width: int
    height: int
    fps: float | None
    live: bool


@dataclass(frozen=True)
class StackInfo:
    """What runs now; sent at start, after every switch (or refused switch) and recording change."""

    model: str
    backend: str
    detector: str
    temporal: str
    recording: str | None
    recording_since: float | None = None   # time.monotonic() when the recording started
    prior: str = "trained"                 # the class prior (ferdesk.prior)
    compare: str | None = None             # the comparison classifier, if any
    compare_backend: str | None = None
    streams: tuple[str, ...] = ()          # the live outputs open (``ferdesk.streams`` specs)
    head_pose: bool = False                # head pose and eye openness estimated per face


@dataclass(frozen=True)
class Processed:
    """One processed frame."""

    image: np.ndarray
    result: FrameResult
    labels: tuple[str, ...]
    dropped: int              # frames dropped since the runner started
    model: str
    backend: str
    timings_ms: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Notice:
    """Something the user should read: a refused request, a fallback, a failure."""

    message: str
    level: str = "error"      # "error", "warning" or "info"


@dataclass(frozen=True)
class SourceEnded:
    spec: str
    message: str


@dataclass(frozen=True)
class SourceFailed:
    spec: str
    message: str
    retrying: bool


@dataclass(frozen=True)
class MarkerWritten:
    label: str
    frame: int | None


@dataclass(frozen=True)
class RecordingEnded:
    folder: str
    ended: str                # "normally" or "interrupted"
    reason: str


# -- the mailbox between stages ------------------------------------------------------------------
class Mailbox:
    """A hand-over between two threads. ``newest_wins``: one item, a put replaces an untaken one (counted
    in ``dropped``); else a FIFO of ``depth`` items whose put waits for room. Final items (the end of the
    source, a failure) are never replaced or lost."""

    def __init__(self, newest_wins: bool, depth: int = 4):
        self.newest_wins = newest_wins
        self.depth = 1 if newest_wins else depth
        self._items: collections.deque = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def put(self, item, final: bool = False) -> None:
        with self._cond:
            if self.newest_wins and not final:
                while self._items and not isinstance(self._items[-1], _Final):
                    self._items.pop()
                    self.dropped += 1
            while not self.newest_wins and not final and len(self._items) >= self.depth and not self._closed:
                self._cond.wait(0.1)
            if self._closed:
                return
            self._items.append(_Final(item) if final else item)
            self._cond.notify_all()

    def get(self, timeout: float):
        """The next item, ``Mailbox.EMPTY`` after ``timeout`` seconds; a final item comes as ``_Final``."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            if not self._items:
                return Mailbox.EMPTY
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._items.clear()
            self._cond.notify_all()

    EMPTY = object()


class _Final:
    def __init__(self, value):
        self.value = value


_END = object()


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


# -- one open source and its two threads ------------------------------------------------------------
class _Feed:
    """An open source read on one thread and located on another, for the runner's current pipeline."""

    def __init__(self, spec: str, source: Source, pipeline_now):
        self.spec = spec
        self.source = source
        self._pipeline_now = pipeline_now          # () -> (generation, Pipeline)
        self.frames = Mailbox(newest_wins=source.live)
        self.located = Mailbox(newest_wins=source.live)
        self._halt = threading.Event()
        self.capture_ms: dict[int, float] = {}
        self._threads = [threading.Thread(target=self._read, name="read", daemon=True),
                         threading.Thread(target=self._locate, name="locate", daemon=True)]
        for t in self._threads:
            t.start()

    def _read(self) -> None:
        try:
            while not self._halt.is_set():
                t0 = time.perf_counter()
                frame = self.source.read()
                if frame is None:
                    break
                own = self.source.last_read_ms
                self.capture_ms[frame.index] = own if own is not None else (time.perf_counter() - t0) * 1e3
                self.frames.put(frame)
            self.frames.put(_END, final=True)
        except BaseException as e:  # handed down the line; the caller's thread reports it
            self.frames.put(_Failure(e), final=True)

    def _locate(self) -> None:
        try:
            while not self._halt.is_set():
                item = self.frames.get(0.1)
                if item is Mailbox.EMPTY:
                    continue
                if isinstance(item, _Final):
                    self.located.put(item.value, final=True)
                    return
                generation, pipeline = self._pipeline_now()
                self.located.put((generation, pipeline.locate(item)))
        except BaseException as e:
            self.located.put(_Failure(e), final=True)

    @property
    def dropped(self) -> int:
        return self.source.dropped + self.frames.dropped + self.located.dropped

    def close(self) -> None:
        self._halt.set()
        self.frames.close()
        self.located.close()
        for t in self._threads:
            t.join(timeout=3)
        self.source.close()


# -- the runner -------------------------------------------------------------------------------------
class Runner:
    def __init__(self, source: str | None, *, model: str | None = None, backend: str | None = None,
                 detector: str | None = None, temporal: str | None = None, catalog=None, threads: int = 1,
                 align: bool = True, realtime: bool = False, strict: bool = False, retry_s: float = 1.0,
                 record: Path | str | None = None, prior: str | None = None, compare: str | None = None,
                 compare_backend: str | None = None, streams: tuple[str, ...] | list[str] = (),
                 participant: str | None = None, condition: str | None = None, note: str | None = None,
                 head_pose: bool = False, record_video: str = "off"):
        """``record``: start recording as soon as the source is open, into that folder ("" or a Path), or
        not at all (None). ``streams``: live outputs to open at the start (``lsl``, ``ws[:PORT]``).
        ``participant``, ``condition``, ``note``: who and what, stored in each recording's session.json.
        ``record_video``: recordings also store the video (``ferdesk.video_log``: clean, overlay or blur)."""
        self.source_spec = source
        self.source_description: str | None = None
        self.last_session: str | None = None     # the folder of the latest recording
        self.catalog = catalog
        self.threads = threads
        self.align = align
        self.realtime = realtime
        self.strict = strict
        self.retry_s = retry_s
        self._wanted = {"model": model, "backend": backend, "detector": detector, "temporal": temporal, "prior": prior,
                        "compare": compare, "compare_backend": compare_backend, "head_pose": head_pose}
        self._requests: queue.Queue = queue.Queue()
        if record is not None:
            self._requests.put(("record", Path(record) if record else None))
        for spec in streams:
            self._requests.put(("stream", (spec, True)))
        self.streams = StreamSet()
        self.session_details = {"participant": participant, "condition": condition, "note": note}
        self.record_video = record_video
        self._stop = threading.Event()
        self.stop_reason = "stopped"
        self.stop_ended = "normally"
        self.stack: Stack | None = None
        self._generation = 0
        self._feed: _Feed | None = None
        self.source_info: SourceInfo | None = None
        self.recorder: SessionRecorder | None = None
        self._recording_since: float | None = None
        self._dropped_closed = 0       # dropped by feeds already closed
        self._dropped_at_record = 0
        self._retry_at: float | None = None
        self.last_frame: int | None = None
        self.last_time_s: float | None = None

    # -- requests (any thread) -------------------------------------------------------------------
    def request_stack(self, **changes) -> None:
        self._requests.put(("stack", changes))

    def request_source(self, spec: str) -> None:
        self._requests.put(("source", spec))

    def request_recording(self, folder: Path | None = None) -> None:
        self._requests.put(("record", folder))

    def request_session_details(self, participant: str | None, condition: str | None, note: str | None) -> None:
        """Who and what for the recordings started from now on (None or "": not given)."""
        self._requests.put(("details", {"participant": participant or None, "condition": condition or None,
                                        "note": note or None}))

    def request_record_video(self, mode: str) -> None:
        """Store the video of the recordings started from now on: off, clean, overlay or blur."""
        self._requests.put(("video", mode))

    def request_stream(self, spec: str, on: bool = True) -> None:
        """Open (or, with ``on`` false, close) a live output: ``lsl``, ``ws`` or ``ws:PORT``."""
        self._requests.put(("stream", (spec, on)))

    def request_stop_recording(self) -> None:
        self._requests.put(("stop_record", None))

    def request_marker(self, label: str, text: str = "", frame: int | None = None, time_s: float | None = None) -> None:
        """A marker for ``frame`` (the one on screen when the user pressed the key), else the last processed."""
        self._requests.put(("marker", (label, text, frame, time_s)))

    def stop(self, reason: str = "stopped", ended: str = "normally") -> None:
        self.stop_reason, self.stop_ended = reason, ended
        self._stop.set()

    # -- state ----------------------------------------------------------------------------------
    @property
    def frames_dropped(self) -> int:
        """Frames dropped since the runner started, over every source it opened."""
        return self._dropped_closed + (self._feed.dropped if self._feed else 0)

    def info(self) -> StackInfo:
        s = self.stack
        return StackInfo(s.model, s.backend, s.detector, s.temporal,
                         str(self.recorder.folder) if self.recorder else None, self._recording_since, s.prior,
                         s.compare, s.compare_backend, self.streams.specs, s.head_pose)

    def _pipeline_now(self):
        return self._generation, self.stack.pipeline

    # -- the loop (the caller's thread) -------------------------------------------------------------
    def events(self) -> Iterator:
        yield from self._start_stack()
        while self.stack is None:      # nothing can run (the default model unreadable): wait for a switch that works
            if self._stop.is_set():
                return
            try:
                kind, arg = self._requests.get(timeout=0.1)
            except queue.Empty:
                continue
            if kind == "stack":
                try:
                    self._wanted = {**self._wanted, **arg}
                    self.stack = self._build(self._wanted)
                    self._generation += 1
                except FerdeskError as e:
                    yield Notice(str(e))
            elif kind == "source":
                self.source_spec = arg
        yield self.info()
        if self.source_spec:
            yield from self._open(self.source_spec)
        try:
            while not self._stop.is_set():
                while not self._requests.empty() and not self._stop.is_set():
                    yield from self._apply(*self._requests.get_nowait())
                if self._feed is None:
                    yield from self._idle()
                    continue
                item = self._feed.located.get(0.05)
                if item is Mailbox.EMPTY:
                    yield from self._tick()
                    continue
                if isinstance(item, _Final):
                    item = item.value
                if item is _END:
                    spec = self._feed.spec
                    self._close_feed()
                    yield SourceEnded(spec, f"end of {self.source_info.description if self.source_info else spec}")
                    if self.strict:
                        self.stop_reason = "end of the source"
                        return
                    continue
                if isinstance(item, _Failure):
                    yield from self._source_failed(item.error)
                    if self.strict:
                        raise item.error
                    continue
                generation, located = item
                if self.source_info is None or self.source_info.spec != self._feed.spec:
                    src = self._feed.source
                    w, h = located.frame.size
                    self.source_info = SourceInfo(self._feed.spec, src.describe(), w, h, src.fps, src.live)
                    yield self.source_info
                if generation != self._generation:      # located by a pipeline switched away since
                    located = self.stack.pipeline.locate(located.frame)
                result = self.stack.pipeline.classify(located)
                capture = self._feed.capture_ms.pop(located.frame.index, 0.0)
                result = replace(result, timings_ms={"capture": capture, **result.timings_ms})
                self.last_frame, self.last_time_s = result.frame_index, result.time_s
                # the log and the live outputs are timed as stages of their own (the summary, the latency chart)
                extra = {}
                if self.recorder:
                    t0 = time.perf_counter()
                    yield from self._record(result, located.frame.image)
                    extra["record"] = (time.perf_counter() - t0) * 1e3
                if self.streams.open_streams:
                    t0 = time.perf_counter()
                    yield from self._stream(result)
                    extra["stream"] = (time.perf_counter() - t0) * 1e3
                if extra:
                    result = replace(result, timings_ms={**result.timings_ms, **extra})
                yield Processed(located.frame.image, result, self.stack.pipeline.classifier.labels, self.frames_dropped,
                                self.stack.model, self.stack.backend, result.timings_ms)
        finally:
            self._shutdown()

    def _idle(self) -> Iterator:
        """No source is open: wait for a request, retry a failed live source when its time comes."""
        if self._retry_at is not None and time.monotonic() >= self._retry_at:
            spec, self._retry_at = self.source_spec, None
            yield from self._open(spec, retry=True)
            return
        yield from self._tick()
        try:
            kind, arg = self._requests.get(timeout=0.05)
        except queue.Empty:
            return
        yield from self._apply(kind, arg)

    def _tick(self) -> Iterator:
        if self.recorder:
            try:
                self.recorder.tick()
            except (OSError, LogError) as e:
                yield from self._recording_failed(e)

    # -- stacks ----------------------------------------------------------------------------------
    def _build(self, wanted: dict) -> Stack:
        return build_stack(wanted["model"], wanted["backend"], wanted["detector"], threads=self.threads, align=self.align,
                           catalog=self.catalog, temporal=wanted["temporal"], prior=wanted["prior"],
                           compare=wanted["compare"], compare_backend=wanted["compare_backend"],
                           head_pose=bool(wanted["head_pose"]))

    def _start_stack(self) -> Iterator:
        try:
            try:
                self.stack = self._build(self._wanted)
            except FerdeskError as e:
                if self.strict or self._wanted["temporal"] in (None, "off"):
                    raise
                # a temporal mode that cannot run with this model must not cost the whole stack
                yield Notice(f"{e}; temporal mode off")
                self._wanted["temporal"] = "off"
                self.stack = self._build(self._wanted)
        except FerdeskError as e:
            if self.strict:
                raise
            if not any(self._wanted[k] for k in ("model", "backend", "detector", "prior", "compare")):
                yield Notice(str(e))
                return
            # a saved or given name that is gone (a zoo model without its pack, say) must not leave the
            # window without a picture: say so and run the defaults; the menus still switch from there
            yield Notice(f"{e}; running the default model, backend, detector and prior instead, without comparison")
            self._wanted = {"model": None, "backend": None, "detector": None, "temporal": "off", "prior": None,
                            "compare": None, "compare_backend": None, "head_pose": False}
            try:
                self.stack = self._build(self._wanted)
            except FerdeskError as e2:
                yield Notice(str(e2))
                return
        self._generation += 1

    def _switch(self, changes: dict) -> Iterator:
        wanted = {**self._wanted, **changes}
        try:
            new = self._build(wanted)
        except FerdeskError as e:
            yield Notice(str(e))
            yield self.info()            # the menus go back to what runs
            return
        if self.recorder and new.pipeline.classifier.labels != self.recorder.labels:
            yield Notice(f"model {new.model} has other labels than the session being recorded; stop recording first")
            yield self.info()
            return
        self._wanted, self.stack = wanted, new
        self._generation += 1
        if self.recorder:
            self.recorder.event("switch", self.last_frame, model=new.model, backend=new.backend,
                                detector=new.detector, temporal=new.temporal, prior=new.prior,
                                compare=new.compare, compare_backend=new.compare_backend, head_pose=new.head_pose)
        yield self.info()

    # -- sources ---------------------------------------------------------------------------------
    def _open(self, spec: str, retry: bool = False) -> Iterator:
        self._close_feed()
        self.source_spec = spec
        self._retry_at = None            # a source the user picks replaces one being retried
        try:
            source = make_source(spec, realtime=self.realtime)
            source.open()
        except FerdeskError as e:
            if self.strict:
                raise
            if retry:
                self._retry_at = time.monotonic() + self.retry_s
                return
            self.source_info = None
            yield Notice(str(e))
            return
        self.stack.pipeline.reset()      # tracks and detector hints of another source mean nothing here
        self._feed = _Feed(spec, source, self._pipeline_now)
        self.source_description = source.describe()
        self.source_info = None          # announced with its first frame's size
        if self.recorder:
            self.recorder.event("source", self.last_frame, source=spec, description=source.describe())

    def _close_feed(self) -> None:
        if self._feed is not None:
            self._dropped_closed += self._feed.dropped
            self._feed.close()
            self._feed = None

    def _source_failed(self, error: BaseException) -> Iterator:
        spec = self._feed.spec if self._feed else self.source_spec
        live = self._feed.source.live if self._feed else False
        self._close_feed()
        retrying = live and not self.strict
        if retrying:
            self._retry_at = time.monotonic() + self.retry_s
        if self.recorder:
            self.recorder.event("source_failed", self.last_frame, source=spec, error=str(error))
        message = str(error) if isinstance(error, FerdeskError) else f"{type(error).__name__}: {error}"
        yield SourceFailed(spec, message + ("; retrying every second" if retrying else ""), retrying)

    # -- recording -------------------------------------------------------------------------------
    def recording_meta(self) -> dict:
        """What the session ran at its start (the one place session metadata comes from)."""
        s, src = self.stack, self._feed.source if self._feed else None
        return {"source": self.source_spec, "source_description": src.describe() if src else None,
                "model": s.model, "backend": s.backend, "detector": s.detector, "temporal": s.temporal, "prior": s.prior,
                "compare": {"model": s.compare, "backend": s.compare_backend} if s.compare else None,
                "streams": list(self.streams.specs), "head_pose": s.head_pose,
                **self.session_details,
                "classifier": s.pipeline.classifier.describe(), "detector_info": s.pipeline.detector.describe(),
                "source_fps": src.fps if src else None}

    def _start_recording(self, folder: Path | None) -> Iterator:
        if self.recorder is not None:
            yield Notice(f"already recording to {self.recorder.folder}", "warning")
            return
        if self._feed is None:
            yield Notice("nothing to record: the source has ended or is not open; open a source first", "warning")
            return
        try:
            fps = self._feed.source.fps if self._feed else None
            self.recorder = SessionRecorder(folder or new_session_dir(), self.stack.pipeline.classifier.labels,
                                            self.recording_meta(), video_mode=self.record_video, video_fps=fps).open()
        except FerdeskError as e:
            if self.strict:
                raise
            yield Notice(str(e))
            return
        self._recording_since = time.monotonic()
        self.last_session = str(self.recorder.folder)
        self._dropped_at_record = self.frames_dropped
        self.recorder.mark_first_read()
        yield self.info()

    def _record(self, result: FrameResult, image: np.ndarray | None = None) -> Iterator:
        try:
            self.recorder.add(result, self.stack.model, self.stack.backend,
                              dropped_total=self.frames_dropped - self._dropped_at_record, image=image)
        except (OSError, LogError) as e:
            yield from self._recording_failed(e)

    def _recording_failed(self, error: Exception) -> Iterator:
        folder = str(self.recorder.folder)
        why = getattr(error, "strerror", None) or str(error)
        try:
            self.recorder.close(ended="interrupted", reason=f"write failed: {why}")
        except (OSError, LogError):
            pass
        self.recorder, self._recording_since = None, None
        message = f"recording stopped: cannot write to {folder} ({why}); the rows written before are kept"
        if self.strict:
            raise LogError(message)
        yield Notice(message)
        yield RecordingEnded(folder, "interrupted", f"write failed: {why}")
        yield self.info()

    def _close_recorder(self, ended: str, reason: str) -> tuple[str, Exception | None]:
        """End the open recording with its last counts; (its folder, the error closing it raised, if any)."""
        folder = str(self.recorder.folder)
        self.recorder.frames_dropped = self.frames_dropped - self._dropped_at_record
        self.recorder.meta["peak_rss_mb"] = round(peak_rss_mb(), 1)
        error = None
        try:
            self.recorder.close(ended=ended, reason=reason)
        except (OSError, LogError) as e:
            error = e
        self.recorder, self._recording_since = None, None
        return folder, error

    def _stop_recording(self, ended: str = "normally", reason: str = "recording stopped") -> Iterator:
        if self.recorder is None:
            return
        folder, error = self._close_recorder(ended, reason)
        if error is not None:
            yield Notice(f"recording to {folder} ended with an error: {error}")
        yield RecordingEnded(folder, ended, reason)
        yield self.info()

    def _marker(self, label: str, text: str, frame: int | None, time_s: float | None) -> Iterator:
        if self.recorder is None and not self.streams.open_streams:
            yield Notice("markers are written to a recording or a live output: start recording first (Ctrl+R)", "warning")
            return
        frame = self.last_frame if frame is None else frame
        time_s = self.last_time_s if time_s is None else time_s
        for problem in self.streams.marker(label, text, frame, time_s, time.time()):
            yield Notice(problem)
        if self.recorder is None:
            yield MarkerWritten(label, frame)
            return
        try:
            self.recorder.marker(frame, time_s, label, text)
        except OSError as e:
            yield from self._recording_failed(e)
            return
        yield MarkerWritten(label, frame)

    # -- dispatch --------------------------------------------------------------------------------
    def _apply(self, kind: str, arg) -> Iterator:
        if kind == "stack":
            yield from self._switch(arg)
        elif kind == "source":
            yield from self._open(arg)
        elif kind == "record":
            yield from self._start_recording(arg)
        elif kind == "stop_record":
            yield from self._stop_recording()
        elif kind == "marker":
            yield from self._marker(*arg)
        elif kind == "stream":
            yield from self._switch_stream(*arg)
        elif kind == "video":
            self.record_video = arg
        elif kind == "details":
            self.session_details = arg
            if self.recorder:   # the open recording keeps what it started with; the change is an event
                self.recorder.event("details", self.last_frame, **arg)

    # -- live output -----------------------------------------------------------------------------
    def _stream_meta(self) -> dict:
        s = self.stack
        return {"model": s.model, "backend": s.backend, "labels": s.pipeline.classifier.labels,
                "source": self.source_spec}

    def _switch_stream(self, spec: str, on: bool) -> Iterator:
        if not on:
            self.streams.close(spec)
        else:
            try:
                stream = self.streams.open(spec, self._stream_meta())
            except FerdeskError as e:
                if self.strict:
                    raise
                yield Notice(str(e))
            else:
                yield Notice(f"live output on: {stream.describe()}", "info")
        if self.recorder:
            self.recorder.event("stream", self.last_frame, stream=spec, on=spec in self.streams.specs)
        yield self.info()

    def _stream(self, result: FrameResult) -> Iterator:
        for problem in self.streams.send(result, self._stream_meta()):
            yield Notice(problem)
            yield self.info()

    def _shutdown(self) -> None:
        self._close_feed()
        self.streams.close()
        if self.recorder is not None:
            self._close_recorder(self.stop_ended, self.stop_reason)
