"""LiteRT (TFLite) backend with the XNNPACK CPU delegate.

Uses ``ai-edge-litert``; falls back to ``tflite-runtime`` (only usable with NumPy < 2).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ferdesk.engines.base import Engine
from ferdesk.engines.registry import engines
from ferdesk.errors import ModelError


def _interpreter_class():
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    if int(np.__version__.split(".")[0]) < 2:
        try:
            from tflite_runtime.interpreter import Interpreter

            return Interpreter, "tflite-runtime"
        except ImportError:
            pass
    return None, "neither ai-edge-litert nor tflite-runtime (NumPy < 2 only) is installed: pip install 'ferdesk[tflite]'"


@engines.register("litert")
class LiteRTEngine(Engine):
    formats = ("tflite",)

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        interp, why = _interpreter_class()
        return (True, "") if interp else (False, why)

    def __init__(self, model_path: Path, threads: int = 2, precision: str = "fp32"):
        super().__init__(model_path, threads, precision)
        interp_cls, self._runtime = _interpreter_class()
        if interp_cls is None:
            raise ModelError(self._runtime)
        self._interp_cls = interp_cls
        self._load()
        self._fixed_batch = False  # set when the graph cannot be resized (batch-1 reshapes)

    def _load(self) -> None:
        try:
            self._interp = self._interp_cls(model_path=str(self.model_path), num_threads=self.threads)
            self._interp.allocate_tensors()
        except Exception as e:  # LiteRT raises ValueError/RuntimeError with long texts
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"cannot load model {self.model_path}: {first}") from None
        self._in = self._interp.get_input_details()[0]
        self._outs = self._interp.get_output_details()
        self._batch = int(self._in["shape"][0])

    @property
    def input_shape(self) -> tuple:
        return tuple(int(d) for d in self._in["shape"])

    def _resize(self, batch: int) -> None:
        shape = list(self._in["shape"])
        shape[0] = batch
        self._interp.resize_tensor_input(self._in["index"], shape)
        self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]
        self._outs = self._interp.get_output_details()
        self._batch = batch

    def _quantise(self, x: np.ndarray) -> np.ndarray:
        dtype = self._in["dtype"]
        if dtype in (np.int8, np.uint8):
            scale, zero = self._in["quantization"]
            info = np.iinfo(dtype)
            return np.clip(np.round(x / scale + zero), info.min, info.max).astype(dtype)
        return x.astype(dtype, copy=False)

    def _dequantise(self, y: np.ndarray, detail: dict) -> np.ndarray:
        if detail["dtype"] in (np.int8, np.uint8):
            scale, zero = detail["quantization"]
            return (y.astype(np.float32) - zero) * scale
        return y.astype(np.float32, copy=False)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        if x.shape[0] != self._batch and not self._fixed_batch:
            try:
                self._resize(x.shape[0])
            except RuntimeError:
                self._fixed_batch = True
                self._load()
        if self._fixed_batch and x.shape[0] != self._batch:
            parts = [self._invoke(x[i:i + self._batch]) for i in range(0, x.shape[0], self._batch)]
            return [np.concatenate(p, 0) for p in zip(*parts)]
        return self._invoke(x)

    def _invoke(self, x: np.ndarray) -> list[np.ndarray]:
        self._interp.set_tensor(self._in["index"], self._quantise(x))
        self._interp.invoke()
        return [self._dequantise(self._interp.get_tensor(o["index"]), o) for o in self._outs]

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "provider": f"{self._runtime} (XNNPACK)",
            "threads": self.threads,
            "input_type": np.dtype(self._in["dtype"]).name,
            "input_shape": [int(d) for d in self._in["shape"]],
        }
