"""Measure how each detector's raw face box relates to FER2013's crop, and store it in the catalog.

FER2013 faces are tight squares (eyebrows to chin). The classifier must see the same
framing live, so for every detector we paste FER2013 *Training* faces at 100-220 px into
640x480 frames (as the bench clips do), run the detector, and take the median of
    scale = truth side / raw box size,  dx, dy = (truth centre - raw centre) / raw box size
over all matched faces. The result goes into that detector's ``crop`` entry.

usage: python -m ferdesk.training.calibrate_crop [--detector NAME ...] [--frames 200] [--write]
"""
from __future__ import annotations

import argparse
import json

import cv2
import numpy as np

from ferdesk.training.catalogs import CatalogStore, repo_catalog
from ferdesk.detectors import detectors, load_detector
from ferdesk.tracking import iou_matrix
from ferdesk.training.train_classifier import DEFAULT_DATA


def compose(rng, images, n_faces=2, size=(640, 480)):
    w, h = size
    bg = cv2.GaussianBlur((rng.random((h, w, 3)) * 120 + 60).astype(np.uint8), (31, 31), 0)
    truth = []
    cols = np.array_split(np.arange(w), n_faces)
    for c in cols:
        s = min(int(rng.integers(100, 220)), len(c), h)
        x0 = int(rng.integers(c[0], max(c[0] + 1, c[-1] - s)))
        y0 = int(rng.integers(0, h - s))
        face = cv2.resize(images[int(rng.integers(len(images)))], (s, s), interpolation=cv2.INTER_CUBIC)
        bg[y0:y0 + s, x0:x0 + s] = face[..., None]
        truth.append((x0, y0, s, s))
    return bg, truth


def calibrate(det, images, frames: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    ratios, found, total = [], 0, 0
    for _ in range(frames):
        frame, truth = compose(rng, images, n_faces=int(rng.integers(1, 4)))
        raw = det.detect_raw(frame)
        boxes = [(r.cx - r.w / 2, r.cy - r.h / 2, r.w, r.h) for r in raw]
        ious = iou_matrix(list(truth), boxes)
        total += len(truth)
        for ti, (x, y, s, _) in enumerate(truth):
            if not boxes or ious[ti].max() < 0.2:
                continue
            r = raw[int(ious[ti].argmax())]
            size = (r.w + r.h) / 2
            ratios.append((s / size, (x + s / 2 - r.cx) / size, (y + s / 2 - r.cy) / size))
            found += 1
    med = np.median(np.asarray(ratios), 0) if ratios else np.array([1.0, 0.0, 0.0])
    return {"scale": round(float(med[0]), 4), "dx": round(float(med[1]), 4), "dy": round(float(med[2]), 4),
            "measured_on": f"{found}/{total} FER2013 Training faces found in {frames} composed frames (seed {seed})"}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detector", action="append")
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--data", default=str(DEFAULT_DATA / "fer2013_training.npz"))
    ap.add_argument("--write", action="store_true", help="store the result in the detectors' catalog entries")
    a = ap.parse_args(argv)
    images = np.load(a.data)["images"]
    catalog = repo_catalog()
    names = a.detector or [n for n, cls in detectors if cls.availability()[0]]
    store = CatalogStore()
    doc = store.document()
    for name in names:
        det = load_detector(name, catalog)
        det.crop_scale, det.crop_dx, det.crop_dy = 1.0, 0.0, 0.0
        crop = calibrate(det, images, a.frames)
        print(f"{name}: {json.dumps(crop)}")
        for m in doc["models"]:
            if m["name"] == name:
                m["crop"] = crop
    if a.write:
        store.save(doc)
        print(f"wrote {', '.join(map(str, store.paths))}")


if __name__ == "__main__":
    main()
