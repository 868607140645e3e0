"""Batch work: several sources or a folder of videos, one session each, resumed after an interruption."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

from conftest import RUN_DIR, read_json, run_cli
from ferdesk.batch import batch_sources, plan


def videos(tmp_path, clip, n=3):
    folder = tmp_path / "videos"
    folder.mkdir()
    for k in range(n):
        shutil.copy(clip, folder / f"take{k}.mp4")
    return folder


def test_a_folder_of_videos_is_a_batch_and_a_folder_of_images_is_not(tmp_path, clip):
    folder = videos(tmp_path, clip, 2)
    assert batch_sources([str(folder)]) == [str(folder / "take0.mp4"), str(folder / "take1.mp4")]
    (folder / "still.jpg").write_bytes(b"")
    assert batch_sources([str(folder)]) is None          # images: one source, its pictures in turn
    assert batch_sources(["demo"]) is None and batch_sources(["a.mp4", "a.mp4"]) == ["a.mp4", "a.mp4"]
    assert [it.folder.name for it in plan(["x/a.mp4", "y/a.mp4", "demo"], tmp_path)] == ["a", "a-2", "demo"]


def test_a_batch_writes_one_session_per_source_and_skips_finished_ones(tmp_path, clip):
    folder, out = videos(tmp_path, clip, 2), tmp_path / "out"
    r = run_cli("run", "--source", str(folder), "--log", str(out), "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["finished"] == 2 and len(report["ran"]) == 2
    for name in ("take0", "take1"):
        meta = read_json(out / name / "session.json")
        assert meta["ended"] == "normally" and meta["frames_processed"] == 24
    assert "[1/2] take0.mp4: finished" in r.stderr
    again = run_cli("run", "--source", str(folder), "--log", str(out), "--json", timeout=300)
    assert again.returncode == 0 and json.loads(again.stdout)["ran"] == []
    assert "2 done already, 0 to run" in again.stderr


def test_an_interrupted_batch_resumes_without_redoing_finished_files_and_keeps_the_unfinished_one(tmp_path, clip):
    folder, out = videos(tmp_path, clip, 3), tmp_path / "out"
    cmd = [sys.executable, "-m", "ferdesk", "run", "--source", str(folder), "--log", str(out), "--realtime"]
    proc = subprocess.Popen(cmd, cwd=RUN_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "take1" / "frames.csv").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert read_json(out / "take0" / "session.json")["ended"] == "normally"
    assert read_json(out / "take1" / "session.json")["ended"] == "interrupted"
    assert not (out / "take2").exists() and "run the same command again" in err
    first_take0 = (out / "take0" / "frames.csv").stat().st_mtime_ns

    r = run_cli("run", "--source", str(folder), "--log", str(out), "--json", timeout=300)
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert [os.path.basename(s["log"]) for s in report["ran"]] == ["take1", "take2"] and report["finished"] == 3
    assert (out / "take0" / "frames.csv").stat().st_mtime_ns == first_take0          # not redone
    kept = read_json(out / "take1.interrupted" / "session.json")                     # not lost
    assert kept["ended"] == "interrupted"
    assert read_json(out / "take1" / "session.json")["ended"] == "normally"


def test_a_batch_needs_a_log(tmp_path, clip):
    folder = videos(tmp_path, clip, 2)
    r = run_cli("run", "--source", str(folder), "--no-log")
    assert r.returncode == 2 and "give --log DIR" in r.stderr.strip().splitlines()[-1]


def test_a_batch_without_log_lands_under_the_sessions_root_and_is_listed(tmp_path, clip, monkeypatch):
    from ferdesk.sessions import list_sessions

    folder = videos(tmp_path, clip, 2)
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    r = run_cli("run", "--source", str(folder), "--json", env={"XDG_DATA_HOME": str(data)}, timeout=300)
    assert r.returncode == 0, r.stderr
    root = json.loads(r.stdout)["batch"]
    listed = list_sessions()
    assert {p.name for p in listed} >= {"take0", "take1"} and all(str(p).startswith(root) for p in listed)
