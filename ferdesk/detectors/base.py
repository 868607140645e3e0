"""The face detector interface.

A detector finds faces in a BGR frame and returns raw boxes in its own framing. The base
class maps each raw box to the crop the classifier was trained on, using the detector's
calibrated ``crop`` entry in the catalog (``scale`` of the raw box size, centre offset
``dx``/``dy`` in raw box sizes), measured by ``python -m ferdesk.training.calibrate_crop``.
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
        self.min_score = float(min_score if min_score is not None else spec.get("min_score", 0.5))
        self.threads = threads

    @abstractmethod
    def detect_raw(self, image: np.ndarray) -> list[RawFace]:
        """Faces in a BGR uint8 image, in the detector's own box framing."""

    def describe(self) -> dict:
        return {"detector": self.name, "model": self.spec.name}

    def reset(self) -> None:
        """Forget what earlier frames showed (a new scene or source); detectors with memory override it."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        out = []
        for f in self.detect_raw(image):
            size = (f.w + f.h) / 2
            side = size * self.crop_scale
            cx, cy = f.cx + self.crop_dx * size, f.cy + self.crop_dy * size
            out.append(Detection((cx - side / 2, cy - side / 2, side, side), f.score, f.eyes))
        return out


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
