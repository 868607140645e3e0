"""The command-line contracts: ferdesk run / models / eval / bench, and one-line errors."""
from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime

import numpy as np
import pytest

from conftest import ROOT, RUN_DIR, read_json, run_cli
from ferdesk.latency_store import LatencyStore
from ferdesk.catalog import Catalog

LEADING = "frame,time_s,wall_time,face_id,x,y,w,h,score,label,confidence".split(",")
SESSION_KEYS = {"version", "source", "model", "backend", "detector", "started_at", "stopped_at",
                "frames_processed", "frames_dropped", "processing_s"}


def test_run_on_a_clip_logs_every_face_of_every_frame(clip, tmp_path):
    log = tmp_path / "session"
    r = run_cli("run", "--source", str(clip), "--log", str(log), "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["frames_processed"] == 24 and summary["fps"] > 0
    assert {"detect", "classify", "capture"} <= set(summary["latency_ms"])

    labels = Catalog.load().default("classifier").labels
    with open(log / "frames.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    assert header == (LEADING + [f"p_{l}" for l in labels] + ["model", "backend"]
                      + ["b_model", "b_backend", "b_label", "b_confidence"] + [f"b_p_{l}" for l in labels]
                      + ["pitch", "yaw", "roll", "eye_open_left", "eye_open_right"])
    assert len(body) >= 24 * 2 * 0.9, "two faces in (almost) every frame"
    assert all(not any(r[header.index("b_model"):]) for r in body), "no comparison or head pose asked, none logged"
    frames = sorted({int(r[0]) for r in body})
    assert frames[0] == 0 and frames[-1] == 23
    for row in body:
        rec = dict(zip(header, row))
        probs = np.array([float(rec[f"p_{l}"]) for l in labels])
        assert abs(probs.sum() - 1) < 0.01 and probs.min() >= 0
        assert rec["label"] == labels[int(probs.argmax())]
        assert abs(float(rec["confidence"]) - probs.max()) < 1e-3
        assert float(rec["time_s"]) == pytest.approx(int(rec["frame"]) / 30, abs=1e-3)
        datetime.fromisoformat(rec["wall_time"].replace("Z", "+00:00"))
        assert 0 <= float(rec["x"]) < 640 and float(rec["w"]) > 30
        assert rec["model"] == summary["model"] and rec["backend"] == summary["backend"]
    # the two faces keep their ids through the clip
    ids = {int(r[3]) for r in body}
    assert len(ids) <= 3

    session = read_json(log / "session.json")
    assert SESSION_KEYS <= set(session)
    assert session["frames_processed"] == 24 and session["stopped_at"] is not None
    assert session["processing_s"] > 0 and session["frames_dropped"] == 0


def test_sigkill_loses_at_most_a_second_and_leaves_a_valid_csv(tmp_path):
    log = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "ferdesk", "run", "--source", "demo", "--log", str(log)],
                            cwd=RUN_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    csv_path = log / "frames.csv"
    deadline = time.time() + 60
    try:
        while time.time() < deadline:
            if csv_path.exists() and csv_path.read_bytes().count(b"\n") > 20:
                break
            time.sleep(0.1)
        time.sleep(1.7)
    finally:
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    data = csv_path.read_bytes()
    assert data.endswith(b"\n"), "no half line at the end"
    rows = list(csv.reader(data.decode().splitlines()))
    assert len(rows) > 20 and len({len(r) for r in rows}) == 1, "every row complete"
    last_wall = datetime.fromisoformat(rows[-1][2].replace("Z", "+00:00")).timestamp()
    assert killed_at - last_wall <= 1.0 + 0.3, "at most the last second is lost"
    session = read_json(log / "session.json")
    assert session["frames_processed"] > 0 and session["stopped_at"] is None


def _assert_argument_refused(r, command, flag, why):
    """argparse's refusal: usage, then one error line naming the argument; exit 2, no traceback."""
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == f"ferdesk {command}: error: argument {flag}: {why}"


def _assert_one_line_error(r, *needles):
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_missing_file(tmp_path):
    _assert_one_line_error(run_cli("run", "--source", str(tmp_path / "nope.mp4"), "--no-log"), "nope.mp4", "no such file")


def test_corrupt_video(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(os.urandom(4096))
    _assert_one_line_error(run_cli("run", "--source", str(bad), "--no-log"), "cannot read video", "bad.mp4")


@pytest.mark.parametrize("flag, value, why", [("--max-frames", "0", "0 is not at least 1"),
                                              ("--duration", "-1", "-1 is not above 0"),
                                              ("--threads", "two", "'two' is not a whole number")])
def test_run_refuses_a_count_or_duration_below_one_before_it_starts(flag, value, why):
    """Such a value used to run one frame (or all of them) and succeed."""
    _assert_argument_refused(run_cli("run", "--source", "demo", "--no-log", flag, value), "run", flag, why)


def test_no_such_camera():
    _assert_one_line_error(run_cli("run", "--source", "camera:97", "--no-log"), "no camera at index 97")


def test_unknown_model(clip):
    _assert_one_line_error(run_cli("run", "--source", str(clip), "--model", "nope", "--no-log"), "unknown model 'nope'")


def test_corrupt_model_file(clip, catalog_copy):
    cat = Catalog.load(catalog_copy)
    cat.default("classifier").primary.path.write_bytes(b"\x00garbage")
    r = run_cli("run", "--source", str(clip), "--no-log", env={"FERDESK_CATALOG": str(catalog_copy)})
    _assert_one_line_error(r, "corrupt", cat.default("classifier").primary.path.name)


def test_unwritable_log_folder(clip, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    r = run_cli("run", "--source", str(clip), "--log", str(blocker / "session"))
    _assert_one_line_error(r, "cannot write the session log", "a_file")


def test_unknown_detector_and_backend(clip):
    _assert_one_line_error(run_cli("run", "--source", str(clip), "--detector", "nope", "--no-log"), "unknown detector 'nope'")
    _assert_one_line_error(run_cli("run", "--source", str(clip), "--backend", "nope", "--no-log"), "unknown backend 'nope'")


def test_a_reader_that_stops_early_gets_no_traceback():
    """`ferdesk models | head -1`: the pipe closes before ferdesk writes; it ends quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)                                   # nobody will read: every write fails with EPIPE
    r = subprocess.run([sys.executable, "-m", "ferdesk", "models"], stdout=write_end, stderr=subprocess.PIPE,
                       text=True, cwd=RUN_DIR, timeout=120)
    os.close(write_end)
    assert "Traceback" not in r.stderr and "BrokenPipe" not in r.stderr, r.stderr
    assert r.returncode == 1


def test_models_json_lists_every_model_with_availability():
    r = run_cli("models", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    names = {m.name for m in Catalog.load().models}
    assert {row["name"] for row in rows} == names
    for row in rows:
        assert {"name", "task", "labels", "size_bytes", "file", "backends"} <= set(row)
        for b in row["backends"].values():
            assert b["available"] or b["reason"]
    catalog = {m.name: m for m in Catalog.load().models}
    tiers = [row["tier"] for row in rows if "tier" in row]
    assert set(tiers) <= {"tiny", "balanced", "best"} and len(tiers) == len(set(tiers)), "one classifier per tier"
    assert all(row.get("tier") == catalog[row["name"]].get("tier") for row in rows)


def test_eval_reports_accuracy_recall_and_confusion(tmp_path):
    rng = np.random.default_rng(0)
    classes = np.array(["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
    data = tmp_path / "tiny.npz"
    np.savez(data, images=rng.integers(0, 256, (20, 48, 48), dtype=np.uint8), labels=rng.integers(0, 7, 20).astype(np.uint8), classes=classes)
    model = Catalog.load().default("classifier").name
    r = run_cli("eval", "--model", model, "--data", str(data), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["n"] == 20 and 0 <= out["accuracy"] <= 1
    cm = np.array(out["confusion_matrix"])
    assert cm.shape == (7, 7) and cm.sum() == 20
    assert out["accuracy"] == pytest.approx(np.trace(cm) / 20)
    _assert_one_line_error(run_cli("eval", "--model", model, "--data", str(tmp_path / "none.npz")), "data file not found")
    not_npz = tmp_path / "frames.csv"
    not_npz.write_text("frame,label\n0,happy\n")
    _assert_one_line_error(run_cli("eval", "--model", model, "--data", str(not_npz)), "frames.csv", "not an .npz archive")


@pytest.mark.parametrize("flag, value, why", [("--batch", "0", "0 is not at least 1"),
                                              ("--threads", "-1", "-1 is not at least 1")])
def test_eval_refuses_a_batch_or_thread_count_below_one(tmp_path, flag, value, why):
    """--batch 0 used to end in a traceback (range() arg 3 must not be zero), --threads -1 ran on."""
    model = Catalog.load().default("classifier")
    data = tmp_path / "faces.npz"
    np.savez(data, images=np.zeros((2, 48, 48), np.uint8), labels=np.zeros(2, int), classes=np.array(model.labels))
    _assert_argument_refused(run_cli("eval", "--model", model.name, "--data", str(data), flag, value), "eval", flag, why)


def test_bench_measures_each_pair_and_keeps_the_figures_for_the_window(tmp_path):
    model = Catalog.load().default("classifier").name
    r = run_cli("bench", "--model", model, "--backend", "onnxruntime", "--runs", "20", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["latency_ms_p50"] > 0 and row["throughput_faces_s"] > 0 and row["peak_rss_mb"] > 10
    kept = LatencyStore().load()      # FERDESK_DATA_DIR is this test's own folder
    assert kept[(model, "onnxruntime")]["latency_ms_p50"] == row["latency_ms_p50"]
    r = run_cli("bench", "--model", model, "--backend", "litert", "--runs", "20", "--no-save")
    assert r.returncode == 0, r.stderr
    assert set(LatencyStore().load()) == {(model, "onnxruntime")}


def test_bench_times_a_pack_model_in_its_worker(tmp_path):
    """bench re-runs itself per pair: the worker must see the --models pack too."""
    r = run_cli("bench", "--models", str(ROOT / "models"), "--model", "fernet-t-int8", "--backend", "onnxruntime",
                "--runs", "10", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["model"] == "fernet-t-int8" and row["latency_ms_p50"] > 0


def test_bench_rounds_give_the_median_of_each_pairs_rounds():
    model = Catalog.load().default("classifier").name
    r = run_cli("bench", "--model", model, "--backend", "onnxruntime", "--runs", "10", "--rounds", "3", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    rounds = row["latency_ms_p50_rounds"]
    assert row["rounds"] == 3 and len(rounds) == 3 and all(v > 0 for v in rounds)
    assert row["latency_ms_p50"] == pytest.approx(float(np.median(rounds)))
    _assert_one_line_error(run_cli("bench", "--model", model, "--rounds", "0"), "--rounds must be at least 1")


def test_bench_refuses_a_model_or_backend_it_cannot_time():
    """An empty table with exit code 0 would read as 'measured, nothing to show'."""
    detector = Catalog.load().default("detector").name
    _assert_one_line_error(run_cli("bench", "--model", "no-such-model"), "unknown model 'no-such-model'")
    _assert_one_line_error(run_cli("bench", "--model", detector), f"model {detector} is a detector")
    _assert_one_line_error(run_cli("bench", "--backend", "no-such-backend"), "unknown backend 'no-such-backend'")


def test_bench_fails_with_exit_1_when_a_measurement_fails_and_works_beside_a_folder_named_ferdesk(tmp_path, catalog_copy):
    cat = Catalog.load(catalog_copy)
    model = cat.default("classifier")
    model.file_for("onnx").path.write_bytes(b"\x00garbage")
    r = run_cli("bench", "--model", model.name, "--backend", "onnxruntime", "--runs", "5",
                env={"FERDESK_CATALOG": str(catalog_copy)})
    assert r.returncode == 1 and "1 of 1 measurements failed" in r.stderr and "Traceback" not in r.stderr, r.stderr
    # a checkout's parent folder: `ferdesk` there is a folder, not the installed package
    (tmp_path / "ferdesk").mkdir()
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.remove(''); from ferdesk.cli import main; "
                        "sys.exit(main(sys.argv[1:]))", "bench", "--model", model.name, "--backend", "onnxruntime",
                        "--runs", "5", "--json"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)[0]["latency_ms_p50"] > 0


def test_doctor_reports_the_machine_and_recommends_an_installed_tier():
    r = run_cli("doctor", "--json", "--no-cameras")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    machine, advice = out["machine"], out["recommendation"]
    assert machine["cores"] >= 1 and machine["python"] and machine["backends"]["onnxruntime"] == ""
    assert "offscreen" in machine["qt_plugins"] and machine["qt_plugins"]["offscreen"] == []
    tiers = Catalog.load().tiers()
    assert advice["model"] == tiers[advice["tier"]].name and advice["backend"] in ("onnxruntime", "litert")
    assert len(advice["reasons"]) == 4
    r = run_cli("doctor", "--no-cameras")
    assert r.returncode == 0 and "recommended:" in r.stdout


def test_the_recommendation_follows_this_machines_bench_figures_and_the_cpu():
    from ferdesk.doctor import MachineReport, recommend

    cat = Catalog.load()
    tiers = cat.tiers()
    pi4 = MachineReport(board="Raspberry Pi 4 Model B Rev 1.4", machine="aarch64", cpu="Cortex-A72", int8_features=[],
                        other_features=["ARM NEON"], cores=4, memory_gb=4.0, os="Debian 12", glibc="glibc-2.36",
                        python="3.11.2", backends={"onnxruntime": "", "litert": ""},
                        detectors={"blazeface": "", "blazeface-frame": ""})
    assert recommend(pi4, cat).tier == "tiny"
    assert recommend(pi4, cat).detector == "blazeface-frame"   # a CPU that slow cannot afford the small-face scan
    pi5 = MachineReport(**{**pi4.to_dict(), "cpu": "Cortex-A76", "int8_features": ["ARMv8.2 dot product (SDOT/UDOT)"]})
    assert recommend(pi5, cat).tier == "balanced" and recommend(pi5, cat).detector == "blazeface"
    slow = {(tiers["balanced"].name, "onnxruntime"): {"latency_ms_p50": 20.0},
            (tiers["best"].name, "onnxruntime"): {"latency_ms_p50": 150.0}}
    assert recommend(pi5, cat, slow).tier == "tiny"             # measured beats guessed
    fast = {(tiers["best"].name, "onnxruntime"): {"latency_ms_p50": 4.5}}
    advice = recommend(pi5, cat, fast)
    assert advice.tier == "best" and advice.model == tiers["best"].name and "measured here" in advice.reasons[1]
