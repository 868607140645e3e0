"""Temporal heads: per tracked face, turn the per-frame probabilities into steadier ones.

A head keeps state per face id and forgets faces that are gone. ``off`` passes probabilities
through; ``ema`` is an exponential moving average (the cheap baseline the temporal model has
to beat); ``ema-restart`` is the same average restarted by the learned head's new-face rule (the
baseline given the head's one piece of non-smoothing logic, for a fair comparison); ``on`` is the
catalog's learned temporal model (a TT-LSTM) over a sliding window of each track's frame features.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque

import numpy as np

from ferdesk.catalog import Catalog, ModelSpec, check_file
from ferdesk.errors import ModelError
from ferdesk.registry import Registry


class TemporalHead(ABC):
    name: str = ""
    #: a human-readable name of the model behind the head (the catalog entry for learned heads)
    model: str = ""

    @classmethod
    def create(cls, catalog: Catalog | None = None, classifier=None) -> "TemporalHead":
        """Build the head for a stack; learned heads check the classifier gives the features they read."""
        return cls()

    @abstractmethod
    def update(self, face_ids: tuple[int, ...], probs: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """(N, C) per-frame probabilities (and (N, F) features) of the faces ``face_ids`` -> (N, C) smoothed ones."""

    def reset(self) -> None:
        pass


temporal_heads: Registry[TemporalHead] = Registry("temporal mode")


@temporal_heads.register("off")
class NoTemporal(TemporalHead):
    def update(self, face_ids, probs, features=None):
        return probs


def compatible_classifiers(catalog: Catalog, spec: ModelSpec) -> list[str]:
    """The classifier models whose features the temporal model ``spec`` reads."""
    space = (spec.get("reads") or {}).get("features")
    return [m.name for m in catalog.by_task("classifier") if (m.get("features") or {}).get("space") == space and space]


def temporal_model_for(catalog: Catalog, classifier) -> ModelSpec:
    """The catalog's temporal model that reads ``classifier``'s features (the default one when it does)."""
    default = catalog.default("temporal")
    fitting = [h for h in catalog.by_task("temporal")
               if classifier.spec.name in compatible_classifiers(catalog, h) and tuple(classifier.labels) == tuple(h.labels)]
    if not fitting:
        usable = sorted({c for h in catalog.by_task("temporal") for c in compatible_classifiers(catalog, h)})
        raise ModelError(f"temporal model {default.name} reads {default.get('reads', {}).get('features')} features, "
                         f"which model {classifier.spec.name} does not give; temporal models run with: "
                         f"{', '.join(usable) or 'none in the catalog'}")
    return default if default in fitting else fitting[0]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / max(float(np.linalg.norm(a) * np.linalg.norm(b)), 1e-12))


def another_face(recent: deque, features: np.ndarray, below: float | None) -> bool:
    """The new-face rule: a frame whose features are less like the mean of the track's ``recent`` ones
    than ``below`` (cosine) shows another face than the one the track held (``None``: never)."""
    return bool(recent) and below is not None and cosine(np.mean(recent, axis=0), features) < below


@temporal_heads.register("ema")
class EmaTemporal(TemporalHead):
    """p_t = alpha * frame_t + (1 - alpha) * p_(t-1), per face id; a new id starts from its frame."""

    def __init__(self, alpha: float = 0.4):
        self.alpha = alpha
        self._state: dict[int, np.ndarray] = {}

    def update(self, face_ids, probs, features=None):
        out = np.empty_like(probs)
        for i, fid in enumerate(face_ids):
            prev = self._state.get(fid)
            out[i] = probs[i] if prev is None else self.alpha * probs[i] + (1 - self.alpha) * prev
        self._state = {fid: out[i] for i, fid in enumerate(face_ids)}
        return out

    def reset(self) -> None:
        self._state = {}


@temporal_heads.register("ema-restart")
class EmaRestartTemporal(EmaTemporal):
    """The EMA, started again from the frame when the learned head for this classifier would restart
    its window: the same rule (``another_face``), the same threshold (that head's catalog entry's
    ``new_face_below``) over the same number of recent frames (its ``window``)."""

    def __init__(self, new_face_below: float | None, window: int, alpha: float = 0.4):
        super().__init__(alpha)
        self.new_face_below = new_face_below
        self.window = window
        self._recent: dict[int, deque] = {}

    @classmethod
    def create(cls, catalog: Catalog | None = None, classifier=None) -> "EmaRestartTemporal":
        catalog = catalog or Catalog.load()
        spec = temporal_model_for(catalog, classifier) if classifier is not None else catalog.default("temporal")
        return cls(spec.get("new_face_below"), int(spec.get("window")))

    def update(self, face_ids, probs, features=None):
        if len(face_ids) and features is None:
            raise ModelError("the moving average with restarts needs the classifier's features")
        recent = {}
        for i, fid in enumerate(face_ids):
            recent[fid] = self._recent.get(fid, deque(maxlen=self.window))
            if another_face(recent[fid], features[i], self.new_face_below):
                recent[fid].clear()
                self._state.pop(fid, None)
            recent[fid].append(features[i])
        self._recent = recent
        return super().update(face_ids, probs, features)

    def reset(self) -> None:
        super().reset()
        self._recent = {}


FROM_CATALOG = object()  # LearnedTemporal's new_face_below: the catalog entry's value


@temporal_heads.register("on")
class LearnedTemporal(TemporalHead):
    """The catalog's temporal model, run per track on the features of its last ``window`` frames.

    A track younger than the window is left-padded with zero rows (as in training). All tracks
    of a frame go through the model in one batch. A track unseen for ``forget_after`` frames is
    forgotten; one that comes back within that keeps its history.

    A tracker matches boxes by overlap, so a different face that appears where another just was
    (one person leaves the chair and another sits down) keeps the old id. When a frame's features
    are less like the mean of the track's window than ``new_face_below`` (cosine similarity; the
    catalog entry's ``new_face_below``, set from the head's training tracks), the window starts
    again from that frame instead of smoothing across two faces. ``None`` turns this off.

    A model whose catalog entry has ``reads.probs`` also reads the same frames' class probabilities
    (its ONNX input ``probs``, (N, W, C), kept and padded alongside the features).
    """

    def __init__(self, spec: ModelSpec, threads: int = 1, forget_after: int = 15, new_face_below: float | None | object = FROM_CATALOG):
        from ferdesk.engines import engines

        if spec.task != "temporal" or not spec.files:
            raise ModelError(f"model {spec.name} is not a temporal model")
        mf = spec.file_for("onnx")
        if mf is None:
            raise ModelError(f"temporal model {spec.name} has no ONNX file")
        check_file(mf)
        engine_cls = engines.get("onnxruntime")
        ok, why = engine_cls.availability()
        if not ok:
            raise ModelError(f"temporal model {spec.name} needs onnxruntime: {why}")
        self.spec = spec
        self.model = spec.name
        self.window = int(spec.get("window"))
        self.feature_size = int(spec.get("reads")["size"])
        self.reads_probs = bool(spec.get("reads").get("probs"))
        self.engine = engine_cls(mf.path, threads=threads)
        wanted = ["features", "probs"] if self.reads_probs else ["features"]
        if self.engine.input_names != wanted:
            raise ModelError(f"temporal model {spec.name}: its file's inputs are {self.engine.input_names}, "
                             f"its catalog entry says {wanted}")
        self.n_classes = len(spec.labels)
        self.forget_after = forget_after
        self.new_face_below = spec.get("new_face_below") if new_face_below is FROM_CATALOG else new_face_below
        self._history: dict[int, deque] = {}
        self._prob_history: dict[int, deque] = {}
        self._unseen: dict[int, int] = {}
        for _ in range(3):                                  # warm up
            self._run(np.zeros((1, self.window, self.feature_size), np.float32),
                      np.zeros((1, self.window, self.n_classes), np.float32))

    @classmethod
    def create(cls, catalog: Catalog | None = None, classifier=None) -> "LearnedTemporal":
        """The temporal model that reads ``classifier``'s features (the default one when it does)."""
        catalog = catalog or Catalog.load()
        return cls(catalog.default("temporal") if classifier is None else temporal_model_for(catalog, classifier))

    def update(self, face_ids, probs, features=None):
        seen = set(face_ids)
        for fid in list(self._history):
            if fid not in seen:
                self._unseen[fid] = self._unseen.get(fid, 0) + 1
                if self._unseen[fid] > self.forget_after:
                    del self._history[fid], self._prob_history[fid], self._unseen[fid]
        if len(face_ids) == 0:
            return probs
        if features is None or features.shape[-1] != self.feature_size:
            raise ModelError(f"temporal model {self.model} needs {self.feature_size} features per face from the classifier")
        x = np.zeros((len(face_ids), self.window, self.feature_size), np.float32)
        p = np.zeros((len(face_ids), self.window, probs.shape[-1]), np.float32)
        for i, fid in enumerate(face_ids):
            hist = self._history.setdefault(fid, deque(maxlen=self.window))
            prob_hist = self._prob_history.setdefault(fid, deque(maxlen=self.window))
            self._unseen.pop(fid, None)
            if another_face(hist, features[i], self.new_face_below):
                hist.clear()
                prob_hist.clear()
            hist.append(features[i])
            prob_hist.append(probs[i])
            x[i, self.window - len(hist):] = np.asarray(hist)
            p[i, self.window - len(prob_hist):] = np.asarray(prob_hist)
        logits = self._run(x, p)[0].astype(np.float32)
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def _run(self, features: np.ndarray, probs: np.ndarray) -> list[np.ndarray]:
        if self.reads_probs:
            return self.engine.run_inputs({"features": features, "probs": probs})
        return self.engine.run(features)

    def reset(self) -> None:
        self._history, self._prob_history, self._unseen = {}, {}, {}


def make_temporal(name: str | None, catalog: Catalog | None = None, classifier=None) -> TemporalHead:
    return temporal_heads.get(name or "off").create(catalog, classifier)
