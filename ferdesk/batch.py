"""Batch work: several sources, one session each, resumable. No Qt.

``ferdesk run --source a.mp4 --source b.mp4 --log DIR`` (or ``--source FOLDER`` holding videos) records
each source into ``DIR/<its name>``. Running the same command again skips every source whose session ended
normally and redoes the others; an unfinished session is set aside (``<name>.interrupted``, then
``.interrupted-2``...), never overwritten. The window's batch queue plans its work the same way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ferdesk.errors import FerdeskError
from ferdesk.sources.images import IMAGE_SUFFIXES
from ferdesk.sources.video import VIDEO_SUFFIXES


@dataclass(frozen=True)
class BatchItem:
    source: str
    folder: Path          # its session
    done: bool            # a session that ended normally is there already


def batch_sources(specs: list[str]) -> list[str] | None:
    """The sources of a batch, or None for a single run: several ``--source``, or one folder that holds videos
    (and no images: a folder of images stays one source, its pictures in turn)."""
    if len(specs) > 1:
        return list(specs)
    path = Path(specs[0]) if specs else None
    if path is None or not path.is_dir():
        return None
    files = sorted(p for p in path.iterdir() if p.is_file())
    videos = [str(p) for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    return videos if videos and not images else None


def session_finished(folder: Path) -> bool:
    try:
        meta = json.loads((folder / "session.json").read_text())
    except (OSError, ValueError):
        return False
    return meta.get("ended") == "normally" and meta.get("stopped_at") is not None and (folder / "frames.csv").exists()


def plan(sources: list[str], root: Path) -> list[BatchItem]:
    """One session folder per source under ``root``, named after the source (``-2``, ``-3``... for a name
    taken twice), and whether it is done already."""
    names: dict[str, int] = {}
    items = []
    for spec in sources:
        stem = Path(spec).stem if not spec.startswith(("camera:", "demo")) else spec.replace(":", "-")
        names[stem] = names.get(stem, 0) + 1
        name = stem if names[stem] == 1 else f"{stem}-{names[stem]}"
        folder = Path(root) / name
        items.append(BatchItem(spec, folder, session_finished(folder)))
    return items


def frame_count(source: str) -> int | None:
    """How many frames a source has, when it says (for progress bars); None when not known or not readable
    (the run itself then says what is wrong with it)."""
    from ferdesk.sources import make_source

    try:
        src = make_source(source)
        src.open()
        try:
            return src.frame_count
        finally:
            src.close()
    except FerdeskError:
        return None


def set_aside(folder: Path) -> Path | None:
    """Move an unfinished session out of the way (kept, renamed); None when there is nothing there."""
    if not folder.exists():
        return None
    k = 1
    while True:
        target = folder.with_name(f"{folder.name}.interrupted" + ("" if k == 1 else f"-{k}"))
        if not target.exists():
            break
        k += 1
    try:
        folder.rename(target)
    except OSError as e:
        raise FerdeskError(f"cannot set the unfinished session {folder} aside: {e.strerror or e}") from None
    return target
