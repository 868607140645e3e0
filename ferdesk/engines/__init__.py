"""Inference backends, one module each, registered by name in ``engines``."""
from ferdesk.engines.registry import engines
from ferdesk.engines import onnxruntime_engine, litert_engine, rknn_engine  # noqa: F401  (registration)
from ferdesk.engines.base import Engine


__all__ = ["engines", "Engine"]
