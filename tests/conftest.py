"""Shared fixtures: everything is made here from files in the repository or the installed package (no ../shared).

CI runs the tests against the installed wheel (``FERDESK_TEST_INSTALLED=1``): then the package must come
from site-packages, not from this checkout, and every command runs from a folder outside the checkout.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import ferdesk
from ferdesk.catalog import MODELS_DIR
from ferdesk.sources.demo import DEMO_IMAGE, compose_two_face_clip  # noqa: F401 (DEMO_IMAGE: the fixtures' photo)

ROOT = Path(__file__).resolve().parent.parent    # the checkout: tools/, experiments/ and the zoo (models/)
INSTALLED = os.environ.get("FERDESK_TEST_INSTALLED") == "1"
# Commands run from outside the checkout, as a user's would (python -m puts the working folder first on sys.path).
RUN_DIR = Path(tempfile.gettempdir()) if INSTALLED else ROOT

if INSTALLED and ROOT / "ferdesk" in Path(ferdesk.__file__).resolve().parents:
    raise pytest.UsageError(f"FERDESK_TEST_INSTALLED=1 but ferdesk is imported from the checkout ({ferdesk.__file__}); "
                            "run pytest (not python -m pytest) with the wheel installed and no editable install")


compose_clip = compose_two_face_clip  # a clip with two real faces; returns per-frame tile boxes


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "two_faces.mp4"
    compose_clip(path)
    return path


def run_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ferdesk", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=RUN_DIR)


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """A writable copy of the bundled models (catalog + files) for tests that break things."""
    dst = tmp_path / "models"
    shutil.copytree(MODELS_DIR, dst)
    return dst / "catalog.json"


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Tests never read or write the user's real settings."""
    monkeypatch.setenv("FERDESK_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("FERDESK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FERDESK_MODELS", raising=False)
    monkeypatch.setenv("FERDESK_ZOO", str(ROOT / "models"))  # the training tools' zoo: this checkout's
    return tmp_path / "config"
