"""The only Qt-aware core module: the window's worker, a QObject on a QThread around ``ferdesk.runner``.

It has no pipeline logic of its own: it loops over the same ``Runner`` as ``ferdesk run`` and turns each
event into a signal carrying plain frozen data. The UI sends requests (``request_*``, thread-safe) and
never touches a source, a model or the log.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ferdesk.errors import FerdeskError
from ferdesk.runner import (MarkerWritten, Notice, Processed, RecordingEnded, Runner, SourceEnded, SourceFailed,
                            SourceInfo, StackInfo)

DisplayResult = Processed   # what the window shows for one processed frame

__all__ = ["DisplayResult", "InferenceWorker", "SourceInfo", "StackInfo"]


class InferenceWorker(QObject):
    result = Signal(object)          # Processed
    stack_changed = Signal(object)   # StackInfo
    source_opened = Signal(object)   # SourceInfo
    source_ended = Signal(str)       # the source ran out of frames (end of a file or folder)
    source_failed = Signal(str)      # a source that stopped delivering (a live one is retried)
    marker_added = Signal(str)
    recording_ended = Signal(object)  # RecordingEnded
    error = Signal(str)              # a Notice of level error
    notice = Signal(str, str)        # (message, level) of every Notice
    finished = Signal()

    def __init__(self, source: str | None = None, model: str | None = None, backend: str | None = None,
                 detector: str | None = None, threads: int = 1, temporal: str | None = None, catalog=None,
                 record: Path | str | None = None, prior: str | None = None):
        super().__init__()
        # One thread per model: the stages already run in parallel, and more threads make ONNX Runtime's
        # spinning workers burn the CPU the UI needs.
        self.runner = Runner(source, model=model, backend=backend, detector=detector, temporal=temporal,
                             catalog=catalog, threads=threads, realtime=True, record=record, prior=prior)

    # -- requests from the UI thread (thread-safe) ----------------------------------------------
    def request_stack(self, **changes) -> None:
        self.runner.request_stack(**changes)

    def request_source(self, spec: str) -> None:
        self.runner.request_source(spec)

    def request_recording(self, folder: Path | None) -> None:
        self.runner.request_recording(folder)

    def request_stop_recording(self) -> None:
        self.runner.request_stop_recording()

    def request_marker(self, label: str, text: str = "", frame: int | None = None, time_s: float | None = None) -> None:
        self.runner.request_marker(label, text, frame, time_s)

    def request_session_details(self, details: dict) -> None:
        self.runner.request_session_details(details.get("participant"), details.get("condition"), details.get("note"))

    def request_record_video(self, mode: str) -> None:
        self.runner.request_record_video(mode)

    def request_stream(self, spec: str, on: bool) -> None:
        self.runner.request_stream(spec, on)

    def stop(self, reason: str = "window closed", ended: str = "normally") -> None:
        self.runner.stop(reason, ended)

    # -- worker thread ---------------------------------------------------------------------------
    @Slot()
    def run(self) -> None:
        try:
            for event in self.runner.events():
                if isinstance(event, Processed):
                    self.result.emit(event)
                elif isinstance(event, StackInfo):
                    self.stack_changed.emit(event)
                elif isinstance(event, SourceInfo):
                    self.source_opened.emit(event)
                elif isinstance(event, SourceEnded):
                    self.source_ended.emit(event.message)
                elif isinstance(event, SourceFailed):
                    self.source_failed.emit(event.message)
                elif isinstance(event, MarkerWritten):
                    self.marker_added.emit(event.label)
                elif isinstance(event, RecordingEnded):
                    self.recording_ended.emit(event)
                elif isinstance(event, Notice):
                    self.notice.emit(event.message, event.level)
                    if event.level == "error":
                        self.error.emit(event.message)
        except FerdeskError as e:  # the runner reports what it can as notices; this is what it could not
            self.error.emit(str(e))
            self.notice.emit(str(e), "error")
        except Exception as e:  # a bug must still leave a readable message in the window, not a silent pane
            message = f"processing stopped: {type(e).__name__}: {e} (restart ferdesk; please report this)"
            self.error.emit(message)
            self.notice.emit(message, "error")
        finally:
            self.finished.emit()
