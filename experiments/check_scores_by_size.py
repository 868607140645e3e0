"""The face check's presence score on every box the default detector sends it, true and false, by box width.

usage: python experiments/check_scores_by_size.py --images ../shared/data/realfaces/images \\
           --labels ../shared/data/realfaces/labels.csv --part tune [--json build/check-scores-tune.json]

Composes the scenes of ``ferdesk.benchmarks.scenes`` (the same seed, portraits and backgrounds) and runs its demo
frames; each box the detector checks is recorded with its presence score and counted true when it overlaps a
composed face (IoU 0.4; the demo portrait's face: 0.3, as the benchmark counts). Prints, per width band, how many
true and false boxes each threshold would keep: the basis of the catalog's ``min_small_face_score`` and
``small_face_px`` (experiments/real-photos.md, "Finding faces").
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.benchmarks import scenes as S  # noqa: E402
from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.tracking import iou_matrix  # noqa: E402

BANDS = [(0, 24), (24, 32), (32, 48), (48, 96), (96, 10_000)]
THRESHOLDS = (0.7, 0.8, 0.9, 0.95, 0.98)


def checked_boxes(det, image) -> list[tuple]:
    """(x, y, w, h, presence) of each box the detector's face check scores on this image."""
    calls = []
    score = det.check.score

    def recorded(im, f):
        p = score(im, f)
        calls.append((f.cx - f.w / 2, f.cy - f.h / 2, float(f.w), float(f.h), p))
        return p

    det.check.score = recorded
    try:
        det.detect_raw(image)
    finally:
        det.check.score = score
    return calls


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--part", choices=("all", "tune", "report"), default="tune")
    ap.add_argument("--detector", default="blazeface")
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--demo-frames", type=int, default=1200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    rng = np.random.default_rng(a.seed)
    portraits = S.portraits_with_boxes(a.images, a.labels, a.part, 300, rng)
    backs = S.skimage_backgrounds()
    scenes = [S.compose(backs, portraits, rng) for _ in range(a.scenes)]
    det = S.load_detector(a.detector, Catalog.load(), threads=2)
    rows = []
    for scene in scenes:
        det.reset(new_scene=True)
        for x, y, w, h, p in checked_boxes(det, scene.image):
            best = iou_matrix([(x, y, w, h)], scene.faces)[0].max() if scene.faces else 0.0
            rows.append({"on": "scenes", "width": w, "presence": float(p), "true": bool(best >= 0.4)})
    for image, face in S.demo_frames(det, a.demo_frames):
        for bx, by, bw, bh, p in checked_boxes(det, image):
            best = iou_matrix([(bx, by, bw, bh)], [face])[0].max()
            rows.append({"on": "demo", "width": bw, "presence": float(p), "true": bool(best >= 0.3)})
    if a.json:
        a.json.write_text(json.dumps(rows))
    print(f"# {a.detector}, {a.part} part, {a.scenes} scenes and {a.demo_frames} demo frames (seed {a.seed}): "
          "boxes checked, and how many each threshold keeps (true / false)")
    for on in ("scenes", "demo"):
        for lo, hi in BANDS:
            band = [r for r in rows if r["on"] == on and lo <= r["width"] < hi]
            t = [r["presence"] for r in band if r["true"]]
            f = [r["presence"] for r in band if not r["true"]]
            keep = "  ".join(f"{th}: {sum(p >= th for p in t)} / {sum(p >= th for p in f)}" for th in THRESHOLDS)
            width = f"{lo}-{hi - 1}" if hi < 10_000 else f"{lo}+"
            print(f"{on:6} {width:>7} px  checked {len(t)} true, {len(f)} false   keeps  {keep}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
