"""``ferdesk export``: a session's frames in py-feat (Fex) or OpenFace column names, or its video with the
log's boxes and labels drawn in."""
from __future__ import annotations

from pathlib import Path

from ferdesk.sessions import export


def add_arguments(p) -> None:
    p.add_argument("session", type=Path, help="a session folder (with frames.csv)")
    p.add_argument("--format", required=True, choices=["fex", "openface", "video"])
    p.add_argument("--out", type=Path, help="output file (default: SESSION/frames.<format>.csv, or SESSION/overlay.mp4 "
                                            "for video)")


def main(a) -> int:
    print(export(a.session, a.format, a.out))
    return 0
