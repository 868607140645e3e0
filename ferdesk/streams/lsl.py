"""Lab Streaming Layer outlets (``--stream lsl``), with ``pylsl`` (the ``stream`` extra).

Two outlets, found on the network by name as any LSL stream is (LabRecorder, pylsl's ``resolve_byprop``):

- ``ferdesk-faces`` (type ``Expressions``): float32 channels ``face_id, x, y, w, h, label_index, confidence``
  then ``p_<label>`` per class; one sample per face of each processed frame, all stamped with the frame's
  capture time on the LSL clock. The stream's description lists the channels, the labels and the model.
- ``ferdesk-markers`` (type ``Markers``): one string channel; each marker as its label, or ``label: text``.
"""
from __future__ import annotations

import os
import time

from ferdesk.errors import StreamError
from ferdesk.streams.base import Stream, require, streams
from ferdesk.types import FrameResult

LEADING_CHANNELS = ["face_id", "x", "y", "w", "h", "label_index", "confidence"]


def face_channels(labels) -> list[str]:
    return LEADING_CHANNELS + [f"p_{label}" for label in labels]


@streams.register("lsl")
class LslStream(Stream):
    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import pylsl  # noqa: F401
        except ImportError as e:
            return False, f"pylsl is not installed ({e}); pip install 'ferdesk[stream]'"
        except RuntimeError as e:   # the liblsl shared library cannot be loaded
            return False, f"liblsl cannot be loaded ({e})"
        return True, ""

    def open(self, meta: dict) -> None:
        if self.arg:
            raise StreamError(f"stream 'lsl:{self.arg}': LSL takes no argument (its outlets are found by name)")
        try:
            pylsl = require("pylsl")
        except RuntimeError as e:
            raise StreamError(f"liblsl cannot be loaded ({e})") from None
        self.pylsl = pylsl
        self.labels = list(meta["labels"])
        channels = face_channels(self.labels)
        pid = os.getpid()
        info = pylsl.StreamInfo("ferdesk-faces", "Expressions", len(channels), pylsl.IRREGULAR_RATE,
                                pylsl.cf_float32, f"ferdesk-faces-{pid}")
        desc = info.desc()
        desc.append_child_value("model", str(meta.get("model")))
        desc.append_child_value("source", str(meta.get("source")))
        desc.append_child_value("schema_version", "1")
        chans = desc.append_child("channels")
        for name in channels:
            chans.append_child("channel").append_child_value("label", name)
        labels = desc.append_child("labels")
        for k, label in enumerate(self.labels):
            labels.append_child("label").append_child_value("index", str(k)).append_child_value("name", label)
        markers = pylsl.StreamInfo("ferdesk-markers", "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string,
                                   f"ferdesk-markers-{pid}")
        self.faces_outlet = pylsl.StreamOutlet(info)
        self.markers_outlet = pylsl.StreamOutlet(markers)

    def _lsl_time(self, wall_time: float) -> float:
        """A wall-clock time on the LSL clock (``local_clock``, seconds since an arbitrary start)."""
        return self.pylsl.local_clock() - (time.time() - wall_time)

    def send(self, result: FrameResult, meta: dict) -> None:
        if list(meta["labels"]) != self.labels:
            return   # a model with other classes than the outlet announced: nothing that would mislead
        stamp = self._lsl_time(result.wall_time)
        for f in result.faces:
            self.faces_outlet.push_sample([float(f.face_id), *f.box, float(self.labels.index(f.label)), f.confidence,
                                           *f.probs], stamp)

    def marker(self, label: str, text: str, frame: int | None, time_s: float | None, wall_time: float) -> None:
        self.markers_outlet.push_sample([f"{label}: {text}" if text else label], self._lsl_time(wall_time))

    def describe(self) -> str:
        return "LSL outlets ferdesk-faces and ferdesk-markers"

    def close(self) -> None:
        self.faces_outlet = self.markers_outlet = None
