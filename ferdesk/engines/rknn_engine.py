"""Rockchip NPU backend (RK3588, RK3566, RK3576): ``.rknn`` files through ``rknnlite.api.RKNNLite``.

The board runtime is ``rknn-toolkit-lite2`` (aarch64, Python 3.8-3.12, with the board's ``librknnrt.so``);
RKNN-Toolkit-Lite 1.x for the RK3399Pro has the same ``RKNNLite`` API. The files are made on a PC by
``tools/rknn_convert.sh`` for one chip each (the catalog's ``target``): they take the face's raw pixels,
NHWC uint8, and scale them on the NPU. One face per call: the files have a fixed batch of one.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ferdesk.engines.base import Engine
from ferdesk.engines.registry import engines
from ferdesk.errors import ModelError

NOT_INSTALLED = ("rknn-toolkit-lite2 is not installed (Rockchip boards with an NPU only: pip install "
                 "rknn-toolkit-lite2, which needs the board's librknnrt.so)")


DEVICE_TREE_COMPATIBLE = (Path("/proc/device-tree/compatible"), Path("/sys/firmware/devicetree/base/compatible"))
#: chips whose NPU runs the files made for another target name
SAME_NPU = {"rk3588s": "rk3588", "rk3568": "rk3566"}


def board_chip(paths=DEVICE_TREE_COMPATIBLE) -> str | None:
    """The Rockchip chip this board has, from the device tree's ``compatible`` list ("rockchip,rk3588"),
    as a converter target name; None on any other machine."""
    for path in paths:
        try:
            text = Path(path).read_bytes().decode("ascii", "replace")
        except OSError:
            continue
        for entry in text.split("\0"):
            m = re.fullmatch(r"rockchip,(rk\d{4}\w*)", entry.strip())
            if m:
                return SAME_NPU.get(m.group(1), m.group(1))
    return None


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

    @classmethod
    def file_for(cls, spec, chip: str | None = None):
        """The ``.rknn`` file made for this board's chip. Off a Rockchip board (where the runtime is not
        available anyway) the first one, so that listings show the model has NPU files."""
        files = [f for f in spec.files if f.format == "rknn"]
        chip = chip or board_chip()
        if chip is None:
            return files[0] if files else None
        return next((f for f in files if f.target == chip), None)

    @classmethod
    def missing_file_reason(cls, spec) -> str:
        chip = board_chip()
        targets = sorted({f.target for f in spec.files if f.format == "rknn" and f.target})
        if chip and targets:
            return f"no .rknn file for this board's {chip} (made for {', '.join(targets)}: tools/rknn_convert.sh --target {chip})"
        return super().missing_file_reason(spec)

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
