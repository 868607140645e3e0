"""The model catalog (``models/catalog.json``): the one description of every bundled model.

The CLI, the pipeline and the app menus read it; so does an outside script that only has
onnxruntime. The schema is documented in the README ("Model catalog").
"""
from __future__ import annotations

import hashlib
import os
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from ferdesk.errors import ModelError

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
CATALOG_PATH = MODELS_DIR / "catalog.json"
TASKS = ("detector", "classifier", "temporal")


@dataclass(frozen=True)
class InputSpec:
    """How to turn an image into the model's input tensor: ``x = (pixel * scale - mean) / std``."""

    width: int
    height: int
    channels: int
    colour: str           # "gray", "rgb" or "bgr"
    layout: str           # "NCHW" or "NHWC"
    dtype: str            # "float32", "float16", "uint8", "int8"
    scale: float
    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def from_dict(cls, d: dict) -> "InputSpec":
        return cls(
            width=int(d["width"]), height=int(d["height"]), channels=int(d["channels"]),
            colour=d["colour"], layout=d["layout"], dtype=d["dtype"], scale=float(d["scale"]),
            mean=tuple(float(m) for m in d["mean"]), std=tuple(float(s) for s in d["std"]),
        )

    def to_tensor(self, images: np.ndarray) -> np.ndarray:
        """``images``: (N, H, W) for gray or (N, H, W, 3) in this spec's colour order, uint8."""
        if self.dtype == "float32" and len(set(self.std)) == 1 and len(images):
            # One OpenCV pass does scale, mean and the NCHW transpose: (pixel - mean/scale) * scale/std.
            mean = tuple(m / self.scale for m in self.mean) if self.channels == 3 else self.mean[0] / self.scale
            blob = cv2.dnn.blobFromImages(list(images), self.scale / self.std[0], mean=mean, swapRB=False, crop=False)
            return blob if self.layout == "NCHW" else np.ascontiguousarray(blob.transpose(0, 2, 3, 1))
        x = images.astype(np.float32)
        if x.ndim == 3:
            x = x[..., None]
        x = (x * self.scale - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        if self.layout == "NCHW":
            x = x.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(x, dtype=self.dtype if self.dtype.startswith("float") else np.float32)


@dataclass(frozen=True)
class ModelFile:
    format: str           # "onnx" or "tflite"
    path: Path
    size_bytes: int
    sha256: str
    precision: str        # "fp32", "fp16", "int8"
    layout: str | None    # overrides the input spec's layout for this file (TFLite files are NHWC)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    labels: tuple[str, ...]
    input: InputSpec | None
    files: tuple[ModelFile, ...]
    raw: dict = field(repr=False, compare=False)

    @property
    def primary(self) -> ModelFile | None:
        return self.files[0] if self.files else None

    def file_for(self, fmt: str) -> ModelFile | None:
        return next((f for f in self.files if f.format == fmt), None)

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(f.format for f in self.files)

    def get(self, key: str, default=None):
        return self.raw.get(key, default)

    def input_for(self, mf: ModelFile) -> InputSpec:
        """The input spec for one of this model's files (its own layout when it has one)."""
        if self.input is None:
            raise ModelError(f"model {self.name} has no input spec")
        return replace(self.input, layout=mf.layout) if mf.layout else self.input


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Catalog:
    def __init__(self, models: list[ModelSpec], path: Path):
        self.models = models
        self.path = path

    @classmethod
    def load(cls, path: Path | None = None) -> "Catalog":
        """Load ``path``, else ``$FERDESK_CATALOG``, else the bundled ``models/catalog.json``."""
        path = Path(path or os.environ.get("FERDESK_CATALOG") or CATALOG_PATH)
        try:
            doc = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ModelError(f"model catalog not found: {path}") from None
        except json.JSONDecodeError as e:
            raise ModelError(f"model catalog {path} is not valid JSON: {e}") from None
        base = Path(path).parent
        models = []
        for entry in doc["models"]:
            files = tuple(
                ModelFile(
                    f["format"], base / f["path"], int(f["size_bytes"]), f["sha256"],
                    f.get("precision", "fp32"), f.get("layout"),
                )
                for f in entry.get("files", [])
            )
            spec = InputSpec.from_dict(entry["input"]) if "input" in entry else None
            models.append(ModelSpec(entry["name"], entry["task"], tuple(entry.get("labels", [])), spec, files, entry))
        return cls(models, Path(path))

    def get(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.models)
        raise ModelError(f"unknown model {name!r} (known: {known})")

    def by_task(self, task: str) -> list[ModelSpec]:
        return [m for m in self.models if m.task == task]

    def default(self, task: str) -> ModelSpec:
        for m in self.by_task(task):
            if m.get("default"):
                return m
        found = self.by_task(task)
        if not found:
            raise ModelError(f"the catalog has no {task} model")
        return found[0]


def check_file(mf: ModelFile) -> None:
    """Raise a one-line ModelError when a bundled file is missing or not the file the catalog names."""
    if not mf.path.exists():
        raise ModelError(f"model file missing: {mf.path}")
    size = mf.path.stat().st_size
    if size != mf.size_bytes or file_digest(mf.path) != mf.sha256:
        raise ModelError(f"model file {mf.path} is corrupt or changed (size {size}, catalog says {mf.size_bytes}; checksum differs)")
