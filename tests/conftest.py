"""Shared fixtures: everything is made here from files in the repository (no ../shared)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO_IMAGE = ROOT / "resources" / "demo" / "astronaut.jpg"


def compose_clip(path: Path, frames: int = 24, size=(640, 480), fps: float = 30.0) -> list[list[tuple[int, int, int, int]]]:
    """A clip with two real faces (head crops of the demo portrait) drifting; returns per-frame tile boxes."""
    photo = cv2.imread(str(DEMO_IMAGE))[10:230, 120:340]  # the head, face about half the tile
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    truth = []
    for i in range(frames):
        frame = np.full((h, w, 3), 90, np.uint8)
        boxes = []
        for k, (x0, y0, s) in enumerate([(40, 80, 240), (360, 160, 200)]):
            x = x0 + (i % 8) * 2 * (1 if k else -1) + 16
            tile = cv2.resize(photo, (s, s), interpolation=cv2.INTER_AREA)
            frame[y0:y0 + s, x:x + s] = tile
            boxes.append((x, y0, s, s))
        writer.write(frame)
        truth.append(boxes)
    writer.release()
    return truth


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "two_faces.mp4"
    compose_clip(path)
    return path


def run_cli(*args: str, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ferdesk", *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=ROOT)


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """A writable copy of models/ (catalog + files) for tests that break things."""
    dst = tmp_path / "models"
    shutil.copytree(ROOT / "models", dst)
    return dst / "catalog.json"


def read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text())


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    """Tests never read or write the user's real settings."""
    monkeypatch.setenv("FERDESK_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"
