"""Face detection on composed scenes: recall by face size and false boxes, per detector.

usage: python -m ferdesk.benchmarks.scenes --images ../shared/data/realfaces/images \\
           --labels ../shared/data/realfaces/labels.csv --part report \\
           [--detector blazeface --detector blazeface-tiled] [--scenes 200] [--demo-frames 1200] [--json]

Scenes are 640x480 frames made here, deterministically (``--seed``): a background cut from a photograph
with no human face in it (scikit-image's bundled sample photographs: brick, a cat, coffee, coins, grass,
gravel, a horse, a rocket, text, a clock, a retina, cells, the Hubble deep field, ...; or ``--backgrounds
DIR``), and on it 0 to 4 heads cut from ``realfaces`` portraits (an oval around the face with a soft edge,
the whole head and some hair) at face widths from 16 to 160 px, log-uniform, anywhere in the frame. One
scene in five has no face at all, so textures alone are tested too. A face's true box is the detector's own
box on the full-size portrait (BlazeFace short range, where it is large and clear), carried through the
same scaling and shift; a detection matches a true face at IoU >= 0.4 (each face at most once); any other
box is a false box.

The demo source (the bundled portrait moving in a 640x480 frame) is also run for ``--demo-frames`` frames,
each 0.2 s of its motion apart (so that every pose of its cycle is visited in a few minutes of frames),
with the detector's memory kept from frame to frame as live: every box away from the portrait's face is
false.

Still scenes are run with the detector's memory reset before each (as ``ferdesk eval --images`` and image
folders do). Prints recall per size band, recall of faces of 24 px and more, false boxes per 100 frames on
scenes and on the demo, and the detector's mean time per frame here.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ferdesk.catalog import Catalog
from ferdesk.detectors import load_detector
from ferdesk.errors import FerdeskError
from ferdesk.photo_sets import read_photo_set
from ferdesk.sources.demo import DEMO_IMAGE, demo_matrix, render_demo_frame
from ferdesk.tracking import iou_matrix

SIZE = (640, 480)
FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
BANDS = [(16, 24), (24, 32), (32, 48), (48, 96), (96, 161)]
# scikit-image's bundled photographs with no human face (astronaut and camera have one)
SKIMAGE_BACKGROUNDS = ("brick", "chelsea", "clock", "coffee", "coins", "colorwheel", "grass", "gravel", "horse",
                       "hubble_deep_field", "immunohistochemistry", "moon", "page", "rocket", "text", "retina", "cell")


@dataclass
class Scene:
    image: np.ndarray                                  # BGR 640x480
    faces: list[tuple[float, float, float, float]]     # true boxes x, y, w, h


def skimage_backgrounds() -> list[np.ndarray]:
    try:
        from skimage import data
    except ImportError:
        raise SystemExit("scenes: scikit-image is not installed (pip install scikit-image), or give --backgrounds DIR") from None
    out = []
    for name in SKIMAGE_BACKGROUNDS:
        im = getattr(data, name)()
        im = im[..., :3] if im.ndim == 3 else np.repeat(im[..., None], 3, 2)
        if im.dtype != np.uint8:
            im = (255 * (im.astype(np.float64) / max(float(im.max()), 1e-9))).astype(np.uint8)
        out.append(cv2.cvtColor(np.ascontiguousarray(im), cv2.COLOR_RGB2BGR))
    return out


def folder_backgrounds(folder: Path) -> list[np.ndarray]:
    out = [im for p in sorted(folder.iterdir()) if (im := cv2.imread(str(p))) is not None]
    if not out:
        raise SystemExit(f"scenes: no readable image in {folder}")
    return out


def background(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random 4:3 cut of ``photo`` (half to all of it), resized to the scene's size."""
    h, w = photo.shape[:2]
    frac = rng.uniform(0.5, 1.0)
    cw = int(min(w, h * 4 / 3) * frac)
    ch = int(cw * 3 / 4)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return cv2.resize(photo[y0:y0 + ch, x0:x0 + cw], SIZE, interpolation=cv2.INTER_AREA)


def head_cutout(photo: np.ndarray, box, width: float) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The head around ``box`` (x, y, w, h on ``photo``) scaled to a face ``width`` px wide: (BGR patch, alpha
    in [0, 1], face box on the patch). The alpha is an oval with a soft edge, cut to the photograph (nothing
    is invented beyond its border)."""
    x, y, w, h = box
    k = width / w
    side = 1.8 * w                       # the face and about 0.4 of its width on each side: head and some hair
    cx, cy = x + w / 2, y + h / 2 - 0.1 * h
    m = np.array([[k, 0, side * k / 2 - cx * k], [0, k, side * k / 2 - cy * k]], np.float32)
    n = max(4, int(round(side * k)))
    flags = cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR
    patch = cv2.warpAffine(photo, m, (n, n), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    inside = cv2.warpAffine(np.ones(photo.shape[:2], np.float32), m, (n, n), flags=cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    alpha = np.zeros((n, n), np.float32)
    cv2.ellipse(alpha, (n // 2, n // 2), (int(n * 0.40), int(n * 0.48)), 0, 0, 360, 1.0, -1)
    alpha = cv2.GaussianBlur(alpha * inside, (0, 0), max(1.0, n * 0.04))
    fx, fy = m[0, 0] * x + m[0, 2], m[1, 1] * y + m[1, 2]
    return patch, alpha, (fx, fy, w * k, h * k)


def compose(backgrounds, portraits, rng: np.random.Generator) -> Scene:
    """One scene: a background and 0-4 heads (none in one scene of five) that do not overlap."""
    image = background(backgrounds[int(rng.integers(len(backgrounds)))], rng).astype(np.float32)
    count = 0 if rng.random() < 0.2 else int(rng.integers(1, 5))
    taken: list[tuple] = []
    faces = []
    for _ in range(count):
        photo, box = portraits[int(rng.integers(len(portraits)))]
        width = math.exp(rng.uniform(math.log(16), math.log(160)))
        patch, alpha, (fx, fy, fw, fh) = head_cutout(photo, box, width)
        n = patch.shape[0]
        for _try in range(20):
            px, py = int(rng.integers(-n // 4, SIZE[0] - 3 * n // 4)), int(rng.integers(-n // 4, SIZE[1] - 3 * n // 4))
            face = (px + fx, py + fy, fw, fh)
            inside = face[0] >= 0 and face[1] >= 0 and face[0] + fw <= SIZE[0] and face[1] + fh <= SIZE[1]
            if inside and not any(_overlap((px, py, n, n), t) for t in taken):
                break
        else:
            continue
        taken.append((px, py, n, n))
        x0, y0, x1, y1 = max(px, 0), max(py, 0), min(px + n, SIZE[0]), min(py + n, SIZE[1])
        a = alpha[y0 - py:y1 - py, x0 - px:x1 - px, None]
        image[y0:y1, x0:x1] = a * patch[y0 - py:y1 - py, x0 - px:x1 - px] + (1 - a) * image[y0:y1, x0:x1]
        faces.append(face)
    return Scene(np.clip(image, 0, 255).astype(np.uint8), faces)


def _overlap(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def portraits_with_boxes(images: Path, labels: Path, part: str, limit: int, rng: np.random.Generator,
                         with_labels: bool = False):
    """(photo, face box) for up to ``limit`` portraits of the ``part``, the box from BlazeFace on the photo;
    with ``with_labels``, (photo, face box, label, person)."""
    photos = read_photo_set(images, labels, FER_CLASSES, part=part)
    order = rng.permutation(len(photos))
    truth = load_detector("blazeface", Catalog.load())
    # the portraits' faces are large: BlazeFace's full-frame pass alone gives the true box (no scan, no check, so
    # that every version of the detector is scored on the same scenes)
    truth.scan_sides, truth.check = (), None
    out = []
    for i in order:
        im = cv2.imread(str(photos[int(i)].path))
        if im is None:
            continue
        truth.reset()
        found = truth.detect_raw(im)
        # one clear face and no second candidate at all: a head cut from the portrait carries no other face
        if len(found) == 1 and found[0].score >= 0.75 and found[0].w >= 60:
            f = found[0]
            box = (f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h)
            out.append((im, box, photos[int(i)].label, photos[int(i)].person) if with_labels else (im, box))
        if len(out) >= limit:
            break
    return out


def _boxes(det, image) -> list[tuple]:
    return [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in det.detect_raw(image)]


def score_scenes(det, scenes: list[Scene]) -> dict:
    found = {band: [0, 0] for band in BANDS}
    false_boxes = 0
    spent = 0.0
    for s in scenes:
        det.reset(new_scene=True)
        t0 = time.perf_counter()
        boxes = _boxes(det, s.image)
        spent += time.perf_counter() - t0
        iou = iou_matrix(s.faces, boxes)
        used = set()
        for i, face in enumerate(s.faces):
            band = next(b for b in BANDS if b[0] <= face[2] < b[1])
            found[band][1] += 1
            if boxes:
                order = [j for j in np.argsort(-iou[i]) if iou[i, j] >= 0.4 and j not in used]
                if order:
                    used.add(order[0])
                    found[band][0] += 1
        false_boxes += len(boxes) - len(used)
    big = [found[b] for b in BANDS if b[0] >= 24]
    return {
        "recall_by_width_px": {f"{lo}-{hi - 1}": {"found": f, "faces": n, "recall": round(f / n, 4) if n else None}
                               for (lo, hi), (f, n) in found.items()},
        "recall_24px_up": round(sum(f for f, _ in big) / max(1, sum(n for _, n in big)), 4),
        "faces": sum(n for _, n in found.values()),
        "scenes": len(scenes),
        "false_boxes": false_boxes,
        "false_boxes_per_100_frames": round(100 * false_boxes / max(1, len(scenes)), 2),
        "ms_per_frame": round(1e3 * spent / max(1, len(scenes)), 2),
    }


def demo_face_box(det) -> tuple:
    """The portrait's own face (x, y, w, h on the photo), found on the full-size photo."""
    photo = cv2.imread(str(DEMO_IMAGE))
    det.reset()
    best = max(det.detect_raw(photo), key=lambda f: f.score)
    det.reset()
    return (best.cx - best.w / 2, best.cy - best.h / 2, best.w, best.h)


def demo_frames(det, frames: int, step_s: float = 0.2):
    """The demo source's frames, ``step_s`` seconds of its motion apart, each with the portrait's face box on it
    (x, y, w, h); the detector's memory is reset before the first."""
    photo = cv2.imread(str(DEMO_IMAGE))
    x, y, w, h = demo_face_box(det)
    corners = np.array([[x, y], [x + w, y], [x, y + h], [x + w, y + h]], np.float32)
    det.reset()
    for i in range(frames):
        t = i * step_s
        m = demo_matrix(photo.shape, t, SIZE)
        pts = corners @ m[:, :2].T + m[:, 2]
        (x0, y0), (x1, y1) = pts.min(0), pts.max(0)
        yield render_demo_frame(photo, t), (x0, y0, x1 - x0, y1 - y0)


def score_demo(det, frames: int, step_s: float = 0.2) -> dict:
    false_boxes = frames_with_false = missed = 0
    spent = 0.0
    for image, face in demo_frames(det, frames, step_s):
        t0 = time.perf_counter()
        boxes = _boxes(det, image)
        spent += time.perf_counter() - t0
        hits = iou_matrix([face], boxes)[0] if boxes else np.zeros(0)
        extra = int((hits < 0.3).sum())
        missed += not (hits >= 0.3).any()
        false_boxes += extra
        frames_with_false += extra > 0
    return {"frames": frames, "false_boxes": false_boxes, "false_boxes_per_100_frames": round(100 * false_boxes / frames, 2),
            "frames_with_a_false_box": frames_with_false, "face_missed_frames": missed,
            "ms_per_frame": round(1e3 * spent / frames, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=Path, required=True, help="the portraits' folder (realfaces/images)")
    ap.add_argument("--labels", type=Path, required=True, help="their labels CSV (gives the tune/report split)")
    ap.add_argument("--part", choices=("all", "tune", "report"), default="report")
    ap.add_argument("--detector", action="append", help="repeatable; default: the catalog's default detector")
    ap.add_argument("--scenes", type=int, default=200)
    ap.add_argument("--portraits", type=int, default=300, help="distinct portraits to cut heads from")
    ap.add_argument("--backgrounds", type=Path, help="a folder of face-free photographs (default: scikit-image's)")
    ap.add_argument("--demo-frames", type=int, default=1200, help="0 to skip the demo source")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    for p in (a.images, a.labels):
        if not p.exists():
            raise SystemExit(f"scenes: {p} not found")
    catalog = Catalog.load()
    rng = np.random.default_rng(a.seed)
    backs = folder_backgrounds(a.backgrounds) if a.backgrounds else skimage_backgrounds()
    try:
        portraits = portraits_with_boxes(a.images, a.labels, a.part, a.portraits, rng)
    except FerdeskError as e:
        raise SystemExit(f"scenes: {e}") from None
    if not portraits:
        raise SystemExit(f"scenes: no portrait in the {a.part} part with one clear face")
    scenes = [compose(backs, portraits, rng) for _ in range(a.scenes)]
    results = {}
    for name in a.detector or [catalog.default("detector").name]:
        det = load_detector(name, catalog, threads=a.threads)
        results[name] = {"scenes": score_scenes(det, scenes)}
        if a.demo_frames:
            results[name]["demo"] = score_demo(det, a.demo_frames)
    if a.json:
        print(json.dumps({"part": a.part, "seed": a.seed, "portraits": len(portraits), "detectors": results}, indent=2))
        return 0
    print(f"{a.scenes} scenes (seed {a.seed}) from {len(portraits)} portraits of the {a.part} part")
    head = " | ".join(f"{lo}-{hi - 1} px" for lo, hi in BANDS)
    print(f"| detector | {head} | >= 24 px | false / 100 scenes | demo false / 100 frames | ms/frame |")
    print("|---|" + "---|" * (len(BANDS) + 4))
    for name, r in results.items():
        s = r["scenes"]
        bands = " | ".join("-" if v["recall"] is None else f"{v['recall']:.2f} ({v['faces']})" for v in s["recall_by_width_px"].values())
        demo = r.get("demo", {}).get("false_boxes_per_100_frames", "-")
        print(f"| {name} | {bands} | {s['recall_24px_up']:.3f} | {s['false_boxes_per_100_frames']} | {demo} | {s['ms_per_frame']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
