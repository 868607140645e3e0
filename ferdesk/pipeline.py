"""Frame -> detect -> track -> crop -> classify -> per-face results with per-stage timings. No Qt.

The work splits into two stages, ``locate`` (detect, track, crop) and ``classify``, so a
runner can overlap them on two cores (``ferdesk.runner``); ``process`` runs both in turn.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from ferdesk.classifier import Classifier
from ferdesk.crop import crop_faces
from ferdesk.detectors import Detector
from ferdesk.prior import apply_prior
from ferdesk.temporal import NoTemporal, TemporalHead
from ferdesk.tracking import IouTracker
from ferdesk.types import Detection, FaceResult, Frame, FrameResult, SecondOpinion

@dataclass(frozen=True)
class Located:
    """The first stage's output for one frame: faces found, their ids and their crops."""

    frame: Frame
    detections: tuple[Detection, ...]
    face_ids: tuple[int, ...]
    crops: np.ndarray
    timings_ms: dict
    compare_crops: np.ndarray | None = None   # for a comparison classifier that wants another crop
    poses: tuple | None = None                # HeadPose per face, with a head-pose estimator


class Pipeline:
    def __init__(self, detector: Detector, classifier: Classifier, tracker: IouTracker | None = None, align: bool = True,
                 temporal: TemporalHead | None = None, crop_alignment: str | None = None,
                 prior_weights: np.ndarray | None = None, compare: Classifier | None = None,
                 compare_prior_weights: np.ndarray | None = None, head_pose=None):
        """``crop_alignment``: "box" or "landmarks"; by default the classifier's own (what it was trained on).
        ``prior_weights``: the class prior's factors (``ferdesk.prior``), applied to the final probabilities.
        ``compare``: a second classifier run on the same faces, frame by frame (no temporal mode), each cut as
        it was trained to see them; its answer rides with each face (``FaceResult.compare``).
        ``head_pose``: a ``HeadPoseEstimator``, run on each face in the locate stage (``FaceResult.pose``)."""
        self.detector = detector
        self.classifier = classifier
        self.tracker = tracker or IouTracker()
        self.align = align
        self.temporal = temporal or NoTemporal()
        self.crop_alignment = crop_alignment
        self.prior_weights = prior_weights
        self.compare = compare
        self.compare_prior_weights = compare_prior_weights
        self.head_pose = head_pose

    def reset(self) -> None:
        """A new source: no track, detector hint or temporal window carries over (face ids keep counting)."""
        self.tracker.end_tracks()
        self.detector.reset()
        self.temporal.reset()

    def locate(self, frame: Frame) -> Located:
        if frame.new_scene:
            self.tracker.end_tracks()
            self.detector.reset(new_scene=True)
        t0 = time.perf_counter()
        landmarks = (self.crop_alignment or self.classifier.crop_alignment) == "landmarks"
        compare = self.compare
        compare_landmarks = compare is not None and (self.crop_alignment or compare.crop_alignment) == "landmarks"
        dets = self.detector.detect(frame.image, landmarks or compare_landmarks)
        t1 = time.perf_counter()
        ids = self.tracker.update([d.box for d in dets])
        t2 = time.perf_counter()
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        crops = crop_faces(gray, dets, self.classifier.size, self.align, landmarks)
        compare_crops = None
        if compare is not None and (compare.size != self.classifier.size or compare_landmarks != landmarks):
            compare_crops = crop_faces(gray, dets, compare.size, self.align, compare_landmarks)
        t3 = time.perf_counter()
        timings = {"detect": (t1 - t0) * 1e3, "track": (t2 - t1) * 1e3, "crop": (t3 - t2) * 1e3}
        poses = None
        if self.head_pose is not None:
            poses = tuple(self.head_pose.estimate(frame.image, d) for d in dets)
            timings["pose"] = (time.perf_counter() - t3) * 1e3
        return Located(frame, tuple(dets), tuple(ids), crops, timings, compare_crops, poses)

    def classify(self, located: Located) -> FrameResult:
        if located.frame.new_scene:
            self.temporal.reset()
        t0 = time.perf_counter()
        probs, features = self.classifier.classify_with_features(located.crops)
        t1 = time.perf_counter()
        probs = apply_prior(self.temporal.update(located.face_ids, probs, features), self.prior_weights)
        t2 = time.perf_counter()
        labels = self.classifier.labels
        opinions = self._second_opinions(located)
        t3 = time.perf_counter()
        poses = located.poses or (None,) * len(located.face_ids)
        faces = tuple(
            FaceResult(fid, tuple(float(v) for v in d.box), d.score, tuple(float(p) for p in pr),
                       labels[int(np.argmax(pr))], float(np.max(pr)), opinion, pose)
            for fid, d, pr, opinion, pose in zip(located.face_ids, located.detections, probs, opinions, poses)
        )
        f = located.frame
        timings = {**located.timings_ms, "classify": (t1 - t0) * 1e3}
        if not isinstance(self.temporal, NoTemporal):
            timings["temporal"] = (t2 - t1) * 1e3
        if self.compare is not None:
            timings["compare"] = (t3 - t2) * 1e3
        return FrameResult(f.index, f.time_s, f.wall_time, f.size, faces, timings)

    def _second_opinions(self, located: Located) -> list[SecondOpinion | None]:
        b = self.compare
        if b is None:
            return [None] * len(located.face_ids)
        crops = located.compare_crops if located.compare_crops is not None else located.crops
        w, h = b.size
        if crops.shape[1:3] != (h, w):   # located before the comparison was switched on
            crops = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_AREA) for c in crops]) if len(crops) else \
                np.zeros((0, h, w), np.uint8)
        probs = apply_prior(b.classify(crops), self.compare_prior_weights)
        return [SecondOpinion(b.spec.name, b.backend, tuple(float(p) for p in pr), b.labels[int(np.argmax(pr))],
                              float(np.max(pr))) for pr in probs]

    def process(self, frame: Frame) -> FrameResult:
        return self.classify(self.locate(frame))
