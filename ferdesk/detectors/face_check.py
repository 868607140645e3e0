"""A second opinion on a detector's box: MediaPipe's face-landmark network, read for its face-presence output.

BlazeFace looks at the whole frame at 128x128 and sometimes scores a texture as a face (the demo's orange
space suit, grass, a cat). The face-landmark network (``face_landmark.onnx``, from the mediapipe 0.10.21
wheel, ``tools/convert_face_landmark.py``) looks at the box alone, at 192x192, rotated so the eyes are level,
and gives besides its 468 landmarks a score that a face is there (MediaPipe's tracker drops a face when it
falls). A box is kept when that score reaches the catalog's ``min_face_score`` (the detector entry's
``check``); ``docs/catalog.md`` says how the threshold was chosen.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from ferdesk.catalog import ModelSpec
from ferdesk.detectors.base import RawFace
from ferdesk.engines import open_engine


def level_crop_matrix(cx: float, cy: float, side: float, eyes, size: int) -> np.ndarray:
    """The 2x3 affine from frame pixels to a ``size`` x ``size`` crop of the square of ``side`` around (cx, cy),
    turned so that the eyes (right, left) are level; the landmark network's view of a face."""
    angle = 0.0
    if eyes:
        (rx, ry), (lx, ly) = eyes
        angle = math.degrees(math.atan2(ly - ry, lx - rx))
    m = cv2.getRotationMatrix2D((cx, cy), angle, size / max(side, 1.0))
    m[:, 2] += (size / 2 - cx, size / 2 - cy)
    return m


def presence(logit: float) -> float:
    """The landmark network's face-presence output as a probability."""
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))


class FaceCheck:
    """Scores how much a box on a frame looks like a face, in [0, 1]."""

    def __init__(self, spec: ModelSpec, threads: int = 1, margin: float = 1.5):
        self.spec = spec
        self.engine, mf = open_engine(spec, "onnxruntime", threads, f"face check {spec.name}")
        self.input = spec.input_for(mf)
        self.margin = float(spec.get("margin", margin))
        self.output = int(spec.get("presence_output", 1))

    def crop(self, image: np.ndarray, face: RawFace) -> np.ndarray:
        """The face's square (``margin`` times its box), eyes levelled, at the network's size, in RGB."""
        size = self.input.width
        m = level_crop_matrix(face.cx, face.cy, max(face.w, face.h) * self.margin, face.eyes, size)
        crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)

    def score(self, image: np.ndarray, face: RawFace) -> float:
        outputs = self.engine.run(self.input.to_tensor(self.crop(image, face)[None]))
        return presence(float(np.asarray(outputs[self.output]).ravel()[0]))
