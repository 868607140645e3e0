"""The face detector interface.

A detector finds faces in a BGR frame and returns raw boxes in its own framing. The base
class maps each raw box to the crop the classifier was trained on, using the detector's
calibrated ``crop`` entry in the catalog (``scale`` of the raw box size, centre offset
``dx``/``dy`` in raw box sizes), measured by ``python -m ferdesk.training.calibrate_crop``.

A detector that finds landmarks (BlazeFace: eyes, nose tip, mouth, ears) and whose ``crop`` entry has a
``landmarks`` template (where those points sit in a FER2013 crop, measured by ``tools/landmark_template.py``)
also gives each face the similarity transform that puts its landmarks on the template: the crop then follows
the face's own scale, position and roll, not only its box.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ferdesk.catalog import ModelSpec
from ferdesk.types import Detection


@dataclass(frozen=True)
class RawFace:
    cx: float
    cy: float
    w: float
    h: float
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None
    landmarks: tuple[tuple[float, float], ...] | None = None   # in the detector's own order (BlazeFace: 6)

    def shifted(self, dx: float, dy: float) -> "RawFace":
        """The same face in a frame whose origin is (-dx, -dy) from this one's (a tile's or crop's face)."""
        move = lambda pts: tuple((x + dx, y + dy) for x, y in pts) if pts else pts  # noqa: E731
        return RawFace(self.cx + dx, self.cy + dy, self.w, self.h, self.score, move(self.eyes), move(self.landmarks))


def similarity_transform(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (scale, rotation, shift) that best maps points ``src`` onto ``dst`` in weighted least
    squares (the closed form of Umeyama 1991, without reflection)."""
    w = weights / weights.sum()
    ms, md = w @ src, w @ dst
    s, d = src - ms, dst - md
    norm = w @ (s ** 2).sum(1)
    a = w @ (s * d).sum(1) / norm                                   # scale x cos
    b = w @ (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]) / norm         # scale x sin
    rot = np.array([[a, -b], [b, a]])
    return np.hstack([rot, (md - rot @ ms)[:, None]])


class Detector(ABC):
    name: str = ""

    @classmethod
    @abstractmethod
    def availability(cls) -> tuple[bool, str]:
        """(True, "") when usable here, else (False, why not)."""

    def __init__(self, spec: ModelSpec, backend: str | None = None, threads: int = 2, min_score: float | None = None):
        self.spec = spec
        crop = spec.get("crop", {})
        self.crop_scale = float(crop.get("scale", 1.0))
        self.crop_dx = float(crop.get("dx", 0.0))
        self.crop_dy = float(crop.get("dy", 0.0))
        template = crop.get("landmarks") or {}
        self.template = np.asarray(template["points"], float) if template.get("points") else None
        self.template_weights = np.asarray(template.get("weights") or [1.0] * len(template.get("points", [])), float)
        self.min_score = float(min_score if min_score is not None else spec.get("min_score", 0.5))
        self.threads = threads

    @abstractmethod
    def detect_raw(self, image: np.ndarray) -> list[RawFace]:
        """Faces in a BGR uint8 image, in the detector's own box framing."""

    def describe(self) -> dict:
        return {"detector": self.name, "model": self.spec.name}

    def reset(self, new_scene: bool = False) -> None:
        """Forget what earlier frames showed (a new source; with ``new_scene``, a still image unrelated to the frame
        before, which a detector may search more thoroughly); detectors with memory override it."""

    def detect(self, image: np.ndarray, landmarks: bool = True) -> list[Detection]:
        """Faces as the classifier's crops; ``landmarks=False`` skips the landmark alignment (for a classifier
        trained on box crops, which would not use it)."""
        return [self.to_detection(f, landmarks) for f in self.detect_raw(image)]

    def to_detection(self, f: RawFace, landmarks: bool = True) -> Detection:
        """A raw face as the classifier's crop: the calibrated square, and with ``landmarks`` the landmark
        alignment where the detector has a template and the face its landmarks."""
        size = (f.w + f.h) / 2
        side = size * self.crop_scale
        cx, cy = f.cx + self.crop_dx * size, f.cy + self.crop_dy * size
        to_crop = None
        if landmarks and self.template is not None and f.landmarks and len(f.landmarks) == len(self.template):
            m = similarity_transform(np.asarray(f.landmarks, float), self.template, self.template_weights)
            to_crop = tuple(float(v) for v in m.ravel())
        return Detection((cx - side / 2, cy - side / 2, side, side), f.score, f.eyes, to_crop)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3, containment: float = 1.01) -> list[int]:
    """Greedy non-maximum suppression on (N, 4) x1, y1, x2, y2 boxes; returns kept indices.

    A box is also suppressed when ``containment`` or more of the smaller box lies inside the
    kept one: a face box enclosing another face box is the same face at another scale.
    """
    order = np.argsort(-scores)
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(boxes[i, 0], boxes[order[1:], 0])
        yy1 = np.maximum(boxes[i, 1], boxes[order[1:], 1])
        xx2 = np.minimum(boxes[i, 2], boxes[order[1:], 2])
        yy2 = np.minimum(boxes[i, 3], boxes[order[1:], 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        iou = inter / (area[i] + area[order[1:]] - inter + 1e-9)
        inside = inter / (np.minimum(area[i], area[order[1:]]) + 1e-9)
        order = order[1:][(iou < iou_threshold) & (inside < containment)]
    return keep
