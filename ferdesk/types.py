"""Plain frozen data that crosses stages and threads: frames, detections, per-face results."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """One image from a source. ``image`` is BGR uint8 (H, W, 3)."""

    image: np.ndarray
    index: int          # 0-based frame index in the source
    time_s: float       # media time (files) or seconds since the source opened (live)
    wall_time: float    # time.time() when the frame was read
    new_scene: bool = False  # unrelated to the frame before (the next image of a folder): nothing carries over

    @property
    def size(self) -> tuple[int, int]:
        return self.image.shape[1], self.image.shape[0]


@dataclass(frozen=True)
class Detection:
    """A face found by a detector, in source pixels.

    ``box`` is the crop square the classifier sees (x, y, w, h), already mapped from the
    detector's raw box with that detector's calibrated margin. ``eyes`` holds the two eye
    centres (right eye, left eye in image coordinates) when the detector gives them.
    """

    box: tuple[float, float, float, float]
    score: float
    eyes: tuple[tuple[float, float], tuple[float, float]] | None = None
    #: the 2x3 similarity from source pixels to the unit crop (0..1 both ways) that puts the face's landmarks
    #: where FER2013 has them, row by row; None when the detector gives no landmarks or has no template
    to_crop: tuple[float, float, float, float, float, float] | None = None


@dataclass(frozen=True)
class SecondOpinion:
    """What the comparison classifier (``ferdesk run --compare``) says of the same face."""

    model: str
    backend: str
    probs: tuple[float, ...]
    label: str
    confidence: float


@dataclass(frozen=True)
class HeadPose:
    """Where a face points and how open its eyes are (``ferdesk.head_pose`` says how, and the signs)."""

    pitch: float           # degrees, positive looking up
    yaw: float             # degrees, positive turned toward the image's right
    roll: float            # degrees, positive tilted counterclockwise in the image
    eye_open_left: float   # the subject's left eye: lid gap over eye width
    eye_open_right: float
    presence: float        # the landmark network's face-presence probability


@dataclass(frozen=True)
class FaceResult:
    face_id: int
    box: tuple[float, float, float, float]
    score: float
    probs: tuple[float, ...]
    label: str
    confidence: float
    compare: SecondOpinion | None = None
    pose: HeadPose | None = None


@dataclass(frozen=True)
class FrameResult:
    frame_index: int
    time_s: float
    wall_time: float
    frame_size: tuple[int, int]
    faces: tuple[FaceResult, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)
