"""Inference backends, one module each, registered by name in ``engines``."""
from ferdesk.engines.registry import engines
from ferdesk.engines import onnxruntime_engine, litert_engine  # noqa: F401  (registration)
from ferdesk.engines.base import Engine


def engine_for_format(fmt: str) -> list[str]:
    return [name for name, cls in engines if fmt in cls.formats]


__all__ = ["engines", "Engine", "engine_for_format"]
