"""Live output to other programs, one module per protocol, registered by name in ``streams``.

``ferdesk run --stream lsl|ws[:PORT]`` and the window's Stream menu open them; off by default. Each stream
gets every processed frame (``send``) and every marker (``marker``) from the runner's thread, and must not
block it: a program that reads slowly loses messages, never the run. The message content is one function,
``frame_message`` (its schema is documented in docs/streaming.md and versioned by ``SCHEMA_VERSION``).
"""
from __future__ import annotations

from ferdesk.streams.base import SCHEMA_VERSION, Stream, frame_message, marker_message, streams
from ferdesk.streams import lsl, websocket  # noqa: F401  (registration)

__all__ = ["SCHEMA_VERSION", "Stream", "StreamSet", "frame_message", "marker_message", "streams", "open_stream"]


def open_stream(spec: str, meta: dict) -> Stream:
    """Open the stream ``spec`` names (``lsl``, ``ws`` or ``ws:PORT``) for a run described by ``meta`` (model,
    labels, source). Raises StreamError naming the problem (a missing library, a port in use)."""
    kind, _, arg = spec.partition(":")
    stream = streams.get(kind)(arg)
    stream.open(meta)
    return stream


class StreamSet:
    """The streams a runner keeps open, by spec; one that fails is closed and reported, the others go on."""

    def __init__(self):
        self.open_streams: dict[str, Stream] = {}

    @property
    def specs(self) -> tuple[str, ...]:
        return tuple(self.open_streams)

    def open(self, spec: str, meta: dict) -> Stream:
        if spec in self.open_streams:
            return self.open_streams[spec]
        self.open_streams[spec] = stream = open_stream(spec, meta)
        return stream

    def close(self, spec: str | None = None) -> None:
        for key in [spec] if spec else list(self.open_streams):
            stream = self.open_streams.pop(key, None)
            if stream is not None:
                stream.close()

    def send(self, result, meta: dict) -> list[str]:
        """Hand a processed frame to every stream; returns what failed (those streams are closed)."""
        return self._each(lambda s: s.send(result, meta))

    def marker(self, label: str, text: str, frame, time_s, wall_time: float) -> list[str]:
        return self._each(lambda s: s.marker(label, text, frame, time_s, wall_time))

    def _each(self, call) -> list[str]:
        failed = []
        for spec, stream in list(self.open_streams.items()):
            try:
                call(stream)
            except Exception as e:   # a broken stream must not stop the run: say so and close it
                failed.append(f"stream {spec} stopped: {type(e).__name__}: {e}")
                self.close(spec)
        return failed
