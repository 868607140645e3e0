"""The engine interface: run one model file on one backend.

An engine loads a model file, warms up, runs a batch, and describes what it uses.
Layout and dtype conversion happen once, outside the engines (``InputSpec.to_tensor``).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np


class Engine(ABC):
    name: str = ""
    #: model file formats this backend runs
    formats: tuple[str, ...] = ()

    @classmethod
    @abstractmethod
    def availability(cls) -> tuple[bool, str]:
        """(True, "") when usable here, else (False, why not)."""

    @classmethod
    def file_for(cls, spec):
        """The file of catalog entry ``spec`` this backend runs here (None: none). The first file in one of
        this backend's formats; a backend whose files are made for one chip picks by chip."""
        return next((f for fmt in cls.formats for f in spec.files if f.format == fmt), None)

    @classmethod
    def missing_file_reason(cls, spec) -> str:
        return f"no {'/'.join(cls.formats)} file for this model"

    def __init__(self, model_path: Path, threads: int = 2, precision: str = "fp32"):
        """``precision``: the catalog's word for the file (fp32, fp16, int8, int4), for engines that run
        some precisions differently."""
        self.model_path = Path(model_path)
        self.threads = threads
        self.precision = precision

    @abstractmethod
    def run(self, x: np.ndarray) -> list[np.ndarray]:
        """Run a batch (N, ...) through the model; return every output with batch first."""

    @abstractmethod
    def describe(self) -> dict:
        """What this engine uses: provider, threads, precision, input shape."""

    @property
    @abstractmethod
    def input_shape(self) -> tuple:
        """The model's input shape; the batch dimension may be a string or None when dynamic."""

    def warmup(self, runs: int = 3) -> None:
        shape = [1 if not isinstance(d, int) or d <= 0 else d for d in self.input_shape]
        x = np.zeros(shape, np.float32)
        for _ in range(runs):
            self.run(x)
