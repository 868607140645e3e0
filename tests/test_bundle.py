"""The standalone one-folder program (packaging/build_bundle.sh), started from outside the checkout.

CI builds the bundle and sets FERDESK_BUNDLE to its folder: then a missing bundle fails. A developer who
has not built it gets these tests skipped with the reason.
"""
from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import ROOT

BUNDLE = Path(os.environ.get("FERDESK_BUNDLE") or ROOT / "build" / "bundle" / "ferdesk")
PROGRAM = BUNDLE / "ferdesk"

if "FERDESK_BUNDLE" not in os.environ and not PROGRAM.exists():
    pytest.skip("no standalone bundle built (packaging/build_bundle.sh); CI builds it and sets FERDESK_BUNDLE",
                allow_module_level=True)


def run_bundle(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    assert PROGRAM.is_file(), f"FERDESK_BUNDLE is set but {PROGRAM} is missing"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["QT_QPA_PLATFORM"] = "offscreen"
    return subprocess.run([str(PROGRAM), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=tempfile.gettempdir(), env=env)


def test_the_bundle_runs_the_demo_headless_and_logs_it(tmp_path):
    r = run_bundle("run", "--source", "demo", "--max-frames", "10", "--log", str(tmp_path / "session"))
    assert r.returncode == 0, r.stderr
    session = json.loads((tmp_path / "session" / "session.json").read_text())
    assert session["frames_processed"] == 10
    rows = (tmp_path / "session" / "frames.csv").read_text().splitlines()
    assert len(rows) > 1 and "happy" in rows[0]      # the header names the classes, faces were logged


def test_the_bundle_carries_the_bundled_models_and_both_backends():
    r = run_bundle("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = {m["name"]: m for m in json.loads(r.stdout)}
    tiers = {m["tier"]: name for name, m in rows.items() if m.get("tier")}
    assert set(tiers) == {"tiny", "balanced", "best"}
    default = next(m for m in rows.values() if m["task"] == "classifier" and m["default"])
    assert default["backends"]["onnxruntime"]["available"] and default["backends"]["litert"]["available"]
    assert all(m["origin"] == "bundled" for m in rows.values())


def test_the_bundle_opens_the_window_on_the_demo(tmp_path):
    r = run_bundle("-m", "ferdesk.ui.bench", "--source", "demo", "--seconds", "2", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["startup_s"] > 0 and out["fps_shown"] > 0 and out["errors"] == []


def test_the_bundle_streams_to_a_websocket_client_when_built_with_the_stream_extra(tmp_path):
    """The stream extra is imported only when a stream opens: the spec must have packed it (CI installs it)."""
    websockets = pytest.importorskip("websockets", reason="the stream extra is not installed here, so not bundled")
    import socket
    import threading

    from websockets.sync.client import connect

    with socket.socket() as s:          # a free port for the bundle's server
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    got: list[dict] = []

    def listen():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with connect(f"ws://127.0.0.1:{port}", open_timeout=1) as ws:
                    for message in ws:
                        got.append(json.loads(message))
                return
            except (OSError, websockets.exceptions.ConnectionClosed, TimeoutError):
                time.sleep(0.2)

    client = threading.Thread(target=listen)
    client.start()
    r = run_bundle("run", "--source", "demo", "--max-frames", "150", "--no-log", "--stream", f"ws:{port}")
    client.join(30)
    assert r.returncode == 0, r.stderr
    assert got and got[0]["type"] == "hello" and any(m["type"] == "frame" and m["faces"] for m in got)
