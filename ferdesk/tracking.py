"""Stable face ids across frames by greedy IoU matching (SORT without the motion model).

Faces move little between frames at camera rates, so overlap alone holds ids; a track
survives ``max_missed`` frames without a match so that a missed detection or a blink of
occlusion does not renumber the face.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[float, float, float, float]


def iou_matrix(a: list[Box], b: list[Box]) -> np.ndarray:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    A, B = np.asarray(a, float), np.asarray(b, float)
    ax2, ay2 = A[:, 0] + A[:, 2], A[:, 1] + A[:, 3]
    bx2, by2 = B[:, 0] + B[:, 2], B[:, 1] + B[:, 3]
    iw = np.clip(np.minimum(ax2[:, None], bx2[None]) - np.maximum(A[:, None, 0], B[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(ay2[:, None], by2[None]) - np.maximum(A[:, None, 1], B[None, :, 1]), 0, None)
    inter = iw * ih
    union = (A[:, 2] * A[:, 3])[:, None] + (B[:, 2] * B[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-9)


@dataclass
class Track:
    face_id: int
    box: Box
    missed: int = 0


class IouTracker:
    def __init__(self, min_iou: float = 0.3, max_missed: int = 5):
        self.min_iou = min_iou
        self.max_missed = max_missed
        self.tracks: list[Track] = []
        self._next_id = 1

    def reset(self) -> None:
        self.tracks = []
        self._next_id = 1

    def end_tracks(self) -> None:
        """Forget every track (a new scene) but keep counting ids, so no id is reused in one log."""
        self.tracks = []

    def update(self, boxes: list[Box]) -> list[int]:
        """Face ids for ``boxes`` (same order); unmatched boxes start new tracks."""
        ious = iou_matrix([t.box for t in self.tracks], boxes)
        ids = [0] * len(boxes)
        used_t, used_b = set(), set()
        for flat in np.argsort(-ious, axis=None):
            ti, bi = divmod(int(flat), len(boxes))
            if ious[ti, bi] < self.min_iou:
                break
            if ti in used_t or bi in used_b:
                continue
            used_t.add(ti)
            used_b.add(bi)
            track = self.tracks[ti]
            track.box, track.missed = boxes[bi], 0
            ids[bi] = track.face_id
        for ti, track in enumerate(self.tracks):
            if ti not in used_t:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        for bi, box in enumerate(boxes):
            if bi not in used_b:
                self.tracks.append(Track(self._next_id, box))
                ids[bi] = self._next_id
                self._next_id += 1
        return ids
