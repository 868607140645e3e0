"""Faults the runner and the window must survive: a camera that stops and comes back, a full disk, a model
file that is gone, signals while recording. Each with a fake registered in the registries, deterministic."""
from __future__ import annotations

import csv
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time

import cv2
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from conftest import DEMO_IMAGE, RUN_DIR  # noqa: E402
from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.errors import SourceError  # noqa: E402
from ferdesk.runner import (Notice, Processed, RecordingEnded, Runner, SourceFailed, SourceInfo,  # noqa: E402
                            StackInfo)
from ferdesk.sources.base import Source  # noqa: E402
from ferdesk.sources.registry import sources  # noqa: E402
from ferdesk.types import Frame  # noqa: E402


class Plug:
    """The fake camera's cable: frames flow while it is in; pulled, reads fail and the camera cannot be opened."""

    def __init__(self):
        self.connected = True
        self.frames = 0
        self.lock = threading.Lock()


PLUGS: dict[str, Plug] = {}


@sources.register("fakecam")
class FakeCamera(Source):
    """A live source showing the demo portrait at 100 fps; ``fakecam:NAME`` follows ``PLUGS[NAME]``."""

    live = True

    def open(self) -> None:
        self.plug = PLUGS[self.target]
        if not self.plug.connected:
            raise SourceError(f"no camera at {self.target} (unplugged)")
        self.image = cv2.resize(cv2.imread(str(DEMO_IMAGE)), (320, 320))
        self.index = 0

    def read(self) -> Frame | None:
        time.sleep(0.01)
        if not self.plug.connected:
            raise SourceError(f"camera {self.target} lost: unplugged")
        self.index += 1
        with self.plug.lock:
            self.plug.frames += 1
        return Frame(self.image, self.index, self.index / 100, time.time())


def run_until(runner: Runner, events: list, done, timeout: float = 30):
    """Run ``runner`` on a thread, collecting its events, until ``done(events)``; the runner keeps running."""
    def loop():
        for e in runner.events():
            events.append(e)

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    deadline = time.time() + timeout
    while not done(events):
        assert time.time() < deadline, f"timed out; events: {[type(e).__name__ for e in events][-20:]}"
        time.sleep(0.02)
    return t


def frames_of(events) -> int:
    return sum(isinstance(e, Processed) for e in events)


def rows(folder) -> list[list[str]]:
    with open(folder / "frames.csv", newline="") as f:
        return list(csv.reader(f))


def test_a_camera_that_stops_mid_recording_keeps_the_rows_says_so_and_picks_up_when_it_returns(tmp_path):
    PLUGS["a"] = plug = Plug()
    runner = Runner("fakecam:a", threads=1, retry_s=0.2, record=tmp_path / "rec")
    events: list = []
    thread = run_until(runner, events, lambda ev: frames_of(ev) >= 10)
    plug.connected = False
    run_until_failed = time.time()
    while not any(isinstance(e, SourceFailed) for e in events):
        assert time.time() - run_until_failed < 10
        time.sleep(0.02)
    failed = next(e for e in events if isinstance(e, SourceFailed))
    assert "unplugged" in failed.message and failed.retrying
    before = frames_of(events)
    time.sleep(0.5)                                    # retried while unplugged: still nothing
    assert frames_of(events) == before
    plug.connected = True
    deadline = time.time() + 10
    while frames_of(events) < before + 10:
        assert time.time() < deadline, "the camera came back but frames did not"
        time.sleep(0.02)
    runner.stop()
    thread.join(10)
    assert sum(isinstance(e, SourceInfo) for e in events) == 2     # opened, then opened again
    session = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert session["ended"] == "normally" and session["stopped_at"]
    kinds = [e["event"] for e in session["events"]]
    assert "source_failed" in kinds and kinds.count("source") >= 1
    logged = rows(tmp_path / "rec")
    assert len(logged) - 1 == session["faces_logged"] and session["frames_processed"] == frames_of(events)


def test_a_full_disk_stops_the_recording_with_a_notice_and_keeps_every_row_before_whole(tmp_path, monkeypatch):
    from ferdesk import recorder

    PLUGS["b"] = Plug()
    real_write = os.write
    state = {"writes": 0}

    def filling_write(fd, data):
        if fd > 2 and data and b"," in data and not data.startswith(b"frame,"):
            state["writes"] += 1
            if state["writes"] >= 3:          # the third flush of rows finds the disk full, half-way
                real_write(fd, data[: len(data) // 2])
                raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(recorder.os, "write", filling_write)
    runner = Runner("fakecam:b", threads=1, record=tmp_path / "rec")
    events: list = []
    thread = run_until(runner, events, lambda ev: any(isinstance(e, RecordingEnded) for e in ev), timeout=60)
    run_until(runner, events, lambda ev: frames_of(ev) > 20)        # and the picture goes on
    runner.stop()
    thread.join(10)
    notice = next(e for e in events if isinstance(e, Notice) and "recording stopped" in e.message)
    assert "No space left on device" in notice.message and str(tmp_path / "rec") in notice.message
    ended = next(e for e in events if isinstance(e, RecordingEnded))
    assert ended.ended == "interrupted"
    assert next(e for e in reversed(events) if isinstance(e, StackInfo)).recording is None
    logged = rows(tmp_path / "rec")
    width = len(logged[0])
    assert len(logged) > 1 and all(len(r) == width for r in logged), "a half-written row was left"
    assert (tmp_path / "rec" / "frames.csv").read_bytes().endswith(b"\n")


def test_a_model_file_that_is_gone_is_named_and_the_menu_still_switches(qtbot, catalog_copy, monkeypatch):
    from ferdesk.ui.main_window import MainWindow

    cat = Catalog.load(catalog_copy)
    gone = cat.default("classifier").file_for("onnx").path
    gone.unlink()
    monkeypatch.setenv("FERDESK_CATALOG", str(catalog_copy))
    w = MainWindow(source="demo", catalog=Catalog.load(catalog_copy))
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: any(gone.name in e for e in w.errors), timeout=20000)
        assert gone.name in w.notifications.message
        tiny = w.catalog.tiers()["tiny"].name
        w.inference.request_stack(model=tiny)                  # what the Model menu does
        qtbot.waitUntil(lambda: w.stack_info is not None and w.stack_info.model == tiny and w.frames_shown > 2,
                        timeout=20000)
    finally:
        w.shutdown()


def signal_while_recording(args: list[str], log, signum, env=None) -> dict:
    """Start ``python -m ferdesk ARGS`` recording to ``log``, send ``signum`` once rows are written, and
    return its session.json after a clean exit."""
    proc = subprocess.Popen([sys.executable, "-m", "ferdesk", *args], cwd=RUN_DIR, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.time() + 60
        while not ((log / "frames.csv").exists() and (log / "frames.csv").read_bytes().count(b"\n") > 5):
            assert time.time() < deadline and proc.poll() is None, proc.stderr.read() if proc.poll() is not None else ""
            time.sleep(0.1)
        proc.send_signal(signum)
        assert proc.wait(30) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    return json.loads((log / "session.json").read_text())


SIGNALS = [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")]


@pytest.mark.parametrize("signum, name", SIGNALS)
def test_a_signal_to_the_window_while_recording_ends_the_session_and_saves_the_settings(tmp_path, signum, name,
                                                                                       isolated_config):
    log = tmp_path / "rec"
    session = signal_while_recording(["--source", "demo", "--record", str(log)], log, signum,
                                     env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert session["stopped_at"] and session["ended"] == "interrupted" and session["end_reason"] == f"{name} received"
    assert len(rows(log)) - 1 == session["faces_logged"]
    saved = json.loads((isolated_config / "settings.json").read_text())
    assert saved["source"] == "demo" and saved["model"]


@pytest.mark.parametrize("signum, name", SIGNALS)
def test_a_signal_to_ferdesk_run_ends_the_session_as_interrupted(tmp_path, signum, name):
    log = tmp_path / "rec"
    session = signal_while_recording(["run", "--source", "demo", "--log", str(log)], log, signum)
    assert session["ended"] == "interrupted" and session["end_reason"] == f"{name} received" and session["stopped_at"]

def test_frames_dropped_count_from_the_recordings_start(tmp_path):
    """A live source that has dropped frames before the recording: the session counts only its own."""
    PLUGS["c"] = Plug()
    runner = Runner("fakecam:c", threads=1)
    events: list = []
    thread = run_until(runner, events, lambda ev: frames_of(ev) >= 5)
    runner._feed.source.dropped = 1000          # what the device lost before anyone pressed Record
    runner.request_recording(tmp_path / "rec")
    run_until_rec = frames_of(events)
    deadline = time.time() + 20
    while frames_of(events) < run_until_rec + 10:
        assert time.time() < deadline
        time.sleep(0.02)
    runner.stop()
    thread.join(10)
    session = json.loads((tmp_path / "rec" / "session.json").read_text())
    assert runner.frames_dropped >= 1000 and session["frames_dropped"] < 1000


def test_a_camera_whose_reads_keep_failing_is_reported_lost(monkeypatch):
    """The camera source itself (OpenCV's capture replaced by a fake that delivers three frames, then none)."""
    from ferdesk.sources import camera

    class FakeCapture:
        def __init__(self):
            self.left = 3

        def isOpened(self):
            return True

        def set(self, *_):
            return True

        def get(self, _prop):
            return 30.0

        def grab(self):
            self.left -= 1
            return self.left >= 0

        def retrieve(self):
            return True, cv2.imread(str(DEMO_IMAGE))

        def release(self):
            pass

    monkeypatch.setattr(camera, "_open_capture", lambda index: FakeCapture())
    cam = camera.CameraSource("7")
    cam.max_failures = 3
    cam.open()
    assert [cam.read().index for _ in range(3)] == [0, 1, 2]
    with pytest.raises(SourceError, match="camera 7 lost"):
        cam.read()
    cam.close()
