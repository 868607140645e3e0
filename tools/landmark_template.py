"""Where a detector's landmarks sit in a FER2013 crop: the template the landmark alignment maps real faces onto.

usage: python tools/landmark_template.py [--detector blazeface] [--faces 4000] [--data ../shared/data]
                                         [--weights 1 1 1 1 0 0] [--write] [--json FILE]

1. The template, from FER2013 itself: each of ``--faces`` Training faces (seed 0) is upscaled 4x (192 px) and
   framed in its own replicated border (so the detector sees a whole head's worth of frame), the detector runs
   on it, and the landmarks of the face found nearest the middle are mapped back to the 48x48 crop's unit
   square. The template is each landmark's median; its spread (median absolute deviation, in 48-px pixels) says
   how much FER2013's own framing varies.
2. The mapping's error on real faces: on the ``tune`` part of ``realfaces`` (split by person, as
   ``ferdesk eval --part``), each face's landmarks are fitted to the template by the weighted similarity
   transform the live path uses, and the residual of each landmark (48-px pixels) is reported: it is the crop
   jitter that training should expect.
3. The effect: end-to-end accuracy and macro recall on the ``tune`` part with the box crop and with the
   landmark alignment under each weighting in WEIGHTINGS; ``--weights`` picks what ``--write`` stores.
``--write`` stores the template, weights and figures in the detector's catalog ``crop`` entry (and in
``blazeface-tiled``'s, which shares the detector's landmarks).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: BlazeFace's six keypoints, in its order (subject's right eye is on the image's left)
POINTS = ("right eye", "left eye", "nose tip", "mouth centre", "right ear tragion", "left ear tragion")
WEIGHTINGS = {"eyes": [1, 1, 0, 0, 0, 0], "eyes nose mouth": [1, 1, 1, 1, 0, 0],
              "all six": [1, 1, 1, 1, 1, 1], "all, ears half": [1, 1, 1, 1, 0.5, 0.5]}
UPSCALE, BORDER = 4, 64


def fer_landmarks(detector, faces: np.ndarray) -> tuple[np.ndarray, int]:
    """(found, 6, 2) landmarks in the unit square of each 48x48 face the detector finds, and how many it missed."""
    out, missed = [], 0
    side = 48 * UPSCALE
    for face in faces:
        up = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
        canvas = cv2.cvtColor(cv2.copyMakeBorder(up, BORDER, BORDER, BORDER, BORDER, cv2.BORDER_REPLICATE), cv2.COLOR_GRAY2BGR)
        middle = BORDER + side / 2
        found = [f for f in detector._run(canvas, 0.1) if abs(f.cx - middle) < side / 4 and abs(f.cy - middle) < side / 4]
        if not found:
            missed += 1
            continue
        f = max(found, key=lambda f: f.score)
        # OpenCV centres pixel k on coordinate k: upscaled x is FER2013 pixel (x - BORDER + 0.5) / UPSCALE - 0.5,
        # and the crop's unit square puts pixel k at k / 48, as ferdesk/crop.py's warp does
        out.append([(((x - BORDER + 0.5) / UPSCALE - 0.5) / 48, ((y - BORDER + 0.5) / UPSCALE - 0.5) / 48)
                    for x, y in f.landmarks])
    return np.asarray(out), missed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detector", default="blazeface")
    ap.add_argument("--faces", type=int, default=4000)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--weights", type=float, nargs=6, default=WEIGHTINGS["eyes nose mouth"])
    ap.add_argument("--write", action="store_true", help="store the template in the catalog's crop entry")
    ap.add_argument("--json", type=Path, help="write every figure here")
    a = ap.parse_args(argv)
    from ferdesk.catalog import Catalog
    from ferdesk.classifier import Classifier
    from ferdesk.commands.eval import evaluate_photos
    from ferdesk.detectors import load_detector
    from ferdesk.detectors.base import similarity_transform
    from ferdesk.photo_sets import read_photo_set

    t0 = time.time()
    catalog = Catalog.load()
    detector = load_detector(a.detector, catalog, threads=2)
    train = np.load(a.data / "fer2013_training.npz")["images"]
    faces = train[np.random.default_rng(0).choice(len(train), a.faces, replace=False)]
    marks, missed = fer_landmarks(detector, faces)
    template = np.median(marks, axis=0)
    spread = np.median(np.abs(marks - template), axis=0) * 48
    print(f"{a.detector} on {a.faces} FER2013 Training faces (upscaled {UPSCALE}x, replicated border): "
          f"landmarks on {len(marks)}, missed {missed}")
    for name, (u, v), (su, sv) in zip(POINTS, template, spread):
        print(f"  {name:<18} at ({u:.3f}, {v:.3f}) of the crop, spread {su:.2f} x {sv:.2f} px (median absolute deviation, 48 px)")

    clf = Classifier(catalog.default("classifier"), threads=2)
    photos = read_photo_set(a.data / "realfaces" / "images", a.data / "realfaces" / "labels.csv", tuple(clf.labels), "tune")
    residuals = []
    for photo in photos:
        found = detector.detect_raw(cv2.imread(str(photo.path)))
        detector.reset()
        if not found:
            continue
        f = max(found, key=lambda f: f.w * f.h)
        src = np.asarray(f.landmarks, float)
        m = similarity_transform(src, template, np.asarray(a.weights, float))
        residuals.append(np.linalg.norm(src @ m[:, :2].T + m[:, 2] - template, axis=1) * 48)
    residuals = np.asarray(residuals)
    print(f"fit to the template on {len(residuals)} realfaces tune-part faces, weights {a.weights}: residual per landmark, "
          "48-px pixels, median / 90th percentile:")
    for name, r in zip(POINTS, residuals.T):
        print(f"  {name:<18} {np.median(r):5.2f} / {np.percentile(r, 90):5.2f}")

    results = {}
    detector.template = None
    results["box crop (catalog's scale and offset)"] = evaluate_photos(photos, detector, clf, "box")
    detector.template = template
    for label, w in WEIGHTINGS.items():
        detector.template_weights = np.asarray(w, float)
        results[f"landmarks: {label}"] = evaluate_photos(photos, detector, clf, "landmarks")
    print(f"end to end on the realfaces tune part ({len(photos)} photographs; {clf.spec.name}, {a.detector}):")
    for label, r in results.items():
        print(f"  {label:<40} accuracy {r['accuracy']:.4f}  macro recall {r['macro_recall']:.4f}")
    doc = {"detector": a.detector, "faces": a.faces, "found": int(len(marks)), "missed": int(missed),
           "points": POINTS, "template": template.round(4).tolist(), "spread_px": spread.round(2).tolist(),
           "weights": a.weights, "residual_px_median": np.median(residuals, 0).round(2).tolist(),
           "residual_px_p90": np.percentile(residuals, 90, 0).round(2).tolist(),
           "tune_part": {k: {"accuracy": round(v["accuracy"], 4), "macro_recall": round(v["macro_recall"], 4), "n": v["n"]}
                         for k, v in results.items()},
           "seconds": round(time.time() - t0), "command": "python tools/landmark_template.py " + " ".join(argv or sys.argv[1:])}
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(doc, indent=1) + "\n")
    if a.write:
        from ferdesk.training.catalogs import CatalogStore

        store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
        cat = store.document()
        for m in cat["models"]:
            if m["name"] in (a.detector, "blazeface-tiled" if a.detector == "blazeface" else None):
                m.setdefault("crop", {})["landmarks"] = {
                    "points": template.round(4).tolist(), "names": list(POINTS), "weights": a.weights,
                    "spread_px": spread.round(2).tolist(), "residual_px_median": doc["residual_px_median"],
                    "measured_on": f"{len(marks)} of {a.faces} FER2013 Training faces (seed 0), upscaled {UPSCALE}x",
                    "command": "python tools/landmark_template.py --write"}
        store.save(cat)
        print("written to the catalog")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
