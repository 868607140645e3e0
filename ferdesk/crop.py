"""Cut the classifier's input from a frame: on the face's landmarks where the detector gives them (its
``to_crop`` transform), else the detector's calibrated square, roll-aligned on the eyes."""
from __future__ import annotations

import math

import cv2
import numpy as np

from ferdesk.types import Detection


def roll_degrees(det: Detection) -> float:
    """Head roll from the eye centres (0 when the detector gives no eyes)."""
    if det.eyes is None:
        return 0.0
    (rx, ry), (lx, ly) = det.eyes  # subject's right eye is on the image's left
    return math.degrees(math.atan2(ly - ry, lx - rx))


def crop_face(gray: np.ndarray, det: Detection, size: tuple[int, int], align: bool = True,
              landmarks: bool = False) -> np.ndarray:
    """One warp from the frame to a (h, w) crop: the landmark alignment when ``align`` and ``landmarks`` (the
    classifier was trained on such crops) and the detection has one, else ``det.box`` rotated upright (when
    ``align``) on the eyes."""
    out_w, out_h = size
    if align and landmarks and det.to_crop is not None:
        m = np.asarray(det.to_crop, np.float64).reshape(2, 3) * np.array([[out_w], [out_h]])
        # a face much larger than the crop: warp to an intermediate size, then average down (a warp alone
        # samples the face instead of averaging it, and aliases)
        over = int(min(4, max(1, 1 / max(math.hypot(m[0, 0], m[0, 1]), 1e-6))))
        big = cv2.warpAffine(gray, m * over, (out_w * over, out_h * over), flags=cv2.INTER_LINEAR,
                             borderMode=cv2.BORDER_REPLICATE)
        return big if over == 1 else cv2.resize(big, (out_w, out_h), interpolation=cv2.INTER_AREA)
    x, y, w, h = det.box
    cx, cy = x + w / 2, y + h / 2
    angle = roll_degrees(det) if align else 0.0
    m = cv2.getRotationMatrix2D((cx, cy), angle, out_w / w)
    m[:, 2] += (out_w / 2 - cx, out_h / 2 - cy)
    return cv2.warpAffine(gray, m, (out_w, out_h), flags=cv2.INTER_AREA if w > 2 * out_w else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def crop_faces(gray: np.ndarray, dets: list[Detection], size: tuple[int, int], align: bool = True,
               landmarks: bool = False) -> np.ndarray:
    if not dets:
        return np.zeros((0, size[1], size[0]), np.uint8)
    return np.stack([crop_face(gray, d, size, align, landmarks) for d in dets])
