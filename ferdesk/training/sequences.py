"""Synthetic face tracks from still FER2013 faces, for training and checking temporal heads.

FER2013 has one image per face, but a live track is many frames of one face: the head moves,
the light flickers, the camera adds noise and blur, and the detector's box wobbles around the
face. ``synthesise_track`` turns one 48x48 face into ``T`` such frames (the crops the pipeline
would feed the classifier). Motion follows an AR(1) process per track (``smooth`` from 0, a
fresh shake every frame, to 0.9, a slow drift) with a per-track amount, so the set spans still
faces to strong shaking. ``splice`` makes tracks whose expression changes part-way (the target
is then the last frame's label), so a head learns to follow a change instead of averaging it away.

Not the benchmark's generator: amounts, motion model and camera effects are drawn per track
from wider ranges, and every parameter is a function argument.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np


@dataclass(frozen=True)
class TrackStyle:
    """Per-frame disturbances at amount 1 (standard deviations)."""

    rotation_deg: float = 6.0      # head roll left after eye levelling, plus detector angle error
    scale: float = 0.06            # head distance and detector box size
    shift: float = 0.04            # head motion and detector box position, fraction of the face
    gain: float = 0.12             # exposure changes
    offset: float = 8.0            # grey levels
    noise: float = 3.0             # sensor noise, grey levels
    max_amount: float = 1.5        # per-track amount drawn from U(0, max_amount)
    blur_prob: float = 0.3         # tracks seen through a soft lens or motion blur

    def scaled(self, factor: float) -> "TrackStyle":
        """Every disturbance ``factor`` times stronger: per-track amounts, sensor noise and the share
        of blurred tracks (capped at all of them)."""
        return replace(self, noise=self.noise * factor, max_amount=self.max_amount * factor,
                       blur_prob=min(1.0, self.blur_prob * factor))


def synthesise_track(face: np.ndarray, frames: int, rng: np.random.Generator, style: TrackStyle = TrackStyle(),
                     amount: float | None = None, smooth: float | None = None) -> np.ndarray:
    """(48, 48) uint8 face -> (frames, 48, 48) uint8 crops of one synthetic track."""
    h, w = face.shape
    j = rng.uniform(0, style.max_amount) if amount is None else amount
    rho = rng.uniform(0, 0.9) if smooth is None else smooth
    blur = rng.uniform(0.4, 1.0) if rng.random() < style.blur_prob else 0.0
    state = rng.normal(size=5)
    out = np.empty((frames, h, w), np.uint8)
    for t in range(frames):
        state = rho * state + np.sqrt(1 - rho ** 2) * rng.normal(size=5)
        angle, scale, dx, dy, gain = state * [style.rotation_deg, style.scale, style.shift, style.shift, style.gain] * j
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1 + scale)
        m[:, 2] += dx * w, dy * h
        crop = cv2.warpAffine(face, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        if blur:
            crop = cv2.GaussianBlur(crop, (0, 0), blur)
        crop = crop * (1 + gain) + rng.normal(0, style.offset * j / 3) + rng.normal(0, style.noise, crop.shape)
        out[t] = np.clip(crop, 0, 255).astype(np.uint8)
    return out


def synthesise_tracks(images: np.ndarray, labels: np.ndarray, frames: int, seed: int, splice: float = 0.25,
                      style: TrackStyle = TrackStyle()) -> tuple[np.ndarray, np.ndarray]:
    """One track per image: (S, frames, 48, 48) crops and (S, frames) per-frame labels.

    A ``splice`` fraction of tracks switch to another face from a random frame on (a change of
    expression; FER2013 has no second image of the same person, so the face changes too).
    """
    rng = np.random.default_rng(seed)
    n = len(images)
    crops = np.empty((n, frames, *images.shape[1:]), np.uint8)
    per_frame = np.repeat(labels[:, None], frames, axis=1).astype(np.int64)
    for i in range(n):
        crops[i] = synthesise_track(images[i], frames, rng, style)
        if rng.random() < splice:
            other = int(rng.integers(n))
            at = int(rng.integers(1, frames))
            crops[i, at:] = synthesise_track(images[other], frames - at, rng, style)
            per_frame[i, at:] = labels[other]
    return crops, per_frame
