"""The session log: ``frames.csv`` (one row per face per processed frame) and ``session.json``.

Crash safety: rows collect in memory and go to disk as whole lines in one ``os.write`` on
an unbuffered descriptor at least every ``flush_interval`` seconds, so a process killed
with SIGKILL loses at most that interval and never leaves half a line. ``session.json`` is
rewritten atomically (temporary file + rename) at each flush, so it always parses.
"""
from __future__ import annotations

import csv
import io
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

from ferdesk import __version__
from ferdesk.errors import LogError
from ferdesk.sessions import sessions_root
from ferdesk.types import FrameResult

LEADING_COLUMNS = ["frame", "time_s", "wall_time", "face_id", "x", "y", "w", "h", "score", "label", "confidence"]
TRAILING_COLUMNS = ["model", "backend"]
#: the comparison classifier's answer (``ferdesk run --compare``), after every earlier column; empty without one
COMPARE_COLUMNS = ["b_model", "b_backend", "b_label", "b_confidence"]
#: head pose in degrees and eye openness (``--head-pose``, ``ferdesk.head_pose``), last; empty without it
POSE_COLUMNS = ["pitch", "yaw", "roll", "eye_open_left", "eye_open_right"]
MARKER_COLUMNS = ["frame", "time_s", "wall_time", "label", "text"]
SESSION_VERSION = 1


def iso_utc(t: float) -> str:
    return datetime.fromtimestamp(t, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_session_dir(root: Path | None = None) -> Path:
    """A new, empty session folder named by the time (``20261203-091513``), with ``-2``, ``-3``... when
    another session took that second; created here, so two runs never share one."""
    root = Path(root) if root else sessions_root()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for k in range(1, 10_000):
        folder = root / (stamp if k == 1 else f"{stamp}-{k}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
        except OSError as e:
            raise LogError(f"cannot create a session folder in {root}: {e.strerror or e}") from None
    raise LogError(f"no free session folder name in {root} for {stamp}")



def frames_columns(labels: tuple[str, ...] | list[str]) -> list[str]:
    return (LEADING_COLUMNS + [f"p_{label}" for label in labels] + TRAILING_COLUMNS
            + COMPARE_COLUMNS + [f"b_p_{label}" for label in labels] + POSE_COLUMNS)


class SessionRecorder:
    def __init__(self, folder: Path, labels: tuple[str, ...], meta: dict, flush_interval: float = 0.5,
                 video_mode: str = "off", video_fps: float | None = None):
        """``video_mode``: also store the frames in video.mp4 (``ferdesk.video_log``: clean, overlay or blur)."""
        self.folder = Path(folder)
        self.video_mode, self.video_fps = video_mode, video_fps
        self.video = None
        self.labels = tuple(labels)
        self.meta = dict(meta)  # source, model, backend, detector, ... as known at start
        self.flush_interval = flush_interval
        self._fd: int | None = None
        self._pending = io.StringIO()
        self._writer = csv.writer(self._pending, lineterminator="\n")
        self._last_flush = time.monotonic()
        self.frames_processed = 0
        self.faces_logged = 0
        self.frames_dropped = 0
        self.events: list[dict] = []
        self.markers = 0
        self._first_read: float | None = None
        self._last_result: float | None = None
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self.ended: str | None = None        # "normally" or "interrupted", once closed
        self.end_reason: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def open(self) -> "SessionRecorder":
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / "frames.csv"
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except FileExistsError:
            raise LogError(f"log folder {self.folder} already holds a session (frames.csv exists); choose a new folder") from None
        except OSError as e:
            raise LogError(f"cannot write the session log to {self.folder}: {e.strerror or e}") from None
        self._writer.writerow(frames_columns(self.labels))
        if self.video_mode != "off":
            from ferdesk.video_log import VideoLog

            self.video = VideoLog(self.folder, self.video_mode, self.video_fps)
        self.flush()
        return self

    def close(self, ended: str = "normally", reason: str = "") -> None:
        """End the session: ``ended`` says whether it ran to its end ("normally") or was cut short
        ("interrupted": a signal, a failed write), ``reason`` in words."""
        if self._fd is None:
            return
        self.stopped_at = time.time()
        self.ended, self.end_reason = ended, reason
        fd, self._fd = self._fd, None
        try:
            self._fd = fd
            if self.video is not None:
                self.video.close()
            self.flush()
            os.fsync(fd)
        finally:
            self._fd = None
            os.close(fd)

    def __enter__(self) -> "SessionRecorder":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing ---------------------------------------------------------------------------
    def mark_first_read(self, t: float | None = None) -> None:
        if self._first_read is None:
            self._first_read = t if t is not None else time.perf_counter()

    def marker(self, frame: int | None, time_s: float | None, label: str, text: str = "") -> None:
        """A user's marker (a keystroke in the app), appended to markers.csv at once."""
        path = self.folder / "markers.csv"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        if not path.exists():
            w.writerow(MARKER_COLUMNS)
        w.writerow(["" if frame is None else frame, "" if time_s is None else f"{time_s:.4f}", iso_utc(time.time()), label, text])
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, buf.getvalue().encode("utf-8"))
        finally:
            os.close(fd)
        self.markers += 1

    def event(self, kind: str, frame: int | None, **data) -> None:
        """A change during the session (model/backend/detector switch...), kept in session.json."""
        self.events.append({"event": kind, "frame": frame, "wall_time": iso_utc(time.time()), **data})

    def add(self, result: FrameResult, model: str, backend: str, dropped_total: int | None = None,
            image=None) -> None:
        """One processed frame's faces (and, when the video is recorded, ``image``, the frame itself)."""
        self.mark_first_read()
        if self.video is not None and image is not None:
            self.video.write(image, result)
        wall = iso_utc(result.wall_time)
        blank = [""] * (len(COMPARE_COLUMNS) + len(self.labels))
        no_pose = [""] * len(POSE_COLUMNS)
        for f in result.faces:
            x, y, w, h = f.box
            b = f.compare
            self._writer.writerow(
                [result.frame_index, f"{result.time_s:.4f}", wall, f.face_id, f"{x:.1f}", f"{y:.1f}", f"{w:.1f}", f"{h:.1f}",
                 f"{f.score:.4f}", f.label, f"{f.confidence:.4f}", *(f"{p:.4f}" for p in f.probs), model, backend,
                 *([b.model, b.backend, b.label, f"{b.confidence:.4f}", *(f"{p:.4f}" for p in b.probs)] if b else blank),
                 *([f"{f.pose.pitch:.2f}", f"{f.pose.yaw:.2f}", f"{f.pose.roll:.2f}", f"{f.pose.eye_open_left:.3f}",
                    f"{f.pose.eye_open_right:.3f}"] if f.pose else no_pose)]
            )
        self.frames_processed += 1
        self.faces_logged += len(result.faces)
        if dropped_total is not None:
            self.frames_dropped = dropped_total
        self._last_result = time.perf_counter()
        self.tick()

    def tick(self) -> None:
        """Flush when the interval has passed; call it on every frame, with or without faces."""
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def flush(self) -> None:
        if self._fd is None:
            return
        data = self._pending.getvalue()
        if data:
            end = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                written = os.write(self._fd, data.encode("utf-8"))
                if written != len(data.encode("utf-8")):
                    raise OSError(28, "short write (disk full?)")
            except OSError:
                try:  # never leave half a line: the rows before stay whole
                    os.ftruncate(self._fd, end)
                except OSError:
                    pass
                raise
            self._pending.seek(0)
            self._pending.truncate()
        if self.video is not None:
            self.video.flush()
        self._write_session_json()
        self._last_flush = time.monotonic()

    @property
    def processing_s(self) -> float:
        if self._first_read is None or self._last_result is None:
            return 0.0
        return self._last_result - self._first_read

    def summary(self) -> dict:
        return {
            "version": SESSION_VERSION,
            "ferdesk_version": __version__,
            "source": self.meta.get("source"),
            "model": self.meta.get("model"),
            "backend": self.meta.get("backend"),
            "detector": self.meta.get("detector"),
            "started_at": iso_utc(self.started_at),
            "stopped_at": iso_utc(self.stopped_at) if self.stopped_at else None,
            "ended": self.ended,
            "end_reason": self.end_reason,
            "frames_processed": self.frames_processed,
            "frames_dropped": self.frames_dropped,
            "processing_s": round(self.processing_s, 4),
            "faces_logged": self.faces_logged,
            "labels": list(self.labels),
            "columns": frames_columns(self.labels),
            "events": self.events,
            "markers": self.markers,
            "video": self.video.describe() if self.video is not None else None,
            **{k: v for k, v in self.meta.items() if k not in ("source", "model", "backend", "detector")},
        }

    def _write_session_json(self) -> None:
        tmp = self.folder / "session.json.tmp"
        tmp.write_text(json.dumps(self.summary(), indent=2))
        os.replace(tmp, self.folder / "session.json")
