"""Head pose and eye openness (ferdesk.head_pose): the geometry, the demo face turned and mirrored, the log."""
from __future__ import annotations

import csv
import math

import cv2
import numpy as np
import pytest

from conftest import DEMO_IMAGE, run_cli
from ferdesk.head_pose import (CHIN, FOREHEAD, LEFT_EYE_OUTER, RIGHT_EYE_OUTER, HeadPoseEstimator, pose_from_landmarks)
from ferdesk.session import build_stack
from ferdesk.types import Frame


def head(yaw=0.0, pitch=0.0, roll=0.0) -> np.ndarray:
    """Four landmarks of a unit head, rotated, in MediaPipe's image convention (y down, z away)."""
    pts = np.zeros((468, 3))
    pts[RIGHT_EYE_OUTER], pts[LEFT_EYE_OUTER] = (-1, 0, 0), (1, 0, 0)
    pts[FOREHEAD], pts[CHIN] = (0, 1.2, 0), (0, -1.2, 0)        # y up, z toward the camera here
    y, p, r = (math.radians(v) for v in (yaw, -pitch, roll))   # a positive rotation about x tips the face down
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    return (pts @ (ry @ rx @ rz).T) * np.array([1.0, -1.0, -1.0])   # turn, nod, tilt; to y down, z away


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (30, 0, 0), (-25, 0, 0), (0, 20, 0), (0, -15, 0),
                                              (0, 0, 10), (20, 10, -15)])
def test_the_angles_of_a_rotated_head_come_back(yaw, pitch, roll):
    got = pose_from_landmarks(head(yaw, pitch, roll))
    assert got == pytest.approx((pitch, yaw, roll), abs=1e-6)


@pytest.fixture(scope="module")
def estimate():
    stack = build_stack()
    estimator = HeadPoseEstimator(stack.catalog.get("face-landmark"))

    def pose(image):
        located = stack.pipeline.locate(Frame(image, 0, 0.0, 0.0, new_scene=True))
        return estimator.estimate(image, max(located.detections, key=lambda d: d.box[2]))
    return pose


def test_the_demo_face_mirrored_and_turned(estimate):
    image = cv2.imread(str(DEMO_IMAGE))
    plain = estimate(image)
    assert plain.presence > 0.9 and abs(plain.yaw) < 15 and abs(plain.roll) < 10
    assert 0.2 < plain.eye_open_left < 0.5 and 0.2 < plain.eye_open_right < 0.5      # she looks at the camera
    mirrored = estimate(cv2.flip(image, 1))
    assert mirrored.roll == pytest.approx(-plain.roll, abs=2.0)
    h, w = image.shape[:2]
    for angle in (15, -20):     # OpenCV: positive turns the image counterclockwise
        turned = estimate(cv2.warpAffine(image, cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), (w, h)))
        assert turned.roll - plain.roll == pytest.approx(angle, abs=3.0)


def test_run_with_head_pose_logs_it_in_the_last_columns(clip, tmp_path):
    log = tmp_path / "pose"
    r = run_cli("run", "--source", str(clip), "--log", str(log), "--max-frames", "4", "--head-pose", "--json")
    assert r.returncode == 0, r.stderr
    with open(log / "frames.csv", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = list(reader)
    assert header[-5:] == ["pitch", "yaw", "roll", "eye_open_left", "eye_open_right"]
    assert rows and all(all(v != "" for v in row[-5:]) for row in rows)
    assert all(-90 <= float(row[header.index("yaw")]) <= 90 for row in rows)
    fex = run_cli("export", str(log), "--format", "fex", "--out", str(tmp_path / "fex.csv"))
    assert fex.returncode == 0, fex.stderr
    exported = list(csv.DictReader(open(tmp_path / "fex.csv")))
    original = list(csv.DictReader(open(log / "frames.csv")))
    assert [r["Yaw"] for r in exported] == [r["yaw"] for r in original]
    of = run_cli("export", str(log), "--format", "openface", "--out", str(tmp_path / "of.csv"))
    assert of.returncode == 0, of.stderr
    rows_of = list(csv.DictReader(open(tmp_path / "of.csv")))
    assert float(rows_of[0]["pose_Ry"]) == pytest.approx(math.radians(float(original[0]["yaw"])), abs=1e-3)
