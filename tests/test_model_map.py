"""This machine's model map: ferdesk bench --all (every pair, with progress) and the window's Model map."""
from __future__ import annotations

import json
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from conftest import read_json, run_cli  # noqa: E402
from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.commands.models import model_backends  # noqa: E402
from ferdesk.latency_store import LatencyStore  # noqa: E402


@pytest.fixture
def two_tiers(catalog_copy):
    """The bundled catalog cut to the tiny and the balanced tier (and the detectors): a quick --all."""
    doc = read_json(catalog_copy)
    keep = {m["name"] for m in doc["models"] if m.get("tier") in ("tiny", "balanced")}
    doc["models"] = [m for m in doc["models"] if m["task"] not in ("classifier", "temporal") or m["name"] in keep]
    catalog_copy.write_text(json.dumps(doc))
    return catalog_copy


def test_bench_all_measures_every_pair_with_progress_and_keeps_them(two_tiers):
    env = {"FERDESK_CATALOG": str(two_tiers)}
    r = run_cli("bench", "--all", "--runs", "10", "--json", env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    cat = Catalog.load(two_tiers)
    expected = {(s.name, b) for s in cat.by_task("classifier") for b in model_backends(s)}
    measured = {(row["model"], row["backend"]) for row in rows if "latency_ms_p50" in row}
    skipped = {(row["model"], row["backend"]) for row in rows if "skipped" in row}
    assert measured | skipped == expected and measured
    progress = [line for line in r.stderr.splitlines() if line.startswith("bench: ")]
    assert progress[0].startswith(f"bench: 1/{len(measured)} ") and progress[-1].startswith(f"bench: {len(measured)}/")
    assert set(LatencyStore().load()) == measured
    bad = run_cli("bench", "--all", "--model", "x", env=env)
    assert bad.returncode == 2 and "leave out --model" in bad.stderr


def test_the_model_map_plots_what_was_measured_and_a_click_switches(qtbot, two_tiers):
    from ferdesk.ui.main_window import MainWindow
    from ferdesk.ui.model_map import map_points

    cat = Catalog.load(two_tiers)
    tiers = cat.tiers()
    LatencyStore().merge([{"model": tiers["tiny"].name, "backend": "onnxruntime", "latency_ms_p50": 0.3},
                          {"model": tiers["balanced"].name, "backend": "onnxruntime", "latency_ms_p50": 0.45}])
    points = map_points(cat, LatencyStore().load())
    assert {(p["model"], p["backend"]) for p in points} == {(tiers["tiny"].name, "onnxruntime"),
                                                             (tiers["balanced"].name, "onnxruntime")}
    w = MainWindow(source="demo", catalog=cat)
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.stack_info is not None and w.frames_shown >= 1, timeout=20000)
        dialog = w.show_model_map()
        assert len(dialog.points) == 2 and "click one" in dialog.note.text()
        dialog.choose(tiers["tiny"].name, "onnxruntime")
        qtbot.waitUntil(lambda: w.stack_info.model == tiers["tiny"].name, timeout=20000)
        dialog.close()
    finally:
        w.shutdown()


def test_benchmark_this_machine_runs_bench_in_the_background_and_redraws(qtbot, two_tiers, monkeypatch):
    from ferdesk.ui.model_map import ModelMapDialog

    monkeypatch.setenv("FERDESK_CATALOG", str(two_tiers))
    cat = Catalog.load(two_tiers)
    dialog = ModelMapDialog(cat, None)
    qtbot.addWidget(dialog)
    assert not dialog.points and "Nothing measured" in dialog.note.text()
    dialog.benchmark()
    assert not dialog.bench_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.maximum() > 0, timeout=60000)      # progress read from bench
    qtbot.waitUntil(lambda: dialog.process is None, timeout=600000)
    assert dialog.points and dialog.bench_button.isEnabled()
