"""``ferdesk export``: a session's frames in py-feat (Fex) or OpenFace column names."""
from __future__ import annotations

from pathlib import Path

from ferdesk.sessions import export


def add_arguments(p) -> None:
    p.add_argument("session", type=Path, help="a session folder (with frames.csv)")
    p.add_argument("--format", required=True, choices=["fex", "openface"])
    p.add_argument("--out", type=Path, help="output CSV (default: SESSION/frames.<format>.csv)")


def main(a) -> int:
    print(export(a.session, a.format, a.out))
    return 0
