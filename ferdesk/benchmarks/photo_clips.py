"""Compose test clips from labelled real photographs: one face at a time, each held, the next in its place.

usage: python -m ferdesk.benchmarks.photo_clips --images ../shared/data/realfaces/images \\
           --labels ../shared/data/realfaces/labels.csv --part report --out build/clips/report [--clips 4] \\
           [--faces 40] [--hold 30] [--seed 0]
       python -m ferdesk.benchmarks.clips build/clips/report-0 build/clips/report-1 ... --temporal off --temporal on

A webcam shows one person in one place whose expression changes, or another person taking the seat: the
case where a temporal head must let go of what it saw. Each clip (640x480, 30 fps) holds ``--faces``
photographs of the part, each for ``--hold`` frames (default 30, about a second) at the same place and
size: the head cut from the photograph (as ``ferdesk.benchmarks.scenes`` cuts it, face 150 to 230 px wide)
on a blurred face-free background, with a little motion (a few pixels, half a degree) and sensor noise
frame to frame, like a seated person. With ``--same-person`` each person's portraits follow one another, so
that most changes are of expression, not of person (LFW has many portraits of some people). Writes ``OUT-K.mp4`` and ``OUT-K.json`` (the ground truth: per frame
the face's box, label and photograph, in the format of ``../shared/bench/make_clip.py``, plus ``hold``), which
``python -m ferdesk.benchmarks.clips`` scores: recall, accuracy end to end, and flicker (label changes while
one photograph is held).
"""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import cv2
import numpy as np

from ferdesk.benchmarks.scenes import FER_CLASSES, SIZE, background, folder_backgrounds, head_cutout, \
    portraits_with_boxes, skimage_backgrounds
from ferdesk.errors import FerdeskError


def person_runs(persons: list[str], faces: int, rng: np.random.Generator) -> list[int]:
    """``faces`` portrait indices in runs of one person each (every person with two or more portraits, their
    portraits in a random order, the persons in a random order): the next face is mostly the same person with
    another expression, as when someone in front of a webcam changes expression."""
    by_person: dict[str, list[int]] = {}
    for i, p in enumerate(persons):
        by_person.setdefault(p, []).append(i)
    groups = [g for g in by_person.values() if len(g) >= 2]
    if not groups:
        raise FerdeskError("no person has two or more portraits in this part")
    out: list[int] = []
    while len(out) < faces:
        for k in rng.permutation(len(groups)):
            out += [groups[k][j] for j in rng.permutation(len(groups[k]))]
    return out[:faces]


def compose_clip(path: Path, portraits: list, labels: list[int], backgrounds: list, faces: int, hold: int,
                 rng: np.random.Generator, fps: float = 30.0, order: list[int] | None = None) -> dict:
    """Write one clip to ``path`` (.mp4) and return its ground truth; ``order``: the portraits to show (default:
    ``faces`` drawn at random)."""
    w, h = SIZE
    back = cv2.GaussianBlur(background(backgrounds[int(rng.integers(len(backgrounds)))], rng), (0, 0), 4).astype(np.float32)
    width = float(rng.uniform(150, 230))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, SIZE)
    if not writer.isOpened():
        raise FerdeskError(f"cannot write {path}")
    frames = []
    if order is None:
        order = rng.choice(len(portraits), size=faces, replace=len(portraits) < faces)
    for i in order:
        photo, box = portraits[int(i)]
        for t in range(hold):
            dx, dy = 3 * math.sin(t / 9 + i), 2 * math.sin(t / 7 + 2 * i)
            patch, alpha, (fx, fy, fw, fh) = head_cutout(photo, box, width * (1 + 0.01 * math.sin(t / 11)))
            n = patch.shape[0]
            x0, y0 = int(round(w / 2 - n / 2 + dx)), int(round(h / 2 - n / 2 + dy))
            frame = back.copy()
            a = alpha[..., None]
            sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x0 + n, w), min(y0 + n, h)
            frame[sy0:sy1, sx0:sx1] = (a * patch)[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] + \
                (1 - a[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]) * frame[sy0:sy1, sx0:sx1]
            frame += rng.normal(0, 2, frame.shape)
            writer.write(np.clip(frame, 0, 255).astype(np.uint8))
            frames.append([{"index": int(i), "box": [round(float(v), 2) for v in (x0 + fx, y0 + fy, fw, fh)], "label": labels[int(i)]}])
    writer.release()
    return {"classes": list(FER_CLASSES), "hold": hold, "frames": frames}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--part", choices=("all", "tune", "report"), default="report")
    ap.add_argument("--out", type=Path, required=True, help="prefix: writes OUT-0.mp4, OUT-0.json, ...")
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--faces", type=int, default=40, help="photographs per clip")
    ap.add_argument("--hold", type=int, default=30, help="frames each photograph is held")
    ap.add_argument("--same-person", action="store_true",
                    help="show each person's portraits one after another (a change of expression, not of person)")
    ap.add_argument("--backgrounds", type=Path, help="a folder of face-free photographs (default: scikit-image's)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    for p in (a.images, a.labels):
        if not p.exists():
            raise SystemExit(f"photo_clips: {p} not found")
    rng = np.random.default_rng(a.seed)
    backs = folder_backgrounds(a.backgrounds) if a.backgrounds else skimage_backgrounds()
    try:
        # runs of one person need every portrait of the part (a person's portraits are a handful among thousands)
        limit = 10 ** 6 if a.same_person else a.clips * a.faces
        found = portraits_with_boxes(a.images, a.labels, a.part, limit, rng, with_labels=True)
    except FerdeskError as e:
        raise SystemExit(f"photo_clips: {e}") from None
    if not found:
        raise SystemExit(f"photo_clips: no portrait in the {a.part} part with one clear face")
    portraits = [(im, box) for im, box, _, _ in found]
    labels = [FER_CLASSES.index(label) for _, _, label, _ in found]
    persons = [person for _, _, _, person in found]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    for k in range(a.clips):
        prefix = Path(f"{a.out}-{k}")
        try:
            order = person_runs(persons, a.faces, rng) if a.same_person else None
        except FerdeskError as e:
            raise SystemExit(f"photo_clips: {e}") from None
        truth = compose_clip(prefix.with_suffix(".mp4"), portraits, labels, backs, a.faces, a.hold, rng, order=order)
        truth["same_person"] = a.same_person
        prefix.with_suffix(".json").write_text(json.dumps(truth))
        print(f"wrote {prefix}.mp4 and {prefix}.json: {a.faces} photographs of the {a.part} part, {a.hold} frames each")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
