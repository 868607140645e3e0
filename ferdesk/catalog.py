"""The model catalog: the one description of every model ferdesk can run.

The installed package carries a slim set (``ferdesk/models/catalog.json``, package data: the three
tiers, the default temporal head and the detectors). Model packs add more: a folder with a
``catalog.json`` of the same schema, given with ``--models DIR``, listed in ``$FERDESK_MODELS``
(``os.pathsep``-separated), or installed as a distribution that registers an entry point in the
``ferdesk.model_packs`` group (the research zoo, ``ferdesk-zoo``, built from ``models/`` in the
repository). One reader merges them; a pack's entry whose name is already taken is skipped and a
pack never sets a default. The schema is documented in ``docs/catalog.md``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from importlib import metadata, resources
from pathlib import Path

import cv2
import numpy as np

from ferdesk.errors import ModelError

MODELS_DIR = Path(str(resources.files("ferdesk") / "models"))  # package data (a real folder in wheels and bundles)
CATALOG_PATH = MODELS_DIR / "catalog.json"
TASKS = ("detector", "classifier", "temporal")
PACK_ENTRY_POINTS = "ferdesk.model_packs"
BUNDLED = "bundled"
ZOO_HINT = ("the research zoo's models come with the ferdesk-zoo model pack: `pip install ./models` in a checkout, "
            "or --models DIR / FERDESK_MODELS for a folder")


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
    target: str | None = None     # the chip a compiled file is made for (rknn: rk3588, rk3566, rk3576)
    input: dict | None = None     # overrides of the input spec for this file (an NPU file taking raw pixels)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    task: str
    labels: tuple[str, ...]
    input: InputSpec | None
    files: tuple[ModelFile, ...]
    raw: dict = field(repr=False, compare=False)
    origin: str = BUNDLED  # "bundled", or the model pack the entry came from

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
        spec = replace(self.input, layout=mf.layout) if mf.layout else self.input
        if mf.input:
            spec = InputSpec.from_dict({**{k: getattr(spec, k) for k in spec.__dataclass_fields__}, **mf.input})
        return spec


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_catalog_file(path: Path, origin: str = BUNDLED) -> list[ModelSpec]:
    """The entries of one catalog document, their file paths resolved against its folder."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        entries = doc["models"]
        if not isinstance(entries, list):
            raise TypeError
    except FileNotFoundError:
        raise ModelError(f"model catalog not found: {path}") from None
    except json.JSONDecodeError as e:
        raise ModelError(f"model catalog {path} is not valid JSON: {e}") from None
    except (KeyError, TypeError):
        raise ModelError(f"model catalog {path} has no list of models") from None
    except OSError as e:
        raise ModelError(f"model catalog {path} cannot be read: {e.strerror or e}") from None
    base = path.parent
    models = []
    for entry in entries:
        try:
            files = tuple(
                ModelFile(
                    f["format"], base / f["path"], int(f["size_bytes"]), f["sha256"],
                    f.get("precision", "fp32"), f.get("layout"), f.get("target"), f.get("input"),
                )
                for f in entry.get("files", [])
            )
            spec = InputSpec.from_dict(entry["input"]) if "input" in entry else None
            models.append(ModelSpec(entry["name"], entry["task"], tuple(entry.get("labels", [])), spec, files, entry, origin))
        except (KeyError, TypeError, ValueError) as e:
            raise ModelError(f"model catalog {path} has a malformed entry {entry.get('name', '?') if isinstance(entry, dict) else entry!r}: {e!r}") from None
    return models


def pack_catalog_path(folder: Path | str) -> Path:
    """A model pack is a folder holding ``catalog.json``; a path to the file itself is accepted too."""
    folder = Path(folder).expanduser()
    path = folder if folder.suffix == ".json" else folder / "catalog.json"
    if not path.is_file():
        raise ModelError(f"model pack {folder} has no catalog.json" if folder.is_dir() else f"model pack not found: {folder}")
    return path


def installed_packs() -> tuple[list[tuple[str, Path]], list[str]]:
    """Model packs installed as distributions: (distribution name, catalog path) per entry point, and a
    one-line problem per pack that could not be loaded (a broken pack must not stop the app)."""
    found, problems = [], []
    for ep in metadata.entry_points(group=PACK_ENTRY_POINTS):
        name = ep.dist.name if ep.dist else ep.name
        try:
            found.append((name, pack_catalog_path(ep.load()())))
        except Exception as e:
            problems.append(f"installed model pack {name} ({ep.value}) skipped: {e}")
    return found, problems


def env_packs() -> list[Path]:
    return [Path(p) for p in os.environ.get("FERDESK_MODELS", "").split(os.pathsep) if p.strip()]


class Catalog:
    def __init__(self, models: list[ModelSpec], path: Path, packs: tuple[str, ...] = (), problems: tuple[str, ...] = ()):
        self.models = models
        self.path = path
        self.packs = packs        # the model packs merged in, by origin name
        self.problems = problems  # installed packs that were skipped, one line each

    @classmethod
    def load(cls, path: Path | None = None, packs: list[Path | str] | tuple = (), discover: bool | None = None) -> "Catalog":
        """The catalog at ``path`` (else ``$FERDESK_CATALOG``, else the bundled one), merged with model packs:
        ``packs`` (``--models DIR``), then, when ``discover`` (the default for the installed catalog, not for
        an explicit ``path``), ``$FERDESK_MODELS`` and the installed packs."""
        if discover is None:
            discover = path is None
        path = Path(path or os.environ.get("FERDESK_CATALOG") or CATALOG_PATH)
        models = read_catalog_file(path)
        sources = [(str(Path(p).expanduser()), pack_catalog_path(p)) for p in packs]
        problems: list[str] = []
        if discover:
            sources += [(str(p), pack_catalog_path(p)) for p in env_packs()]
            installed, problems = installed_packs()
            sources += installed
        taken = {m.name for m in models}
        merged = []
        for origin, pack_path in sources:
            if pack_path.resolve() == path.resolve() or origin in merged:
                continue
            merged.append(origin)
            for m in read_catalog_file(pack_path, origin):
                if m.name in taken:
                    continue  # names are unique: the first catalog that has one keeps it
                taken.add(m.name)
                if m.raw.get("default"):  # a pack never takes the default
                    m = replace(m, raw={k: v for k, v in m.raw.items() if k != "default"})
                models.append(m)
        return cls(models, path, tuple(merged), tuple(problems))

    def get(self, name: str) -> ModelSpec:
        for m in self.models:
            if m.name == name:
                return m
        known = ", ".join(m.name for m in self.models)
        hint = "" if self.packs else f"; {ZOO_HINT}"
        raise ModelError(f"unknown model {name!r} (known: {known}){hint}")

    def by_task(self, task: str) -> list[ModelSpec]:
        return [m for m in self.models if m.task == task]

    def family(self, spec: ModelSpec) -> str:
        """The FP32 entry a classifier was compressed from (itself when it was not), by name; a root that
        is not in this catalog (the zoo not installed) is still named."""
        seen = {spec.name}
        while spec.get("compressed_from") and spec.get("compressed_from") not in seen:
            parent = spec.get("compressed_from")
            found = next((m for m in self.models if m.name == parent), None)
            if found is None:
                return parent
            spec = found
            seen.add(spec.name)
        return spec.name

    def tiers(self) -> dict[str, ModelSpec]:
        """The classifiers that fill a tier, in tier order (tiny, balanced, best)."""
        order = ("tiny", "balanced", "best")
        found = {m.get("tier"): m for m in self.by_task("classifier") if m.get("tier") in order}
        return {t: found[t] for t in order if t in found}

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
