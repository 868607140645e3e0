"""A labelled folder of photographs (a ``file,label`` CSV beside an image folder), split by person.

Used by ``ferdesk eval --images`` to measure the whole path (detector, crop, classifier) on real photographs.
A split keeps every photograph of one person on one side, so that tuning on one part and reporting on the
other does not report faces that were tuned on: a name ending in an underscore and a number gives the person
(LFW's ``First_Last_0003.jpg``, and film stills numbered ``Name_12.jpg``); any other file is a person of its own. The part a person falls in comes from a hash of the name: stable
across machines, runs and file orders.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ferdesk.errors import FerdeskError

#: share of people held back for reporting (the "report" part); the rest is the "tune" part
REPORT_SHARE = 0.3
PARTS = ("all", "tune", "report")


@dataclass(frozen=True)
class LabelledPhoto:
    path: Path
    label: str
    person: str


def person_of(file_name: str) -> str:
    stem = Path(file_name).stem
    m = re.fullmatch(r"(.+)_\d+", stem)
    return m.group(1) if m else stem


def part_of(person: str, report_share: float = REPORT_SHARE) -> str:
    h = int(hashlib.sha1(person.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "report" if h < report_share else "tune"


def read_photo_set(images: Path, labels_csv: Path, classes: tuple[str, ...], part: str = "all") -> list[LabelledPhoto]:
    """The labelled photographs of ``part``; a clear error for a missing folder, an unreadable CSV, a CSV
    without ``file`` and ``label`` columns, an unknown label or a listed file that is not there."""
    if part not in PARTS:
        raise FerdeskError(f"unknown part {part!r} (one of {', '.join(PARTS)})")
    if not images.is_dir():
        raise FerdeskError(f"image folder not found: {images}")
    if not labels_csv.is_file():
        raise FerdeskError(f"labels file not found: {labels_csv}")
    try:
        with labels_csv.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise FerdeskError(f"cannot read {labels_csv}: {e}") from None
    if not rows or not {"file", "label"} <= set(rows[0]):
        raise FerdeskError(f"{labels_csv} needs a header with the columns file and label")
    out = []
    for n, row in enumerate(rows, start=2):
        label = (row["label"] or "").strip().lower()
        if label not in classes:
            raise FerdeskError(f"{labels_csv} line {n}: label {row['label']!r} is not one of {', '.join(classes)}")
        path = images / (row["file"] or "").strip()
        if not path.is_file():
            raise FerdeskError(f"{labels_csv} line {n}: {path} not found")
        photo = LabelledPhoto(path, label, person_of(path.name))
        if part == "all" or part_of(photo.person) == part:
            out.append(photo)
    if not out:
        raise FerdeskError(f"no photographs in the {part} part of {labels_csv}")
    return out
