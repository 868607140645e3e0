"""The frame source interface.

A source opens, yields ``Frame``s until it ends (``read()`` returns None), and closes.
``live`` sources (cameras, the demo) hand out only the newest frame and count the ones
the consumer never saw as dropped; file sources hand out every frame unless paced
in real time, where frames that fall behind the media clock are skipped (and counted).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

from ferdesk.types import Frame


class Source(ABC):
    name: str = ""
    live: bool = False

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return True, ""

    @classmethod
    def discover(cls) -> list[str]:
        """Source strings this kind can open right now (e.g. ``camera:0``); empty when not applicable."""
        return []

    def __init__(self, target: str, realtime: bool = False):
        self.target = target
        self.realtime = realtime
        self.dropped = 0
        # Sources that pace themselves (live, or files in real time) report what producing
        # the last frame cost, without the wait for it; None: the caller times read() itself.
        self.last_read_ms: float | None = None

    @abstractmethod
    def open(self) -> None:
        """Open the source or raise SourceError with a one-line reason."""

    @abstractmethod
    def read(self) -> Frame | None:
        """The next frame, or None when the source has ended."""

    def close(self) -> None:
        pass

    @property
    def fps(self) -> float | None:
        """Nominal frame rate, when the source has one."""
        return None

    @property
    def frame_count(self) -> int | None:
        """Number of frames, when known in advance."""
        return None

    def describe(self) -> str:
        return f"{self.name}:{self.target}" if self.target else self.name

    def __enter__(self) -> "Source":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
