"""Landmark alignment: crops placed from the face's own landmarks, mapped to where FER2013 has them."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from ferdesk.catalog import Catalog
from ferdesk.crop import crop_face
from ferdesk.detectors import load_detector
from ferdesk.detectors.base import RawFace, similarity_transform
from ferdesk.types import Detection


def test_the_similarity_fit_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.random((6, 2)) * 200
    angle, scale, shift = math.radians(17), 0.23, np.array([-3.0, 41.0])
    rot = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    dst = src @ rot.T + shift
    m = similarity_transform(src, dst, np.ones(6))
    assert np.allclose(m[:, :2], rot) and np.allclose(m[:, 2], shift)
    # a zero weight leaves that point out of the fit entirely
    moved = dst.copy()
    moved[5] += 50
    assert np.allclose(similarity_transform(src, moved, np.array([1, 1, 1, 1, 1, 0.0])), m)


def test_a_crop_puts_the_faces_landmarks_on_the_template():
    """Dots drawn at a tilted, off-centre face's landmarks land on the template's positions in the crop."""
    template = np.array([[0.32, 0.40], [0.68, 0.40], [0.50, 0.60], [0.50, 0.77], [0.13, 0.47], [0.86, 0.46]])
    angle, scale, centre = math.radians(-20), 260.0, np.array([310.0, 190.0])
    rot = scale * np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points = (template - 0.5) @ rot.T + centre
    image = np.zeros((480, 640), np.uint8)
    for x, y in points[:4]:
        cv2.circle(image, (round(x), round(y)), 9, 255, -1)
    m = similarity_transform(points, template, np.array([1, 1, 1, 1, 0, 0.0]))
    det = Detection((0, 0, 10, 10), 0.9, None, tuple(m.ravel()))
    crop = crop_face(image, det, (48, 48), landmarks=True)
    for u, v in template[:4]:
        x, y = u * 48, v * 48          # OpenCV's pixel k is centred on coordinate k
        x0, y0 = round(x) - 3, round(y) - 3
        window = crop[y0:y0 + 7, x0:x0 + 7].astype(float)
        assert window.max() > 150, (u, v)
        ys, xs = np.mgrid[y0:y0 + 7, x0:x0 + 7]
        cx, cy = (window * xs).sum() / window.sum(), (window * ys).sum() / window.sum()
        assert abs(cx - x) < 0.5 and abs(cy - y) < 0.5, ((u, v), (cx, cy), (x, y))
    assert crop[2:8, 2:8].max() < 40          # and nothing is drawn where no landmark is
    # for a classifier trained on box crops (or without alignment) the same detection is cut from its box
    assert not np.array_equal(crop_face(image, det, (48, 48)), crop)
    assert crop_face(image, det, (48, 48), align=False).shape == (48, 48)


def test_the_default_detector_aligns_on_its_catalog_template():
    catalog = Catalog.load()
    spec = catalog.get("blazeface")
    landmarks = spec.get("crop")["landmarks"]
    points = np.asarray(landmarks["points"])
    assert points.shape == (6, 2) and ((0 < points) & (points < 1)).all()
    assert points[0, 0] < points[2, 0] < points[1, 0] and points[0, 1] < points[2, 1] < points[3, 1]   # eyes, nose, mouth
    det = load_detector("blazeface", catalog)
    face = RawFace(100, 100, 80, 80, 0.9, None, tuple(map(tuple, points * 80 + 60)))
    d = det.to_detection(face)
    m = np.asarray(d.to_crop).reshape(2, 3)
    mapped = np.asarray(face.landmarks) @ m[:, :2].T + m[:, 2]
    assert np.abs(mapped - points).max() < 1e-6
    assert det.to_detection(RawFace(100, 100, 80, 80, 0.9)).to_crop is None   # no landmarks: the box crop


def test_blazeface_finds_six_landmarks_on_the_demo_and_the_pipeline_uses_them():
    from ferdesk.sources.demo import DEMO_IMAGE

    det = load_detector("blazeface", Catalog.load())
    faces = det.detect_raw(cv2.imread(str(DEMO_IMAGE)))
    assert faces and all(len(f.landmarks) == 6 and f.eyes == f.landmarks[:2] for f in faces)
    shifted = faces[0].shifted(10, -5)
    assert shifted.landmarks[3] == pytest.approx((faces[0].landmarks[3][0] + 10, faces[0].landmarks[3][1] - 5))
    assert all(d.to_crop is not None for d in det.detect(cv2.imread(str(DEMO_IMAGE))))
