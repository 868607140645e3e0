"""The face sets a network was trained on beside FER2013 (``--extra FILE.npz``), named as catalog entries name them.

``train_classifier`` and ``train_temporal`` take extra faces (crops of real photographs, CK+'s posed faces) with
``--extra``; the entry a trained network gets must then say so in its ``dataset`` and ``license``, since those sets
carry their own terms. ``ferdesk.training.export`` reads them from the training summary's ``command:`` line, so an
entry made from that summary cannot claim FER2013 alone.
"""
from __future__ import annotations

import shlex
from pathlib import Path

FER2013_TRAINING = "FER2013 Training (28,709 faces, 7 classes)"


def extra_source(path: Path) -> str:
    """What an ``--extra`` file's crops were cut from, with its terms, for a licence line."""
    path = Path(path)
    if path.name.startswith("ckplus"):
        return "CK+ (posed faces, research use)"
    if path.name.startswith("realfaces"):
        return "real photographs (realfaces: LFW, research use)"
    return f"{path.name} (see its source's terms)"


def extras_in_summary(summary: str) -> tuple[list[Path], int]:
    """The ``--extra`` files and ``--extra-repeat`` of the ``command:`` line of a training summary (none: ``[], 1``)."""
    command = next((line.removeprefix("command: ") for line in summary.splitlines() if line.startswith("command: ")), "")
    words = shlex.split(command)
    extras, repeat = [], 1
    for k, word in enumerate(words):
        flag, _, inline = word.partition("=")
        value = inline or (words[k + 1] if k + 1 < len(words) else "")
        if flag == "--extra" and value:
            extras.append(Path(value))
        elif flag == "--extra-repeat" and value:
            repeat = int(value)
    return extras, repeat


def dataset_text(extras: list[Path], repeat: int) -> str:
    """The catalog's ``dataset`` for FER2013 Training plus ``extras`` (each ``repeat`` times an epoch)."""
    if not extras:
        return FER2013_TRAINING
    names = " and ".join(f"{p.name} ({extra_source(p)})" for p in extras)
    return f"{FER2013_TRAINING} and the crops of {names}, {repeat} time{'s' if repeat != 1 else ''} an epoch"


def license_text(extras: list[Path]) -> str:
    """The catalog's ``license`` of weights this repository trained on FER2013 plus ``extras``."""
    if not extras:
        return "MIT (weights trained by this repo); trained on FER2013, a research data set: for research and demonstration"
    return ("MIT (weights trained by this repo); trained on FER2013 and on crops of "
            + " and of ".join(dict.fromkeys(extra_source(p) for p in extras)) + ": for research and demonstration")
