"""Inference backends, one module each, registered by name in ``engines``."""
from ferdesk.engines.registry import engines
from ferdesk.engines import onnxruntime_engine, litert_engine, rknn_engine  # noqa: F401  (registration)
from ferdesk.engines.base import Engine
from ferdesk.errors import ModelError


def open_engine(spec, backend: str, threads: int, what: str):
    """(engine, file): backend ``backend`` loaded with ``spec``'s file for it, checked against the catalog and
    warmed up; a one-line ModelError naming ``what`` (say "detector blazeface") when it cannot be."""
    from ferdesk.catalog import check_file

    engine_cls = engines.get(backend)
    ok, why = engine_cls.availability()
    if not ok:
        raise ModelError(f"{what} needs backend {backend}: {why}")
    mf = engine_cls.file_for(spec)
    if mf is None:
        raise ModelError(f"{what} has no file for backend {backend} (has: {', '.join(spec.formats)})")
    check_file(mf)
    engine = engine_cls(mf.path, threads=threads)
    engine.warmup()
    return engine, mf


__all__ = ["engines", "Engine", "open_engine"]
