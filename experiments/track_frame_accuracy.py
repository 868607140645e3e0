"""How often a frame classifier is right on synthetic tracks of Training faces against PublicTest faces.

usage: python experiments/track_frame_accuracy.py --model fernet-sm-kd2-pruned-int8 [--disturbance 1 2 2.5]
           [--faces 2000] [--frames 4] [--data ../shared/data]

A temporal head is trained on tracks synthesised from FER2013 Training faces
(``ferdesk.training.sequences``), then used on faces the network has never seen. When the network
has learnt its Training faces much better than it does new faces, the head learns to trust single
frames. This prints, for each ``--disturbance`` (``TrackStyle.scaled``, as
``train_temporal --train-disturbance`` uses it), the share of frames the bundled file classifies
correctly on tracks of ``--faces`` random Training faces and of as many PublicTest faces (seeded),
so the gap can be compared between networks and disturbances in a minute instead of a training run.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.training.catalogs import repo_catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402
from ferdesk.training.sequences import TrackStyle, synthesise_tracks  # noqa: E402


def frame_accuracy(clf: Classifier, images: np.ndarray, labels: np.ndarray, frames: int, style: TrackStyle,
                   seed: int) -> float:
    crops, per_frame = synthesise_tracks(images, labels, frames, seed, splice=0.0, style=style)
    probs = clf.classify(crops.reshape(-1, *crops.shape[2:]))
    return float((probs.argmax(1) == per_frame.reshape(-1)).mean())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, action="append", help="a classifier with a file (repeatable)")
    ap.add_argument("--disturbance", type=float, nargs="+", default=[1.0])
    ap.add_argument("--faces", type=int, default=2000)
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    a = ap.parse_args(argv)
    splits = {}
    for split in ("training", "publictest"):
        d = np.load(a.data / f"fer2013_{split}.npz")
        pick = np.random.default_rng(0).choice(len(d["labels"]), a.faces, replace=False)
        splits[split] = d["images"][pick], d["labels"][pick]
    catalog = repo_catalog(ROOT / "models")
    print("| model | disturbance | Training-face tracks | PublicTest-face tracks | gap (points) |")
    print("|---|---|---|---|---|")
    for name in a.model:
        clf = Classifier(catalog.get(name), backend="onnxruntime", threads=1)
        for k in a.disturbance:
            acc = {split: frame_accuracy(clf, *faces, a.frames, TrackStyle().scaled(k), seed=7)
                   for split, faces in splits.items()}
            print(f"| {name} | {k:g} | {acc['training']:.1%} | {acc['publictest']:.1%} | "
                  f"{100 * (acc['training'] - acc['publictest']):.1f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
