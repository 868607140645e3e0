"""The stream interface and the one message format every protocol carries."""
from __future__ import annotations

from ferdesk.errors import StreamError
from ferdesk.registry import Registry
from ferdesk.types import FrameResult

#: the version of the JSON messages (``frame_message``, ``marker_message``); raised when a key changes meaning
SCHEMA_VERSION = 1


class Stream:
    """One live output. ``arg`` is what followed the colon in its spec (``ws:9000`` -> ``"9000"``)."""

    name = "?"

    def __init__(self, arg: str = ""):
        self.arg = arg

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return True, ""

    def open(self, meta: dict) -> None:
        raise NotImplementedError

    def send(self, result: FrameResult, meta: dict) -> None:
        """One processed frame. ``meta``: model, backend and labels as they are now."""
        raise NotImplementedError

    def marker(self, label: str, text: str, frame: int | None, time_s: float | None, wall_time: float) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        """Where a program finds it, in words."""
        return self.name

    def close(self) -> None:
        pass


streams: Registry[Stream] = Registry("stream")


def frame_message(result: FrameResult, meta: dict) -> dict:
    """The JSON message for one processed frame (docs/streaming.md)."""
    labels = list(meta["labels"])
    faces = []
    for f in result.faces:
        face = {"face_id": f.face_id, "box": [round(v, 1) for v in f.box], "score": round(f.score, 4),
                "label": f.label, "label_index": labels.index(f.label), "confidence": round(f.confidence, 4),
                "probs": [round(p, 4) for p in f.probs]}
        if f.compare is not None:
            b = f.compare
            face["compare"] = {"model": b.model, "backend": b.backend, "label": b.label,
                               "confidence": round(b.confidence, 4), "probs": [round(p, 4) for p in b.probs]}
        if f.pose is not None:
            p = f.pose
            face["pose"] = {"pitch": round(p.pitch, 2), "yaw": round(p.yaw, 2), "roll": round(p.roll, 2),
                            "eye_open_left": round(p.eye_open_left, 3), "eye_open_right": round(p.eye_open_right, 3)}
        faces.append(face)
    return {"type": "frame", "schema_version": SCHEMA_VERSION, "frame": result.frame_index,
            "time_s": round(result.time_s, 4), "wall_time": result.wall_time, "frame_size": list(result.frame_size),
            "model": meta.get("model"), "backend": meta.get("backend"), "labels": labels, "faces": faces}


def marker_message(label: str, text: str, frame: int | None, time_s: float | None, wall_time: float) -> dict:
    return {"type": "marker", "schema_version": SCHEMA_VERSION, "label": label, "text": text, "frame": frame,
            "time_s": time_s, "wall_time": wall_time}


def require(module: str, extra: str = "stream"):
    """Import an optional library, or raise StreamError saying how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise StreamError(f"the {module} library is not installed ({e}); pip install 'ferdesk[{extra}]'") from None
