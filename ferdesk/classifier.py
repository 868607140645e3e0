"""An expression classifier: a catalog model on one backend, batched over faces."""
from __future__ import annotations

import numpy as np

from ferdesk.catalog import ModelSpec, check_file
from ferdesk.engines import engines
from ferdesk.errors import ModelError


def pick_backend(spec: ModelSpec, wanted: str | None = None) -> str:
    """The backend to run ``spec`` on: ``wanted`` if it can, else the first available one with a file."""
    if wanted:
        cls = engines.get(wanted)
        ok, why = cls.availability()
        if not ok:
            raise ModelError(f"backend {wanted} is not available: {why}")
        if cls.file_for(spec) is None:
            raise ModelError(f"model {spec.name} has no {'/'.join(cls.formats)} file for backend {wanted} (has: {', '.join(spec.formats)})")
        return wanted
    for name, cls in engines:
        if cls.file_for(spec) is not None and cls.availability()[0]:
            return name
    raise ModelError(f"no available backend can run model {spec.name} (files: {', '.join(spec.formats) or 'none'})")


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class Classifier:
    def __init__(self, spec: ModelSpec, backend: str | None = None, threads: int = 2, warmup: bool = True):
        if spec.task != "classifier":
            raise ModelError(f"model {spec.name} is a {spec.task}, not a classifier")
        self.spec = spec
        self.backend = pick_backend(spec, backend)
        engine_cls = engines.get(self.backend)
        self.file = engine_cls.file_for(spec)
        check_file(self.file)
        self.input = spec.input_for(self.file)
        self.engine = engine_cls(self.file.path, threads=threads, precision=self.file.precision)
        self.labels = spec.labels
        #: the crop this network was trained on: "box" (the detector's calibrated square, FER2013's framing)
        #: or "landmarks" (the landmark alignment, for networks trained on such crops of real photographs)
        self.crop_alignment = spec.get("crop_alignment", "box")
        self.outputs_probabilities = spec.get("output", "probabilities") == "probabilities"
        self.feature_size = int((spec.get("features") or {}).get("size", 0))
        if warmup:
            self.engine.warmup()

    @property
    def size(self) -> tuple[int, int]:
        return self.input.width, self.input.height

    @property
    def has_features(self) -> bool:
        return self.feature_size > 0

    def classify(self, crops: np.ndarray) -> np.ndarray:
        """(N, H, W) uint8 gray crops -> (N, C) probabilities."""
        return self.classify_with_features(crops)[0]

    def classify_with_features(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """(N, H, W) uint8 gray crops -> ((N, C) probabilities, (N, F) features or None when the model has none)."""
        if len(crops) == 0:
            feats = np.zeros((0, self.feature_size), np.float32) if self.has_features else None
            return np.zeros((0, len(self.labels)), np.float32), feats
        outs = self.engine.run(self.input.to_tensor(crops))
        # outputs are told apart by width: backends do not all keep the output names or order
        out = next((o for o in outs if o.shape[-1] == len(self.labels)), outs[0]).astype(np.float32)
        feats = None
        if self.has_features:
            feats = next((o for o in outs if o.shape[-1] == self.feature_size), None)
            if feats is None:
                raise ModelError(f"model {self.spec.name}: the catalog promises {self.feature_size} features but the file has no such output")
            feats = feats.astype(np.float32)
        if not self.outputs_probabilities:
            return softmax(out), feats
        # INT8 graphs may quantise their softmax (steps of 1/256 that do not quite sum to one)
        return out / np.maximum(out.sum(axis=1, keepdims=True), 1e-12), feats

    def describe(self) -> dict:
        return {"model": self.spec.name, "file": self.file.path.name, "precision": self.file.precision, **self.engine.describe()}
