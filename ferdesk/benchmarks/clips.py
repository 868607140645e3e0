"""Side-by-side on clips from ``../shared/bench/make_clip.py``: ferdesk vs the ``fer`` package.

For each clip (OUT.mp4 + OUT.json), in one run and back to back:
  * ``ferdesk run --source OUT.mp4 --log ... --json`` for each detector asked for, then the
    log is scored against the ground truth (IoU >= 0.3, as peer_fer.py does);
  * ``peer_fer.py OUT`` under ``--peer-python`` (a venv with fer + tensorflow-cpu), when given.
Flicker: label changes per pasted face over the frames it is held (10 in make_clip.py; the truth's ``hold``
where it says, as ``ferdesk.benchmarks.photo_clips`` clips do). Also
counts boxes beyond the one real face over 300 frames of the demo source (a public-domain
portrait), a check on false faces in a real photo.

usage: python -m ferdesk.benchmarks.clips CLIP [CLIP ...] [--detector blazeface ...] [--model M]
           [--peer-python /path/to/venv/bin/python] [--bench-dir ../shared/bench]
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2

from ferdesk.catalog import Catalog
from ferdesk.detectors import load_detector
from ferdesk.sources.demo import DEMO_IMAGE, render_demo_frame
from ferdesk.tracking import iou_matrix

ROOT = Path(__file__).resolve().parents[2]


def score_log(log: Path, truth: dict) -> dict:
    rows: dict[int, list] = {}
    with open(log / "frames.csv", newline="") as f:
        for r in csv.DictReader(f):
            rows.setdefault(int(r["frame"]), []).append(r)
    names = truth["classes"]
    hold = int(truth.get("hold", 10))   # frames each face is held (make_clip.py: 10)
    tp = correct = n = 0
    held: dict[tuple, list[str]] = {}  # one pasted face over the frames it is held -> labels given
    for index, gt in enumerate(truth["frames"]):
        found = rows.get(index, [])
        boxes = [tuple(float(r[k]) for k in "xywh") for r in found]
        ious = iou_matrix([g["box"] for g in gt], boxes)
        for gi, g in enumerate(gt):
            n += 1
            if boxes and ious[gi].max() >= 0.3:
                tp += 1
                label = found[int(ious[gi].argmax())]["label"]
                correct += label == names[g["label"]]
                held.setdefault((g["index"], index // hold, gi), []).append(label)
    changes = [sum(a != b for a, b in zip(labels, labels[1:])) for labels in held.values()]
    return {"recall": tp / n, "acc_detected": correct / max(tp, 1), "e2e_acc": correct / n, "faces": n,
            "flicker": sum(changes) / max(len(changes), 1)}


def run_ferdesk(clip: Path, detector: str, model: str | None, temporal: str = "off") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ferdesk", "run", "--source", f"{clip}.mp4", "--detector", detector,
               "--log", f"{tmp}/log", "--json", "--temporal", temporal] + (["--model", model] if model else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        summary = json.loads(out.stdout)
        scores = score_log(Path(tmp) / "log", json.loads(Path(f"{clip}.json").read_text()))
    return {**summary, **scores}


def run_peer(clip: Path, python: str, bench_dir: Path) -> dict | None:
    out = subprocess.run([python, str(bench_dir / "peer_fer.py"), str(clip)], capture_output=True, text=True)
    m = re.search(r"fps=([\d.]+) recall=([\d.]+) acc_detected=([\d.]+) e2e_acc=([\d.]+)", out.stdout)
    if not m:
        print(f"peer failed on {clip}: {out.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    fps, recall, acc, e2e = map(float, m.groups())
    return {"fps": fps, "recall": recall, "acc_detected": acc, "e2e_acc": e2e}


def demo_extra_boxes(detector: str, frames: int = 300) -> int:
    det = load_detector(detector, Catalog.load())
    photo = cv2.imread(str(DEMO_IMAGE))
    return sum(max(0, len(det.detect(render_demo_frame(photo, i / 10))) - 1) for i in range(frames))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="+", type=Path, help="clip prefixes (OUT for OUT.mp4 + OUT.json)")
    ap.add_argument("--detector", action="append")
    ap.add_argument("--model")
    ap.add_argument("--temporal", action="append", help="off (default), ema; repeatable")
    ap.add_argument("--peer-python")
    ap.add_argument("--bench-dir", type=Path, default=ROOT.parent / "shared" / "bench")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    detectors = a.detector or ["blazeface"]
    rows = []
    for clip in a.clips:
        peer = run_peer(clip, a.peer_python, a.bench_dir) if a.peer_python else None
        for det, temporal in [(d, t) for d in detectors for t in (a.temporal or ["off"])]:
            r = run_ferdesk(clip, det, a.model, temporal)
            rows.append({"clip": clip.name, "detector": det, "temporal": temporal, "model": r["model"], "backend": r["backend"],
                         "fps": r["fps"], "peer_fps": peer["fps"] if peer else None,
                         "fps_ratio": r["fps"] / peer["fps"] if peer else None,
                         "recall": r["recall"], "peer_recall": peer["recall"] if peer else None,
                         "acc_detected": r["acc_detected"], "peer_acc_detected": peer["acc_detected"] if peer else None,
                         "e2e_acc": r["e2e_acc"], "peer_e2e_acc": peer["e2e_acc"] if peer else None,
                         "flicker": r["flicker"], "peak_rss_mb": r["peak_rss_mb"]})
    extra = {det: demo_extra_boxes(det) for det in detectors}
    if a.json:
        print(json.dumps({"rows": rows, "demo_extra_boxes_per_300_frames": extra}, indent=2))
        return 0
    f = lambda v, spec: "-" if v is None else format(v, spec)  # noqa: E731
    print("| clip | detector | temporal | model | FPS | fer FPS | ratio | recall | fer recall | acc (detected) | fer acc (detected) | e2e acc | fer e2e acc | flicker | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clip']} | {r['detector']} | {r['temporal']} | {r['model']} | {r['fps']:.1f} | {f(r['peer_fps'], '.1f')} | {f(r['fps_ratio'], '.1f')}x "
              f"| {r['recall']:.3f} | {f(r['peer_recall'], '.3f')} | {r['acc_detected']:.3f} | {f(r['peer_acc_detected'], '.3f')} "
              f"| {r['e2e_acc']:.3f} | {f(r['peer_e2e_acc'], '.3f')} | {r['flicker']:.2f} | {r['peak_rss_mb']:.0f} |")
    print()
    for det, n in extra.items():
        print(f"{det}: {n} boxes beyond the real face in 300 demo frames")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
