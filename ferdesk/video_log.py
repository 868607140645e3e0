"""A recording's video (off by default): the processed frames into ``video.mp4`` in the session folder. No Qt.

Modes: ``clean`` (the frames as the camera gave them), ``overlay`` (with each face's box, id and label drawn
in), ``blur`` (each face found blurred beyond recognition, for sharing a session without showing who was in
it). The file is MPEG-4 (OpenCV's ``mp4v``) at the source's frame rate (30 when a source does not say);
``video_frames.csv`` maps each video frame to the source frame and media time it shows, which is how the
Viewer and ``ferdesk export --format video`` find a frame's rows in ``frames.csv`` (frames dropped by a live
source are not in the video). Frames of another size than the first (another source opened during the
recording) are scaled to it.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import cv2
import numpy as np

from ferdesk.errors import LogError

VIDEO_MODES = ("off", "clean", "overlay", "blur")
VIDEO_FILE, INDEX_FILE = "video.mp4", "video_frames.csv"
INDEX_COLUMNS = ["video_frame", "frame", "time_s"]
COLOURS_BGR = {"angry": (53, 57, 229), "disgust": (71, 179, 124), "fear": (170, 36, 142), "happy": (53, 216, 253),
               "sad": (229, 136, 30), "surprise": (0, 140, 251), "neutral": (158, 158, 158)}


def draw_faces(image: np.ndarray, faces) -> np.ndarray:
    """``image`` (BGR) with a box, id, label and confidence per face; ``faces``: objects or dicts with
    ``face_id``, ``box`` (x, y, w, h), ``label`` and ``confidence``."""
    out = image.copy()
    for f in faces:
        get = f.get if isinstance(f, dict) else lambda k, f=f: getattr(f, k)
        x, y, w, h = (int(round(v)) for v in get("box"))
        colour = COLOURS_BGR.get(get("label"), (166, 166, 38))
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
        text = f"#{get('face_id')} {get('label')} {get('confidence'):.0%}"
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.5, 1)
        top = max(0, y - th - base - 4)
        cv2.rectangle(out, (x, top), (x + tw + 6, top + th + base + 4), colour, -1)
        cv2.putText(out, text, (x + 3, top + th + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return out


def blur_faces(image: np.ndarray, faces) -> np.ndarray:
    """``image`` with every face's box (a little enlarged) blurred beyond recognition."""
    out = image.copy()
    height, width = out.shape[:2]
    for f in faces:
        x, y, w, h = f.box
        x0, y0 = max(0, int(x - 0.1 * w)), max(0, int(y - 0.1 * h))
        x1, y1 = min(width, int(x + 1.1 * w)), min(height, int(y + 1.1 * h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        small = cv2.resize(region, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), interpolation=cv2.INTER_AREA)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR),
                                             (0, 0), max(1.0, (x1 - x0) / 20))
    return out


class VideoLog:
    def __init__(self, folder: Path, mode: str, fps: float | None):
        if mode not in VIDEO_MODES or mode == "off":
            raise LogError(f"video mode {mode!r}: give one of {', '.join(m for m in VIDEO_MODES if m != 'off')}")
        self.folder, self.mode = Path(folder), mode
        self.fps = float(fps) if fps and 1 <= fps <= 240 else 30.0
        self.size: tuple[int, int] | None = None
        self.frames = 0
        self._writer = None
        self._index = io.StringIO()
        self._rows = csv.writer(self._index, lineterminator="\n")
        self._rows.writerow(INDEX_COLUMNS)

    def write(self, image: np.ndarray, result) -> None:
        if self._writer is None:
            h, w = image.shape[:2]
            self.size = (w, h)
            path = self.folder / VIDEO_FILE
            self._writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, self.size)
            if not self._writer.isOpened():
                self._writer = None
                raise LogError(f"cannot write the session's video {path}: OpenCV has no MPEG-4 writer here")
        if self.mode == "overlay":
            image = draw_faces(image, result.faces)
        elif self.mode == "blur":
            image = blur_faces(image, result.faces)
        if (image.shape[1], image.shape[0]) != self.size:
            image = cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
        self._writer.write(np.ascontiguousarray(image))
        self._rows.writerow([self.frames, result.frame_index, f"{result.time_s:.4f}"])
        self.frames += 1

    def flush(self) -> None:
        """Append the index rows written since the last flush (whole lines, one write)."""
        data = self._index.getvalue()
        if not data:
            return
        fd = os.open(self.folder / INDEX_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, data.encode())
        finally:
            os.close(fd)
        self._index.seek(0)
        self._index.truncate()

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.release()
            self._writer = None

    def describe(self) -> dict:
        return {"file": VIDEO_FILE, "index": INDEX_FILE, "mode": self.mode, "fps": self.fps, "frames": self.frames,
                "size": list(self.size) if self.size else None}
