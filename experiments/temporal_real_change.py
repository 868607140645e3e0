"""Temporal heads on real change: frame-only, EMA and the TT-LSTM head on clips of real photographs.

usage: python experiments/temporal_real_change.py build/clips/tune-0 build/clips/tune-1 ... [--cache build/clips]
           [--new-face-below 0.69 0.8 0.9] [--change-after 0 3]

The clips come from ``python -m ferdesk.benchmarks.photo_clips`` (one photograph held in place ~1 s, the next in
its place). Each clip is run once through the live path (default detector, tracker, crop, default classifier),
keeping every frame's probabilities and features of the face that matches the truth (cached as CLIP.feats.npz);
then the temporal rules are replayed on those frames, causally, one track: frame-only, EMA (alpha 0.4), EMA
restarted by the head's new-face rule, and the default TT-LSTM head with its new-face threshold at each
``--new-face-below``, and with a label-change rule (``--change-after K``: the window starts again when the
frame-only label has differed from the head's for K frames in a row; 0: off). Prints per-frame accuracy (of
frames where the face was found) and flicker (label changes per held photograph), as
``ferdesk.benchmarks.clips`` counts them.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402
from ferdesk.detectors import load_detector  # noqa: E402
from ferdesk.pipeline import Pipeline  # noqa: E402
from ferdesk.temporal import LearnedTemporal, cosine  # noqa: E402
from ferdesk.tracking import iou_matrix  # noqa: E402
from ferdesk.types import Frame  # noqa: E402


def clip_frames(prefix: Path, cache: Path) -> dict:
    """Per frame: truth label, photograph index, and (probs, features) of the matched face or None."""
    out = cache / f"{prefix.name}.feats.npz"
    truth = json.loads(prefix.with_suffix(".json").read_text())
    if out.is_file():
        d = np.load(out)
        return {"labels": d["labels"], "photo": d["photo"], "found": d["found"], "probs": d["probs"], "feats": d["feats"],
                "hold": int(truth.get("hold", 10))}
    catalog = Catalog.load()
    pipe = Pipeline(load_detector(catalog.default("detector").name, catalog), Classifier(catalog.default("classifier")))
    video = cv2.VideoCapture(str(prefix.with_suffix(".mp4")))
    labels, photo, found, probs, feats = [], [], [], [], []
    k = 0
    while True:
        ok, image = video.read()
        if not ok:
            break
        g = truth["frames"][k][0]
        located = pipe.locate(Frame(image, k, k / 30, 0.0))
        p, f = pipe.classifier.classify_with_features(located.crops)
        boxes = [d.box for d in located.detections]
        hit = iou_matrix([g["box"]], boxes)[0] if boxes else np.zeros(0)
        j = int(hit.argmax()) if boxes and hit.max() >= 0.3 else -1
        labels.append(g["label"])
        photo.append(g["index"] * 100000 + k // int(truth.get("hold", 10)))
        found.append(j >= 0)
        probs.append(p[j] if j >= 0 else np.zeros(p.shape[1] if p.ndim == 2 else 7, np.float32))
        feats.append(f[j] if j >= 0 else np.zeros(pipe.classifier.feature_size, np.float32))
        k += 1
    d = {"labels": np.array(labels), "photo": np.array(photo), "found": np.array(found), "probs": np.array(probs),
         "feats": np.array(feats)}
    cache.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **d)
    return {**d, "hold": int(truth.get("hold", 10))}


def score(pred: np.ndarray, d: dict) -> tuple[float, float]:
    m = d["found"]
    acc = float((pred[m] == d["labels"][m]).mean())
    changes, held = 0, 0
    for ph in np.unique(d["photo"][m]):
        lab = pred[m & (d["photo"] == ph)]
        changes += int((lab[1:] != lab[:-1]).sum())
        held += 1
    return acc, changes / max(held, 1)


def replay(d: dict, step) -> np.ndarray:
    """Run ``step(probs, feats, lost)`` frame by frame; a frame without the face counts as the track lost."""
    out = np.zeros(len(d["labels"]), int)
    for k in range(len(out)):
        out[k] = int(np.argmax(step(d["probs"][k], d["feats"][k], not d["found"][k])))
    return out


def ema(d: dict, restart_below: float | None = None, window: int = 16, alpha: float = 0.4) -> np.ndarray:
    state = {"p": None, "recent": deque(maxlen=window)}

    def step(p, f, lost):
        if lost:
            state["p"] = None
            state["recent"].clear()
            return p
        if restart_below is not None and state["recent"] and cosine(np.mean(state["recent"], 0), f) < restart_below:
            state["p"] = None
            state["recent"].clear()
        state["recent"].append(f)
        state["p"] = p if state["p"] is None else alpha * p + (1 - alpha) * state["p"]
        return state["p"]
    return replay(d, step)


def head(d: dict, new_face_below: float | None, change_after: int, name: str | None = None) -> np.ndarray:
    catalog = Catalog.load(packs=[ROOT / "models"])
    spec = catalog.get(name) if name else catalog.default("temporal")
    h = LearnedTemporal(spec, new_face_below=spec.get("new_face_below") if new_face_below is None else new_face_below)
    state = {"id": 1, "disagree": 0}

    def step(p, f, lost):
        if lost:
            state["id"] += 1            # the track ends; a new one starts when the face is back
            state["disagree"] = 0
            return p
        out = h.update((state["id"],), p[None], f[None])[0]
        if change_after:
            state["disagree"] = state["disagree"] + 1 if int(np.argmax(out)) != int(np.argmax(p)) else 0
            if state["disagree"] >= change_after:
                h.reset()
                state["disagree"] = 0
                out = h.update((state["id"],), p[None], f[None])[0]
        return out
    return replay(d, step)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clips", nargs="+", type=Path)
    ap.add_argument("--cache", type=Path, default=ROOT / "build" / "clips")
    ap.add_argument("--new-face-below", type=float, nargs="+")
    ap.add_argument("--change-after", type=int, nargs="+", default=[0])
    ap.add_argument("--head", action="append", help="a temporal model of the catalog or the zoo (default: the default one)")
    a = ap.parse_args(argv)
    data = [clip_frames(c, a.cache) for c in a.clips]
    default_below = Catalog.load().default("temporal").get("new_face_below")   # the EMA restart uses the default head's
    rows = [("frame-only", lambda d: replay(d, lambda p, f, lost: p)),
            ("ema", lambda d: ema(d)),
            (f"ema, restart below {default_below}", lambda d: ema(d, default_below))]
    for name in a.head or [None]:
        for below in a.new_face_below or [None]:
            for k in a.change_after:
                rows.append((f"{name or 'default head'}, new face below {below or 'its own'}" + (f", label change after {k}" if k else ""),
                             lambda d, below=below, k=k, name=name: head(d, below, k, name)))
    print("| rule | accuracy (found frames) | flicker |")
    print("|---|---|---|")
    for name, run in rows:
        scores = [score(run(d), d) for d in data]
        print(f"| {name} | {np.mean([s[0] for s in scores]):.4f} | {np.mean([s[1] for s in scores]):.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
