"""How far smoothing over time could take a classifier on a composed clip, from a frame-only session log.

usage: python experiments/clip_smoothing_ceiling.py CLIP LOG [CLIP LOG ...]

CLIP is a ``make_clip.py`` output prefix (CLIP.json holds the ground truth), LOG the folder of a
``ferdesk run --source CLIP.mp4 --temporal off --log LOG`` session of it. Each pasted face is held for
10 frames; for the frames where it was detected (IoU >= 0.3, as ``ferdesk.benchmarks.clips`` scores)
this prints the accuracy of

- frame-only: each frame's own label (the clips benchmark's "acc (detected)");
- running mean: the mean of the face's probabilities over its frames so far (a causal smoother that
  knows, as no tracker does, exactly when the face began: its best case);
- hold mean: the mean over all of the face's frames, past and future (not causal: an upper reference);
- EMA (oracle start): ``--temporal ema``'s moving average started at the face's first frame (as the
  running mean: the best any restart rule could do for the EMA).

A temporal head sees the same frames as the running mean and cannot know where a face began, so its
gain over frame-only stays near or below the running mean's; a target above the hold mean's gain is
out of reach of any smoothing of this classifier's outputs.

``--by-track`` splits the held faces by what the tracker did: *fresh* ones start under a face id not seen
before the face appeared, *inherited* ones under an id an earlier face held (the new face overlapped the
old box, so only the temporal head's own restart can keep the two apart). Run it on the log of a
``--temporal on`` session as well: its frame-only column is then the head's accuracy on the same frames
(the tracker runs before the head, so the ids are the same).
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.temporal import EmaTemporal  # noqa: E402
from ferdesk.tracking import iou_matrix  # noqa: E402

ACCURACY_COLUMNS = ("frame-only", "running mean", "hold mean", "EMA (oracle start)")
HOLD_FRAMES = 10  # make_clip.py's default --hold: every pasted face stays this many frames


def held_faces(clip: Path, log: Path) -> tuple[list[np.ndarray], list[int], list[bool]]:
    """Per held face, its detected frames' probabilities (in frame order), its true class index, and
    whether it began under a face id that an earlier face held (see ``--by-track``)."""
    truth = json.loads(Path(f"{clip}.json").read_text())
    rows: dict[int, list] = {}
    with open(log / "frames.csv", newline="") as f:
        reader = csv.DictReader(f)
        prob_cols = [c for c in reader.fieldnames if c.startswith("p_")]
        for r in reader:
            rows.setdefault(int(r["frame"]), []).append(r)
    order = [f"p_{name}" for name in truth["classes"]]
    if sorted(order) != sorted(prob_cols):
        raise SystemExit(f"{log}: the log's classes {prob_cols} are not the clip's {truth['classes']}")
    first_seen: dict[str, int] = {}
    for index in sorted(rows):
        for r in rows[index]:
            first_seen.setdefault(r["face_id"], index)
    held: dict[tuple, list] = {}
    label: dict[tuple, int] = {}
    inherited: dict[tuple, bool] = {}
    for index, gt in enumerate(truth["frames"]):
        hold = index // HOLD_FRAMES
        found = rows.get(index, [])
        ious = iou_matrix([g["box"] for g in gt], [tuple(float(r[k]) for k in "xywh") for r in found])
        for gi, g in enumerate(gt):
            if found and ious[gi].max() >= 0.3:
                key = (g["index"], hold, gi)
                row = found[int(ious[gi].argmax())]
                held.setdefault(key, []).append([float(row[c]) for c in order])
                label[key] = g["label"]
                inherited.setdefault(key, first_seen[row["face_id"]] < hold * HOLD_FRAMES)
    return [np.array(v) for v in held.values()], list(label.values()), list(inherited.values())


def accuracies(faces: list[np.ndarray], labels: list[int]) -> dict[str, float]:
    hits = {"frame-only": 0, "running mean": 0, "hold mean": 0, "EMA (oracle start)": 0}
    n = 0
    for probs, y in zip(faces, labels):
        running = np.cumsum(probs, axis=0) / np.arange(1, len(probs) + 1)[:, None]
        ema = EmaTemporal()
        averaged = np.concatenate([ema.update((0,), p[None]) for p in probs])
        hits["EMA (oracle start)"] += int((averaged.argmax(1) == y).sum())
        hits["frame-only"] += int((probs.argmax(1) == y).sum())
        hits["running mean"] += int((running.argmax(1) == y).sum())
        hits["hold mean"] += len(probs) * int(probs.mean(0).argmax() == y)
        n += len(probs)
    return {k: v / max(n, 1) for k, v in hits.items()}


def cells(acc: dict[str, float]) -> str:
    return " | ".join(f"{acc[k]:.3f}" for k in ACCURACY_COLUMNS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pairs", nargs="+", help="CLIP LOG pairs")
    ap.add_argument("--by-track", action="store_true",
                    help="also split the held faces into fresh and inherited track ids, over all the pairs")
    a = ap.parse_args(argv)
    if len(a.pairs) % 2:
        ap.error("give CLIP LOG pairs")
    print("| clip | log | " + " | ".join(ACCURACY_COLUMNS) + " |")
    print("|---|---|" + "---|" * len(ACCURACY_COLUMNS))
    table = []
    groups: dict[bool, tuple[list, list]] = {False: ([], []), True: ([], [])}
    for clip, log in zip(a.pairs[::2], a.pairs[1::2]):
        faces, labels, inherited = held_faces(Path(clip), Path(log))
        acc = accuracies(faces, labels)
        table.append(acc)
        for face, y, old in zip(faces, labels, inherited):
            groups[old][0].append(face)
            groups[old][1].append(y)
        print(f"| {Path(clip).name} | {Path(log).name} | {cells(acc)} |")
    print("| mean | | " + " | ".join(f"{np.mean([t[k] for t in table]):.3f}" for k in table[0]) + " |")
    if a.by_track:
        total = sum(len(f) for f in groups[False][0] + groups[True][0])
        print("\n| track id | held faces | frames | " + " | ".join(ACCURACY_COLUMNS) + " |")
        print("|---|---|---|" + "---|" * len(ACCURACY_COLUMNS))
        for old, (faces, labels) in groups.items():
            frames = sum(len(f) for f in faces)
            print(f"| {'inherited' if old else 'fresh'} | {len(faces)} | {frames} ({frames / max(total, 1):.0%}) | "
                  f"{cells(accuracies(faces, labels))} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
