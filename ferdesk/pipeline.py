"""Frame -> detect -> track -> crop -> classify -> per-face results with per-stage timings. No Qt."""
from __future__ import annotations

import time

import cv2
import numpy as np

from ferdesk.classifier import Classifier
from ferdesk.crop import crop_faces
from ferdesk.detectors import Detector
from ferdesk.tracking import IouTracker
from ferdesk.types import FaceResult, Frame, FrameResult

STAGES = ("detect", "track", "crop", "classify")


class Pipeline:
    def __init__(self, detector: Detector, classifier: Classifier, tracker: IouTracker | None = None, align: bool = True):
        self.detector = detector
        self.classifier = classifier
        self.tracker = tracker or IouTracker()
        self.align = align

    def set_detector(self, detector: Detector) -> None:
        self.detector = detector
        self.tracker.reset()

    def set_classifier(self, classifier: Classifier) -> None:
        self.classifier = classifier

    def process(self, frame: Frame) -> FrameResult:
        t0 = time.perf_counter()
        dets = self.detector.detect(frame.image)
        t1 = time.perf_counter()
        ids = self.tracker.update([d.box for d in dets])
        t2 = time.perf_counter()
        gray = cv2.cvtColor(frame.image, cv2.COLOR_BGR2GRAY)
        crops = crop_faces(gray, dets, self.classifier.size, self.align)
        t3 = time.perf_counter()
        probs = self.classifier.classify(crops)
        t4 = time.perf_counter()
        labels = self.classifier.labels
        faces = tuple(
            FaceResult(fid, tuple(float(v) for v in d.box), d.score, tuple(float(p) for p in pr),
                       labels[int(np.argmax(pr))], float(np.max(pr)))
            for fid, d, pr in zip(ids, dets, probs)
        )
        timings = {"detect": (t1 - t0) * 1e3, "track": (t2 - t1) * 1e3, "crop": (t3 - t2) * 1e3, "classify": (t4 - t3) * 1e3}
        return FrameResult(frame.index, frame.time_s, frame.wall_time, frame.size, faces, timings)
