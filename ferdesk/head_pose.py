"""Head pose (pitch, yaw, roll) and eye openness of a face, from MediaPipe's face-landmark network.

The network (the catalog's ``face-landmark`` entry, the one the default detector checks boxes with) gives 468
landmarks in x, y and a relative depth z for a face in a 192x192 crop. The head's axes come from the face's
own landmarks, with no 3D head model: x runs from the right eye's outer corner to the left eye's (landmarks 33
and 263), y from the chin to the top of the forehead (152 and 10), made perpendicular to x, and z, their cross
product, out of the face. Angles, in degrees, in the camera's frame (x to the image's right, y up, z toward
the camera):

- ``yaw``: turning; positive when the face turns toward the image's right (the subject's left);
- ``pitch``: nodding; positive when the face looks up;
- ``roll``: tilting; positive when the face tilts counterclockwise in the image.

(Tait-Bryan angles: the head's rotation is yaw about the camera's vertical, then pitch, then roll about the
face's own axis.)

Eye openness is each eye's lid gap over its width (landmarks 159/145 over 33/133 for the subject's right eye,
386/374 over 263/362 for the left): about 0.25 to 0.35 open, under 0.1 closed. ``left`` and ``right`` are the
subject's. Roll follows an in-plane turn of the image within 3 degrees (``tests/test_head_pose.py``, which also
checks the geometry on rotated synthetic heads); yaw and pitch rest on the depth the network has learnt and
have not been measured against a reference.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ferdesk.catalog import ModelSpec
from ferdesk.detectors.face_check import level_crop_matrix, presence
from ferdesk.engines import open_engine
from ferdesk.types import Detection, HeadPose

RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER = 33, 133, 159, 145
LEFT_EYE_OUTER, LEFT_EYE_INNER, LEFT_EYE_UPPER, LEFT_EYE_LOWER = 263, 362, 386, 374
FOREHEAD, CHIN = 10, 152


def pose_from_landmarks(points: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees from (468, 3) landmarks in image pixels (x right, y down, z away from the
    camera, MediaPipe's convention)."""
    p = points.astype(np.float64) * np.array([1.0, -1.0, -1.0])     # x right, y up, z toward the camera
    ex = p[LEFT_EYE_OUTER] - p[RIGHT_EYE_OUTER]
    ex /= np.linalg.norm(ex) + 1e-12
    up = p[FOREHEAD] - p[CHIN]
    ey = up - up.dot(ex) * ex
    ey /= np.linalg.norm(ey) + 1e-12
    ez = np.cross(ex, ey)
    # Tait-Bryan angles of R = [ex ey ez] = Ry(yaw) Rx(-pitch) Rz(roll): turn, then nod, then tilt
    yaw = math.atan2(ez[0], ez[2])
    pitch = math.atan2(ez[1], math.hypot(ez[0], ez[2]))
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, sp], [0, -sp, cp]])        # Rx(-pitch)
    rz = rx.T @ ry.T @ np.column_stack([ex, ey, ez])
    roll = math.atan2(rz[1, 0], rz[0, 0])
    return math.degrees(pitch), math.degrees(yaw), math.degrees(roll)


def eye_openness(points: np.ndarray) -> tuple[float, float]:
    """(left, right): each eye's lid gap over its width, from (468, 2+) landmarks in image pixels."""
    def ratio(outer, inner, upper, lower):
        width = np.linalg.norm(points[outer, :2] - points[inner, :2])
        return float(np.linalg.norm(points[upper, :2] - points[lower, :2]) / max(width, 1e-6))

    return (ratio(LEFT_EYE_OUTER, LEFT_EYE_INNER, LEFT_EYE_UPPER, LEFT_EYE_LOWER),
            ratio(RIGHT_EYE_OUTER, RIGHT_EYE_INNER, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER))


class HeadPoseEstimator:
    """Runs the landmark network on each face and turns its landmarks into a ``HeadPose``."""

    #: the crop's side over the detection's square (the classifier's framing, tighter than the network's)
    SIDE = 1.25

    def __init__(self, spec: ModelSpec, threads: int = 1):
        self.spec = spec
        self.engine, mf = open_engine(spec, "onnxruntime", threads, f"head pose {spec.name}")
        self.input = spec.input_for(mf)

    def landmarks(self, image: np.ndarray, det: Detection) -> tuple[np.ndarray, float]:
        """(468, 3) landmarks in image pixels (z in the same scale) and the face-presence probability."""
        size = self.input.width
        x, y, w, h = det.box
        m = level_crop_matrix(x + w / 2, y + h / 2, w * self.SIDE, det.eyes, size)
        scale = float(np.hypot(m[0, 0], m[0, 1]))
        crop = cv2.cvtColor(cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        outputs = self.engine.run(self.input.to_tensor(crop[None]))
        points = np.asarray(outputs[0], np.float64).reshape(-1, 3)
        back = cv2.invertAffineTransform(m)
        xy = points[:, :2] @ back[:, :2].T + back[:, 2]
        return np.column_stack([xy, points[:, 2] / scale]), presence(float(np.asarray(outputs[1]).ravel()[0]))

    def estimate(self, image: np.ndarray, det: Detection) -> HeadPose:
        points, presence = self.landmarks(image, det)
        pitch, yaw, roll = pose_from_landmarks(points)
        left, right = eye_openness(points)
        return HeadPose(pitch, yaw, roll, left, right, presence)
