"""Face detectors, one module each, registered by name in ``detectors``."""
from __future__ import annotations

from ferdesk.catalog import Catalog
from ferdesk.detectors.base import Detector, RawFace
from ferdesk.detectors.registry import detectors
from ferdesk.detectors import blazeface, dlib_hog, opencv_cascade  # noqa: F401  (registration)
from ferdesk.errors import ModelError

DEFAULT_DETECTOR = "blazeface"


def load_detector(name: str, catalog: Catalog, backend: str | None = None, threads: int = 2) -> Detector:
    cls = detectors.get(name)
    ok, why = cls.availability()
    if not ok:
        raise ModelError(f"detector {name} is not available: {why}")
    spec = catalog.get(name)
    check = spec.get("check")
    if check:
        from ferdesk.detectors.face_check import FaceCheck

        return cls(spec, backend=backend, threads=threads, check=FaceCheck(catalog.get(check["model"]), threads=1))
    return cls(spec, backend=backend, threads=threads)


__all__ = ["Detector", "RawFace", "detectors", "load_detector", "DEFAULT_DETECTOR"]
