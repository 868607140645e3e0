"""How two classifiers compare on the same faces (``ferdesk run --compare``, the window's Compare view).

``Agreement`` takes processed frames whose faces carry a second opinion (``FaceResult.compare``) and keeps:
the share of faces on which both give the same label, the mean absolute difference of their probabilities
(over faces and classes), the confusion between them (rows: the running model, A; columns: the comparison
model, B), and each model's time per face (its stage's time over the frame's faces). No Qt.
"""
from __future__ import annotations

import numpy as np

from ferdesk.types import FrameResult


class Agreement:
    def __init__(self, labels):
        self.labels = tuple(labels)
        k = len(self.labels)
        self.confusion = np.zeros((k, k), int)
        self.faces = 0
        self.same = 0
        self._abs_diff = 0.0
        self._ms = {"a": [], "b": []}
        self.model_a: str | None = None
        self.model_b: str | None = None
        self.backend_a: str | None = None
        self.backend_b: str | None = None

    def add(self, result: FrameResult, model: str | None = None, backend: str | None = None) -> tuple[int, int]:
        """Count a frame; returns (faces compared, faces on which the two agree) in it."""
        compared = [f for f in result.faces if f.compare is not None]
        if not compared:
            return 0, 0
        self.model_a, self.backend_a = model or self.model_a, backend or self.backend_a
        self.model_b, self.backend_b = compared[0].compare.model, compared[0].compare.backend
        same = 0
        for f in compared:
            a, b = self.labels.index(f.label), self.labels.index(f.compare.label)
            self.confusion[a, b] += 1
            same += a == b
            self._abs_diff += float(np.abs(np.subtract(f.probs, f.compare.probs)).mean())
        self.faces += len(compared)
        self.same += same
        t = result.timings_ms
        if "classify" in t and "compare" in t:
            self._ms["a"].append(t["classify"] / len(result.faces))
            self._ms["b"].append(t["compare"] / len(result.faces))
        return len(compared), same

    @property
    def agreement(self) -> float | None:
        return self.same / self.faces if self.faces else None

    def summary(self) -> dict:
        """Plain data for the command line's JSON and the window."""
        def per_face(ms):
            return {"p50": round(float(np.percentile(ms, 50)), 3), "p95": round(float(np.percentile(ms, 95)), 3)} if ms else None

        return {
            "a": {"model": self.model_a, "backend": self.backend_a, "ms_per_face": per_face(self._ms["a"])},
            "b": {"model": self.model_b, "backend": self.backend_b, "ms_per_face": per_face(self._ms["b"])},
            "faces": self.faces,
            "agreement": round(self.agreement, 4) if self.agreement is not None else None,
            "mean_abs_prob_diff": round(self._abs_diff / self.faces, 4) if self.faces else None,
            "labels": list(self.labels),
            "confusion": self.confusion.tolist(),
        }
