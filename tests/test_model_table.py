"""tools/model_table.py: the timings it stores, and the table rebuilt from them."""
from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "model_table.py"


@pytest.fixture()
def model_table():
    spec = importlib.util.spec_from_file_location("model_table", SCRIPT)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _row(text: str, model: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"| {model} |"))


def test_a_timed_run_stores_its_timings_and_a_rebuild_reuses_them_without_timing(model_table, tmp_path, monkeypatch):
    bench = [{"model": "fernet-s-ekd", "backend": "onnxruntime", "latency_ms_p50": 1.5, "latency_ms_p95": 1.75},
             {"model": "fernet-s-ekd-int8", "backend": "onnxruntime", "latency_ms_p50": 0.5, "latency_ms_p95": 0.625},
             {"model": "fernet-s-ekd-int8", "backend": "litert", "latency_ms_p50": 0.875, "latency_ms_p95": 0.9}]
    calls = []
    real_run = subprocess.run

    def fake_bench(cmd, **kwargs):
        if "bench" not in cmd:   # platform.processor() runs `uname -p` the first time a process asks
            return real_run(cmd, **kwargs)
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0, stdout=json.dumps(bench), stderr="")

    monkeypatch.setattr(model_table.subprocess, "run", fake_bench)
    stored = tmp_path / "timed-latency.json"  # beside the table it times, never in docs/ when --out is elsewhere
    model_table.main(["--rounds", "2", "--out", str(tmp_path / "timed.md")])
    assert len(calls) == 1 and "--rounds" in calls[0]
    timing = json.loads(stored.read_text())
    assert timing["rounds"] == 2 and timing["results"] == bench

    timing["cpu"], timing["machine"] = "Board CPU 9000", "aarch64"
    stored.write_text(json.dumps(timing))
    model_table.main(["--latency-from", str(stored), "--out", str(tmp_path / "rebuilt.md")])
    assert len(calls) == 1, "a rebuild from stored timings must not time anything"
    text = (tmp_path / "rebuilt.md").read_text()
    assert f"measured on Board CPU 9000 (aarch64), timings reused from {stored.as_posix()}" in text
    assert "0.500 / 0.625 (0.33x) | 0.875 / 0.900 |" in _row(text, "fernet-s-ekd-int8")
    assert _row(text, "fernet-s-kd-int8").endswith("| - | - |"), "a model the timings do not hold gets no latency"
    assert _row(text, "fernet-s-ekd-int8").split("|")[1:5] == _row((tmp_path / "timed.md").read_text(), "fernet-s-ekd-int8").split("|")[1:5]


def test_unreadable_stored_timings_are_a_one_line_error(model_table, tmp_path, capsys):
    with pytest.raises(SystemExit):
        model_table.main(["--latency-from", str(tmp_path / "missing.json"), "--out", str(tmp_path / "x.md")])
    assert "cannot read timings from" in capsys.readouterr().err
    assert not (tmp_path / "x.md").exists()
