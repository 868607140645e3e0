"""Rockchip NPU backend (RK3588, RK3566, RK3576): ``.rknn`` files through ``rknnlite.api.RKNNLite``.

The board runtime is ``rknn-toolkit-lite2`` (aarch64, Python 3.8-3.12, with the board's ``librknnrt.so``);
RKNN-Toolkit-Lite 1.x for the RK3399Pro has the same ``RKNNLite`` API. The files are made on a PC by
``tools/rknn_convert.sh`` for one chip each (the catalog's ``target``): they take the face's raw pixels,
NHWC uint8, and scale them on the NPU. One face per call: the files have a fixed batch of one.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ferdesk.engines.base import Engine
from ferdesk.engines.registry import engines
from ferdesk.errors import ModelError

NOT_INSTALLED = ("rknn-toolkit-lite2 is not installed (Rockchip boards with an NPU only: pip install "
                 "rknn-toolkit-lite2, which needs the board's librknnrt.so)")


def _runtime_class():
    try:
        from rknnlite.api import RKNNLite
    except ImportError:
        return None
    return RKNNLite


@engines.register("rknn")
class RknnEngine(Engine):
    formats = ("rknn",)

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return (True, "") if _runtime_class() else (False, NOT_INSTALLED)

    def __init__(self, model_path: Path, threads: int = 1, precision: str = "int8"):
        super().__init__(model_path, threads, precision)
        runtime = _runtime_class()
        if runtime is None:
            raise ModelError(NOT_INSTALLED)
        self._rknn = runtime(verbose=False)
        if self._rknn.load_rknn(str(model_path)) != 0:
            raise ModelError(f"cannot load model {model_path}: not an .rknn file this runtime reads")
        if self._rknn.init_runtime() != 0:
            raise ModelError(f"cannot start the NPU runtime for {model_path}: is librknnrt.so installed, and is the "
                             "file made for this chip (the catalog's target)?")

    @property
    def input_shape(self) -> tuple:
        return (1, "H", "W", "C")   # fixed in the file; the catalog entry's input spec gives it

    def warmup(self, runs: int = 3) -> None:
        """Nothing to warm: the runtime is ready after ``init_runtime`` (and the shape is the file's own)."""

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        faces = np.clip(np.rint(x), 0, 255).astype(np.uint8)
        per_face = [self._rknn.inference(inputs=[faces[i:i + 1]], data_format="nhwc") for i in range(len(faces))]
        # each output keeps its own shape, batch first (a detector's (1, 896, 16) as a classifier's (1, 7))
        return [np.concatenate([np.asarray(o, np.float32).reshape((1,) + np.shape(o)[-max(np.ndim(o) - 1, 1):])
                                for o in outs], 0) for outs in zip(*per_face)]

    def describe(self) -> dict:
        return {"backend": self.name, "provider": "RKNNLite (NPU)", "threads": self.threads,
                "precision": self.precision}

    def __del__(self):
        rknn = getattr(self, "_rknn", None)
        if rknn is not None:
            try:
                rknn.release()
            except Exception:
                pass
