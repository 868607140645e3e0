"""Frame sources, one module each, registered by name in ``sources``; ``open_source`` parses a source string."""
from __future__ import annotations

from pathlib import Path

from ferdesk.errors import SourceError
from ferdesk.sources.base import Source
from ferdesk.sources.registry import sources
from ferdesk.sources import camera, demo, images, video  # noqa: F401  (registration)
from ferdesk.sources.images import IMAGE_SUFFIXES


def make_source(spec: str, realtime: bool = False) -> Source:
    """Build (not open) the source a string names: ``camera:N``, ``demo``, ``default``, a file or a folder,
    or ``KIND:TARGET`` for any other registered source kind (plug-ins, and the fakes tests register).

    ``default`` is the first camera found, or the demo when there is none.
    """
    if spec == "default":
        found = sources.get("camera").discover()
        spec = found[0] if found else "demo"
    if spec == "demo":
        return sources.get("demo")("", realtime=True)
    if spec.startswith("camera:"):
        return sources.get("camera")(spec.split(":", 1)[1], realtime=True)
    kind, sep, target = spec.partition(":")
    if sep and kind in sources and kind not in ("images", "video"):
        cls = sources.get(kind)
        return cls(target, realtime=True if cls.live else realtime)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"no such file or folder: {spec} (sources: a path, camera:N, demo)")
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return sources.get("images")(spec, realtime=realtime)
    return sources.get("video")(spec, realtime=realtime)


__all__ = ["Source", "sources", "make_source"]
