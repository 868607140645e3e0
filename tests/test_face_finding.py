"""Small faces and false faces: the default detector's face check and small-face scan, and the scenes benchmark."""
from __future__ import annotations

import csv
import json

import cv2
import numpy as np
import pytest

from ferdesk.benchmarks import scenes
from ferdesk.catalog import Catalog
from ferdesk.detectors import load_detector
from ferdesk.detectors.base import RawFace
from ferdesk.sources.demo import DEMO_IMAGE


def _demo_face(det) -> RawFace:
    det.reset()
    return max(det.detect_raw(cv2.imread(str(DEMO_IMAGE))), key=lambda f: f.score)


def test_the_face_check_tells_the_demo_face_from_textures():
    det = load_detector("blazeface", Catalog.load())
    assert det.check is not None and det.min_face_score > 0
    photo = cv2.imread(str(DEMO_IMAGE))
    face = _demo_face(det)
    assert det.check.score(photo, face) >= 0.9
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, photo.shape, dtype=np.uint8)
    grey = np.full_like(photo, 128)
    assert det.check.score(noise, face) < det.min_face_score
    assert det.check.score(grey, face) < det.min_face_score
    # the space suit below the face: the box BlazeFace takes for a face on some demo frames
    suit = RawFace(face.cx, face.cy + 1.6 * face.h, face.w * 1.3, face.h * 1.3, 0.7)
    assert det.check.score(photo, suit) < det.min_face_score


class CountingCheck:
    def __init__(self, verdict: float):
        self.verdict, self.calls = verdict, 0

    def score(self, image, face) -> float:
        self.calls += 1
        return self.verdict


def test_a_new_face_is_shown_only_when_the_check_passes_and_a_held_face_is_not_checked_again():
    det = load_detector("blazeface", Catalog.load())
    photo = cv2.imread(str(DEMO_IMAGE))
    det.scan_sides = ()                                   # the full-frame pass alone: one candidate, the face
    det.check = CountingCheck(0.0)
    det.reset()
    assert det.detect_raw(photo) == []                   # refused by the check
    det.check = CountingCheck(1.0)
    det.reset()
    first = det.detect_raw(photo)
    calls = det.check.calls
    assert len(first) == 1 and calls >= 1
    assert len(det.detect_raw(photo)) == 1 and det.check.calls == calls   # the same face next frame: held, no new check


def test_a_small_box_needs_a_higher_check_score_than_a_large_one():
    det = load_detector("blazeface", Catalog.load())
    assert 0 < det.small_face_px and det.min_face_score < det.min_small_face_score <= 1
    between = (det.min_face_score + det.min_small_face_score) / 2
    small, _ = _small_face_frame(36)
    large = cv2.imread(str(DEMO_IMAGE))
    found = {}
    for verdict in (between, det.min_small_face_score):
        det.check = CountingCheck(verdict)
        for name, frame in (("small", small), ("large", large)):
            det.reset(new_scene=True)
            found[name, verdict] = [f.w for f in det.detect_raw(frame)]
    assert found["small", between] == [] and len(found["small", det.min_small_face_score]) == 1
    assert found["small", det.min_small_face_score][0] < det.small_face_px
    # the portrait's face is kept at the lower score (with it, any other box of the fake check's as wide)
    assert found["large", between] and all(w >= det.small_face_px for w in found["large", between])


def _small_face_frame(width: int) -> tuple[np.ndarray, tuple]:
    """The demo portrait's head scaled so that its face is about ``width`` px, on a grey 640x480 frame."""
    det = load_detector("blazeface", Catalog.load())
    face = _demo_face(det)
    photo = cv2.imread(str(DEMO_IMAGE))
    box = (face.cx - face.w / 2, face.cy - face.h / 2, face.w, face.h)
    patch, alpha, (fx, fy, fw, fh) = scenes.head_cutout(photo, box, width)
    frame = np.full((480, 640, 3), 100, np.float32)
    x0, y0 = 420, 300
    n = patch.shape[0]
    a = alpha[..., None]
    frame[y0:y0 + n, x0:x0 + n] = a * patch + (1 - a) * frame[y0:y0 + n, x0:x0 + n]
    return frame.astype(np.uint8), (x0 + fx, y0 + fy, fw, fh)


def test_the_scan_finds_a_small_face_the_full_frame_pass_misses_and_follows_it():
    frame, truth = _small_face_frame(36)
    det = load_detector("blazeface", Catalog.load())
    assert det.scan_sides and det._scan_windows(480, 640)
    scan = det.scan_sides
    det.scan_sides = ()
    det.reset()
    assert det.detect_raw(frame) == []                    # 36 px of 640 is 7 px of BlazeFace's 128
    det.scan_sides = scan
    det.reset(new_scene=True)
    found = det.detect_raw(frame)                         # a still scene: every scan tile
    boxes = [(f.cx - f.w / 2, f.cy - f.h / 2, f.w, f.h) for f in found]
    assert len(found) == 1 and scenes.iou_matrix([truth], boxes)[0, 0] >= 0.4
    for _ in range(5):                                   # later frames: found again around where it was
        again = det.detect_raw(frame)
        assert len(again) == 1 and abs(again[0].cx - found[0].cx) < 3


def test_a_video_scans_a_few_tiles_a_frame_and_keeps_a_small_face_once_found():
    frame, truth = _small_face_frame(36)
    det = load_detector("blazeface", Catalog.load())
    tiles = det._scan_windows(*frame.shape[:2])
    det.reset()                                           # a new source, not a still: no whole scan on frame 1
    runs = []
    run = det._run
    det._run = lambda image, threshold: runs.append(image.shape) or run(image, threshold)
    first = det.detect_raw(frame)
    # the full frame, this frame's tiles and at most the second looks: not the whole scan of len(tiles) runs
    assert len(runs) <= 1 + det.scan_per_frame + det.max_second_looks < len(tiles)
    seen = [bool(first)]
    for _ in range(len(tiles) // det.scan_per_frame + 1):
        seen.append(bool(det.detect_raw(frame)))
    k = seen.index(True)                                  # found when the scan reached its tile ...
    assert all(seen[k:])                                  # ... and followed in every frame after


@pytest.fixture()
def portrait_set(tmp_path):
    """A labelled photo set of one person, cut from the demo portrait (the benchmark's --images/--labels)."""
    images = tmp_path / "images"
    images.mkdir()
    photo = cv2.imread(str(DEMO_IMAGE))
    rows = []
    for k, (y0, x0) in enumerate([(0, 80), (10, 100), (20, 120)]):
        name = f"Eileen_Collins_{k + 1:04d}.jpg"
        cv2.imwrite(str(images / name), photo[y0:y0 + 350, x0:x0 + 350])
        rows.append({"file": name, "label": "happy"})
    labels = tmp_path / "labels.csv"
    with labels.open("w", newline="") as f:
        w = csv.DictWriter(f, ["file", "label"])
        w.writeheader()
        w.writerows(rows)
    backs = tmp_path / "backgrounds"
    backs.mkdir()
    rng = np.random.default_rng(0)
    for k in range(2):
        cv2.imwrite(str(backs / f"b{k}.png"), cv2.GaussianBlur(rng.integers(0, 256, (300, 400, 3), dtype=np.uint8), (0, 0), 3))
    return images, labels, backs


def test_the_scenes_benchmark_scores_composed_scenes_and_the_demo(portrait_set, capsys):
    images, labels, backs = portrait_set
    assert scenes.main(["--images", str(images), "--labels", str(labels), "--part", "all", "--backgrounds", str(backs),
                        "--scenes", "6", "--demo-frames", "5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    r = out["detectors"]["blazeface"]
    assert out["portraits"] >= 1 and r["scenes"]["scenes"] == 6
    assert 0 <= r["scenes"]["recall_24px_up"] <= 1 and r["scenes"]["faces"] > 0
    assert r["demo"]["frames"] == 5 and r["demo"]["face_missed_frames"] == 0


def test_the_scenes_benchmark_says_what_is_missing(tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        scenes.main(["--images", str(tmp_path / "nope"), "--labels", str(tmp_path / "labels.csv")])


def test_photo_clips_hold_each_photograph_in_place_and_write_the_truth(portrait_set, tmp_path):
    from ferdesk.benchmarks import photo_clips

    images, labels, backs = portrait_set
    out = tmp_path / "clips" / "c"
    assert photo_clips.main(["--images", str(images), "--labels", str(labels), "--part", "all", "--out", str(out),
                             "--clips", "1", "--faces", "3", "--hold", "4", "--backgrounds", str(backs),
                             "--same-person"]) == 0
    truth = json.loads((tmp_path / "clips" / "c-0.json").read_text())
    assert truth["hold"] == 4 and truth["same_person"] and len(truth["frames"]) == 12
    assert all(len(f) == 1 and f[0]["label"] == 3 for f in truth["frames"])          # happy
    assert len({f[0]["index"] for f in truth["frames"][:4]}) == 1                     # one photograph per hold
    video = cv2.VideoCapture(str(tmp_path / "clips" / "c-0.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    ok, frame = video.read()
    x, y, w, h = truth["frames"][0][0]["box"]
    assert ok and frame.shape == (480, 640, 3) and 140 <= w <= 240 and 0 <= x < 640 - w and 0 <= y < 480 - h


def test_the_frame_only_variant_checks_faces_but_does_not_scan():
    det = load_detector("blazeface-frame", Catalog.load())
    assert det.check is not None and det._scan_windows(480, 640) == []
    det.reset()
    assert len(det.detect_raw(cv2.imread(str(DEMO_IMAGE)))) == 1
