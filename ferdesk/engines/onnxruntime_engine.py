"""ONNX Runtime backend: CPU, with CUDA and TensorRT providers used when present (onnxruntime-gpu, e.g. on
a Jetson).

TensorRT builds an engine per model at the first start; it is kept, with TensorRT's timing cache, under the
user cache directory (``$FERDESK_CACHE_DIR`` overrides it), so later starts load it. TensorRT gets only the
FP32 and FP16 files (with FP16 kernels allowed): the INT8 files' asymmetric UINT8 activations and the INT4
files' opset-21 weights are refused by TensorRT, so those go to CUDA.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

import platformdirs

import numpy as np

from ferdesk.engines.base import Engine
from ferdesk.engines.registry import engines
from ferdesk.errors import ModelError

# Fastest first; CPU is always last so it takes what the others cannot run.
PREFERRED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider")
# files whose weights are stored quantised but computed in float (ferdesk.training.compress --variants int4)
WEIGHT_ONLY_PRECISIONS = ("int4",)


PROVIDER_LIBRARIES = {"CUDAExecutionProvider": "libonnxruntime_providers_cuda.so",
                      "TensorrtExecutionProvider": "libonnxruntime_providers_tensorrt.so"}


@functools.lru_cache(maxsize=1)
def provider_problems() -> dict[str, str]:
    """GPU providers an onnxruntime-gpu build lists but cannot load here (no CUDA, cuDNN or TensorRT
    libraries), with the loader's reason. onnxruntime lists every provider it was built with; a session asked
    for one that cannot load falls back to the CPU only after printing an error to stdout, which would
    corrupt ``--json`` output, so each provider library is loaded once here, silently, first."""
    import ctypes
    import sys

    import onnxruntime as ort

    if not sys.platform.startswith("linux"):
        return {}
    capi = Path(ort.__file__).parent / "capi"
    problems = {}
    present = set(ort.get_available_providers())
    wanted = [name for name in PROVIDER_LIBRARIES if name in present]
    if not wanted:
        return {}
    try:
        ctypes.CDLL(str(capi / "libonnxruntime_providers_shared.so"), mode=os.RTLD_LAZY | os.RTLD_GLOBAL)
    except OSError as e:
        return {name: str(e) for name in wanted}
    for name in wanted:
        try:
            ctypes.CDLL(str(capi / PROVIDER_LIBRARIES[name]), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
        except OSError as e:
            problems[name] = str(e)
    return problems


def cache_dir() -> Path:
    return Path(os.environ.get("FERDESK_CACHE_DIR") or platformdirs.user_cache_dir("ferdesk"))


def providers_for(present: set[str], precision: str, wanted: tuple[str, ...] = PREFERRED_PROVIDERS) -> list:
    """The providers (with their options) to run a file of ``precision`` with, among those ``present``."""
    chosen = []
    for name in wanted:
        if name not in present:
            continue
        if name == "TensorrtExecutionProvider":
            if precision not in ("fp32", "fp16"):
                continue
            engines = cache_dir() / "tensorrt"
            chosen.append((name, {
                "trt_engine_cache_enable": "True", "trt_engine_cache_path": str(engines),
                "trt_timing_cache_enable": "True", "trt_timing_cache_path": str(engines),
                "trt_fp16_enable": "True", "trt_max_workspace_size": str(1 << 30),
            }))
        elif name == "CUDAExecutionProvider":
            # the default exhaustive cuDNN search costs seconds per shape at start for no gain on these small nets
            chosen.append((name, {"cudnn_conv_algo_search": "HEURISTIC", "do_copy_in_default_stream": "True"}))
        else:
            chosen.append(name)
    return chosen or ["CPUExecutionProvider"]


def session_options(threads: int, precision: str = "fp32"):
    """The session settings the engine runs every file with (``experiments/layer_profile.py`` profiles with them)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    if precision in WEIGHT_ONLY_PRECISIONS:
        # 4-bit weights computed in float: without this, ONNX Runtime keeps each DequantizeLinear (left for
        # QDQ fusion) and unpacks the weights on every run, twice the time; with it they fold once at load
        opts.add_session_config_entry("session.disable_quant_qdq", "1")
    return opts


@engines.register("onnxruntime")
class OnnxRuntimeEngine(Engine):
    formats = ("onnx",)

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        try:
            import onnxruntime  # noqa: F401
        except ImportError as e:
            return False, f"onnxruntime is not installed ({e})"
        return True, ""

    def __init__(self, model_path: Path, threads: int = 2, providers: tuple[str, ...] | None = None,
                 precision: str = "fp32"):
        super().__init__(model_path, threads, precision)
        import onnxruntime as ort

        opts = session_options(threads, precision)
        usable = set(ort.get_available_providers()) - set(provider_problems())
        self._providers = providers_for(usable, precision, providers or PREFERRED_PROVIDERS)
        if any(isinstance(p, tuple) and p[0] == "TensorrtExecutionProvider" for p in self._providers):
            (cache_dir() / "tensorrt").mkdir(parents=True, exist_ok=True)
        try:
            self._session = ort.InferenceSession(str(model_path), opts, providers=self._providers)
        except Exception as e:  # onnxruntime raises several private exception types
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ModelError(f"cannot load model {model_path}: {first}") from None
        self._input = self._session.get_inputs()[0]
        self._fixed_batch = isinstance(self._input.shape[0], int) and self._input.shape[0] > 0
        self._np_dtype = np.float16 if "float16" in self._input.type else np.float32

    @property
    def input_shape(self) -> tuple:
        return tuple(self._input.shape)

    def run(self, x: np.ndarray) -> list[np.ndarray]:
        x = x.astype(self._np_dtype, copy=False)
        if self._fixed_batch and x.shape[0] != self._input.shape[0]:
            parts = [self._session.run(None, {self._input.name: x[i:i + 1]}) for i in range(x.shape[0])]
            return [np.concatenate(out, 0) for out in zip(*parts)]
        return self._session.run(None, {self._input.name: x})

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self._session.get_inputs()]

    def run_inputs(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run a model with several named float32 inputs (a temporal head reading features and probabilities)."""
        return self._session.run(None, feeds)

    def describe(self) -> dict:
        return {
            "backend": self.name,
            "provider": self._session.get_providers()[0],
            "threads": self.threads,
            "input_type": self._input.type,
            "input_shape": [d if isinstance(d, int) else "N" for d in self._input.shape],
        }
