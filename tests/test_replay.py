"""Session replay: a recording that stores its video (clean, with overlays, faces blurred), the Viewer, and
ferdesk export --format video."""
from __future__ import annotations

import csv
import os

import cv2
import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from conftest import read_json, run_cli  # noqa: E402


def record(clip, folder, mode):
    r = run_cli("run", "--source", str(clip), "--log", str(folder), "--record-video", mode)
    assert r.returncode == 0, r.stderr
    return read_json(folder / "session.json")


def video_frames(path):
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = cap.read()
        if not ok:
            break
        frames.append(image)
    cap.release()
    return frames


def first_face(folder):
    with open(folder / "frames.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["frame"] == "0")
    return [int(float(row[k])) for k in ("x", "y", "w", "h")]


def test_the_video_is_stored_with_an_index_and_blurred_faces_are_unreadable(clip, tmp_path):
    clean = record(clip, tmp_path / "clean", "clean")
    blurred = record(clip, tmp_path / "blur", "blur")
    assert clean["video"]["mode"] == "clean" and clean["video"]["frames"] == clean["frames_processed"] == 24
    with open(tmp_path / "clean" / "video_frames.csv", newline="") as f:
        index = list(csv.DictReader(f))
    assert [int(r["frame"]) for r in index] == list(range(24))
    a, b = video_frames(tmp_path / "clean" / "video.mp4"), video_frames(tmp_path / "blur" / "video.mp4")
    assert len(a) == len(b) == 24
    x, y, w, h = first_face(tmp_path / "clean")
    sharp = cv2.Laplacian(cv2.cvtColor(a[0][y:y + h, x:x + w], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    soft = cv2.Laplacian(cv2.cvtColor(b[0][y:y + h, x:x + w], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var()
    assert soft < 0.1 * sharp, (soft, sharp)
    # away from the faces the picture is the same
    assert np.abs(a[0][:40, :40].astype(int) - b[0][:40, :40].astype(int)).mean() < 3
    plain = run_cli("run", "--source", str(clip), "--log", str(tmp_path / "plain"), "--max-frames", "2")
    assert plain.returncode == 0 and not (tmp_path / "plain" / "video.mp4").exists()
    assert read_json(tmp_path / "plain" / "session.json")["video"] is None


def test_export_video_draws_the_log_on_the_recorded_frames(clip, tmp_path):
    record(clip, tmp_path / "s", "clean")
    r = run_cli("export", str(tmp_path / "s"), "--format", "video")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "s" / "overlay.mp4"
    assert r.stdout.strip() == str(out)
    drawn, clean = video_frames(out), video_frames(tmp_path / "s" / "video.mp4")
    assert len(drawn) == len(clean) == 24
    x, y, w, h = first_face(tmp_path / "s")
    edge = np.abs(drawn[0][y + h // 2, x - 1:x + 2].astype(int) - clean[0][y + h // 2, x - 1:x + 2].astype(int))
    assert edge.max() > 60, "the box is drawn where the log says the face is"
    none = run_cli("run", "--source", str(clip), "--log", str(tmp_path / "novideo"), "--max-frames", "2")
    assert none.returncode == 0
    bad = run_cli("export", str(tmp_path / "novideo"), "--format", "video")
    assert bad.returncode == 2 and "has no video" in bad.stderr.strip().splitlines()[-1]


def test_the_viewer_replays_a_session_in_step_with_its_log_and_markers(qtbot, clip, tmp_path):
    from ferdesk.ui.sessions_panel import SessionsPanel

    folder = tmp_path / "sessions" / "one"
    record(clip, folder, "overlay")
    (folder / "markers.csv").write_text("frame,time_s,wall_time,label,text\n12,0.4000,2026-12-04T00:00:00Z,stimulus,onset\n")
    panel = SessionsPanel(root=tmp_path / "sessions")
    qtbot.addWidget(panel)
    viewer = panel.open_viewer()
    assert viewer is not None
    qtbot.addWidget(viewer)
    assert viewer.position == 0 and "(1 / 24)" in viewer.where.text()
    viewer.step(1)
    assert viewer.position == 1 and viewer.slider.value() == 1
    viewer.slider.setValue(20)                                   # scrubbing
    assert viewer.position == 20 and viewer.cursor.value() == pytest.approx(20 / 30, abs=1e-3)
    viewer.seek_time(0.4)
    assert viewer.index[viewer.position][1] == pytest.approx(0.4, abs=0.034)
    assert viewer.markers() == [(0.4, "stimulus: onset")]
    viewer.seek(22)
    viewer.toggle_play()
    qtbot.waitUntil(lambda: viewer.position == 23 and not viewer.timer.isActive(), timeout=5000)   # stops at the end
    assert viewer.play_button.text() == "Play"
    viewer.close()


def test_the_viewer_says_why_a_session_without_video_cannot_be_replayed(qtbot, clip, tmp_path):
    from ferdesk.ui.sessions_panel import SessionsPanel

    r = run_cli("run", "--source", str(clip), "--log", str(tmp_path / "sessions" / "s"), "--max-frames", "2")
    assert r.returncode == 0
    panel = SessionsPanel(root=tmp_path / "sessions")
    qtbot.addWidget(panel)
    assert panel.open_viewer() is None and "has no video" in panel.summary.text()
