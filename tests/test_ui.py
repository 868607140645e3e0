"""The window, offscreen: it starts, frames arrive, switches and recording work."""
from __future__ import annotations

import csv
import json
import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QListWidget  # noqa: E402

from ferdesk.latency_store import LatencyStore  # noqa: E402
from ferdesk.ui.main_window import MainWindow  # noqa: E402
from ferdesk.ui.model_table import NAME_ROLE  # noqa: E402


@pytest.fixture
def window(qtbot, clip):
    w = MainWindow(source="demo")
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def test_window_shows_demo_frames_with_a_face(window, qtbot):
    qtbot.waitUntil(lambda: window.frames_shown >= 5 and bool(window.latest.result.faces), timeout=20000)
    assert window.source_info.width == 640 and window.source_info.height == 480
    face = window._selected_face()
    assert face is not None
    assert abs(sum(window.probs.value(l) for l in window.latest.labels) - 1) < 0.02
    assert "FPS" in window.status.text()


def test_model_menu_offers_the_tiers_with_size_accuracy_and_this_machines_time(window, qtbot):
    texts = {a.data(): a.text() for a in window.model_group.actions()}
    tiers = window.catalog.tiers()
    assert list(tiers) == ["tiny", "balanced", "best"]
    assert list(texts)[:3] == [spec.name for spec in tiers.values()]
    assert "Balanced (default)" in texts[tiers["balanced"].name]
    for spec in tiers.values():
        assert "on FER2013" in texts[spec.name] and "not timed here yet" in texts[spec.name]
    assert "All models..." in [a.text() for a in window.model_menu.actions()]
    # figures that ferdesk bench kept are shown once measured
    LatencyStore().merge([{"model": tiers["tiny"].name, "backend": "onnxruntime", "latency_ms_p50": 0.123}])
    window.model_menu.aboutToShow.emit()
    tiny = next(a for a in window.model_group.actions() if a.data() == tiers["tiny"].name)
    assert "0.12 ms per face here (onnxruntime)" in tiny.text()
    qtbot.waitUntil(lambda: window.stack_info is not None, timeout=20000)
    checked = [a.data() for a in window.model_group.actions() if a.isChecked()]
    assert checked == [tiers["balanced"].name]          # the current model is marked


def test_all_models_table_sorts_filters_and_switches(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None, timeout=20000)
    dialog = window.show_model_table()
    proxy = dialog.proxy
    classifiers = {m.name for m in window.catalog.by_task("classifier")}
    assert {proxy.index(r, 0).data(NAME_ROLE) for r in range(proxy.rowCount())} == classifiers
    assert dialog.selected_name() == window.stack_info.model    # opens on the current model
    dialog.view.sortByColumn(4, Qt.AscendingOrder)               # size
    sizes = [window.catalog.get(proxy.index(r, 0).data(NAME_ROLE)).primary.size_bytes for r in range(proxy.rowCount())]
    assert sizes == sorted(sizes)
    dialog.filter.setText("int8")
    shown = [proxy.index(r, 0).data(NAME_ROLE) for r in range(proxy.rowCount())]
    assert shown and all("int8" in n for n in shown)
    dialog.filter.setText("")
    other = next(n for n in sorted(classifiers) if n not in {s.name for s in window.catalog.tiers().values()})
    dialog.select(other)
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.stack_info.model == other, timeout=20000)
    current = [a for a in window.model_group.actions() if a.isChecked()]
    assert [a.data() for a in current] == [other] and current[0].text() == f"Current: {other}"


def test_switching_model_detector_and_backend_keeps_frames_coming(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 2, timeout=20000)
    other = next(m.name for m in window.catalog.by_task("classifier") if m.name != window.stack_info.model)
    window.inference.request_stack(model=other)
    qtbot.waitUntil(lambda: window.stack_info.model == other, timeout=20000)
    checked = [a.data() for a in window.model_group.actions() if a.isChecked()]
    assert checked == [other]
    window.inference.request_stack(detector="opencv-cascade")
    qtbot.waitUntil(lambda: window.stack_info.detector == "opencv-cascade", timeout=20000)
    window.inference.request_stack(model=window.catalog.default("classifier").name, backend="litert")
    qtbot.waitUntil(lambda: window.stack_info.backend == "litert", timeout=20000)
    window.inference.request_stack(temporal="ema")
    qtbot.waitUntil(lambda: window.stack_info.temporal == "ema", timeout=20000)
    before = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > before + 3, timeout=20000)
    on = next(a for a in window.temporal_group.actions() if a.data() == "on")
    assert on.isEnabled() and "TT-LSTM" in on.text()
    on.trigger()                                          # the menu item, as a user picks it
    qtbot.waitUntil(lambda: window.stack_info.temporal == "on", timeout=20000)
    before = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > before + 3, timeout=20000)
    assert not window.errors
    # a model with the same features keeps the head (its FP16 file runs on ONNX Runtime)
    window.inference.request_stack(model="fernet-sm-kd2-pruned-rfbank-ck-fp16", backend="onnxruntime")
    qtbot.waitUntil(lambda: window.stack_info.model == "fernet-sm-kd2-pruned-rfbank-ck-fp16", timeout=20000)
    assert window.stack_info.temporal == "on" and not window.errors


def test_the_prior_menu_switches_the_prior_and_it_is_saved(qtbot, tmp_path):
    from ferdesk.settings import Settings
    from ferdesk.ui.main_window import MainWindow

    w = MainWindow(source="demo", settings=Settings(prior="neutral=0.3"), settings_file=tmp_path / "s.json")
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.stack_info is not None and w.frames_shown >= 1, timeout=20000)
        assert w.stack_info.prior == "neutral=0.3"
        ticked = [a for a in w.prior_group.actions() if a.isChecked()]
        assert [a.data() for a in ticked] == ["neutral=0.3"] and "neutral=0.3" in ticked[0].text()
        uniform = next(a for a in w.prior_group.actions() if a.data() == "uniform")
        uniform.trigger()
        qtbot.waitUntil(lambda: w.stack_info.prior == "uniform", timeout=20000)
        assert [a.data() for a in w.prior_group.actions()] == ["trained", "uniform"]   # the given one is gone
        assert uniform.isChecked() and "prior uniform" in w.status.text()
        shown = w.frames_shown
        qtbot.waitUntil(lambda: w.frames_shown > shown + 2, timeout=20000)
        w.save_settings()
        assert Settings.load(tmp_path / "s.json")[0].prior == "uniform" and not w.errors
    finally:
        w.shutdown()


def test_saved_temporal_mode_comes_back(qtbot, clip, tmp_path):
    from ferdesk.settings import Settings
    from ferdesk.ui.main_window import MainWindow

    w = MainWindow(source="demo", settings=Settings(temporal="on"), settings_file=tmp_path / "s.json")
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.stack_info is not None, timeout=20000)
    assert w.stack_info.temporal == "on"
    w.save_settings()
    assert Settings.load(tmp_path / "s.json")[0].temporal == "on"
    w.shutdown()


def test_recording_writes_a_log_that_records_switches_and_source_changes(window, qtbot, tmp_path, clip):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 2, timeout=20000)
    folder = tmp_path / "rec"
    window.inference.request_recording(folder)
    qtbot.waitUntil(lambda: window.stack_info.recording is not None, timeout=10000)
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start + 5, timeout=20000)
    window.inference.request_stack(detector="opencv-cascade", model=window.catalog.tiers()["tiny"].name)
    qtbot.waitUntil(lambda: window.stack_info.detector == "opencv-cascade", timeout=20000)
    window.open_source(str(clip))                       # another source while recording
    qtbot.waitUntil(lambda: window.source_info is not None and window.source_info.spec == str(clip), timeout=20000)
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start + 3, timeout=20000)
    window.inference.request_stop_recording()
    qtbot.waitUntil(lambda: window.stack_info.recording is None, timeout=10000)
    rows = list(csv.reader(open(folder / "frames.csv")))
    assert rows[0][0] == "frame" and len(rows) > 5
    session = json.loads((folder / "session.json").read_text())
    assert session["stopped_at"] and session["frames_processed"] > 5 and session["ended"] == "normally"
    # the top level is what ran when the recording started; every change is an event with its frame
    assert session["source"] == "demo" and session["model"] == window.catalog.default("classifier").name
    assert session["detector"] == "blazeface"
    assert any(e["event"] == "switch" and e["detector"] == "opencv-cascade" for e in session["events"])
    assert any(e["event"] == "source" and e["source"] == str(clip) for e in session["events"])
    model = rows[0].index("model")
    assert {r[model] for r in rows[1:]} == {session["model"], window.catalog.tiers()["tiny"].name}


def test_a_bad_source_shows_a_message_not_a_crash(qtbot, tmp_path):
    w = MainWindow(source=str(tmp_path / "missing.mp4"))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: bool(w.errors), timeout=10000)
    assert "missing.mp4" in w.errors[0]
    assert "missing.mp4" in w.notifications.message and not w.notifications.isHidden()
    assert "Source menu" in w.video.message                # the pane says what to do, not "opening..."
    w.shutdown()


def test_signal_emission_keeps_bool_refcounts():
    """PySide6 6.12.0 drops a reference to True on each emit to a Python slot, which aborts
    the app after a few thousand frames; ferdesk excludes it. This guards the pinned range."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        fired = Signal(object)

    e = Emitter()
    e.fired.connect(lambda _x: None)
    before = sys.getrefcount(True)
    for _ in range(200):
        e.fired.emit(1)
    assert sys.getrefcount(True) >= before - 5


def test_markers_land_in_the_recording(window, qtbot, tmp_path):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 2, timeout=20000)
    folder = tmp_path / "marked"
    window.inference.request_recording(folder)
    qtbot.waitUntil(lambda: window.stack_info.recording is not None, timeout=10000)
    window.marker_action.trigger()
    window.inference.request_marker("stimulus", "picture 3 shown")
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > start + 3, timeout=20000)
    window.inference.request_stop_recording()
    qtbot.waitUntil(lambda: window.stack_info.recording is None, timeout=10000)
    rows = list(csv.reader(open(folder / "markers.csv")))
    assert rows[0] == ["frame", "time_s", "wall_time", "label", "text"]
    assert [r[3:] for r in rows[1:]] == [["marker", ""], ["stimulus", "picture 3 shown"]]
    assert all(r[0].isdigit() for r in rows[1:])
    assert json.loads((folder / "session.json").read_text())["markers"] == 2


def test_settings_persist_and_a_corrupt_file_is_reset(qtbot, isolated_config):
    from ferdesk.settings import Settings, settings_path

    w = MainWindow(source="demo", detector="opencv-cascade")
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.stack_info is not None and w.stack_info.detector == "opencv-cascade"
                    and w.source_info is not None, timeout=20000)
    w.shutdown()
    saved, warning = Settings.load()
    assert warning is None and saved.detector == "opencv-cascade" and saved.source == "demo"

    settings_path().write_text("{not json")
    w2 = MainWindow()
    qtbot.addWidget(w2)
    assert w2.settings_warning and "unreadable" in w2.settings_warning
    qtbot.waitUntil(lambda: w2.stack_info is not None, timeout=20000)
    assert w2.stack_info.detector == "blazeface"
    w2.shutdown()


def test_command_line_record_starts_a_recording(qtbot, tmp_path):
    w = MainWindow(source="demo", record=str(tmp_path / "cli_rec"))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: w.stack_info is not None and w.stack_info.recording is not None, timeout=20000)
    w.shutdown()
    assert (tmp_path / "cli_rec" / "frames.csv").exists()


def test_sessions_panel_lists_summarises_and_exports(qtbot, tmp_path, clip):
    from conftest import run_cli
    from ferdesk.ui.sessions_panel import SessionsPanel

    root = tmp_path / "sessions"
    assert run_cli("run", "--source", str(clip), "--log", str(root / "20260101-120000")).returncode == 0
    panel = SessionsPanel(root=root)
    qtbot.addWidget(panel)
    assert panel.list.count() == 1 and panel.current == root / "20260101-120000"
    assert "24 frames" in panel.summary.text() and "%" in panel.summary.text()
    png = panel.export_chart(tmp_path / "chart.png")
    assert png.stat().st_size > 1000


def test_end_of_a_video_is_said_in_the_window(qtbot, clip):
    w = MainWindow(source=str(clip))
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "end of video" in w.video.message, timeout=30000)
    # on a loaded machine a short clip can end before the first result is painted; the frames the
    # source delivered are still inferred and shown after its end
    qtbot.waitUntil(lambda: w.frames_shown >= 1, timeout=30000)
    assert "end of video" in w.video.message and not w.errors
    w.shutdown()


def test_cyclic_garbage_is_freed_in_the_ui_thread_not_in_a_worker(qtbot):
    import gc
    import threading

    from ferdesk.ui.ui_thread_gc import UiThreadGarbageCollector

    freed_in: list[str] = []

    class Cycle:
        def __del__(self):
            freed_in.append(threading.current_thread().name)

    def make_cycles():
        for _ in range(5000):  # several times the youngest generation's threshold
            c = Cycle()
            c.me = c

    assert gc.isenabled()
    collector = UiThreadGarbageCollector(interval_ms=10)
    collector.start()
    assert not gc.isenabled()
    worker = threading.Thread(target=make_cycles, name="worker")
    worker.start()
    worker.join()
    assert freed_in == []  # with automatic collection on, the worker would have freed most of them
    qtbot.waitUntil(lambda: len(freed_in) == 5000, timeout=5000)
    assert set(freed_in) == {threading.main_thread().name}
    collector.stop()
    assert gc.isenabled()


def test_the_window_turns_automatic_collection_off_while_its_threads_run(qtbot):
    import gc

    w = MainWindow(source="demo")
    qtbot.addWidget(w)
    assert not gc.isenabled()
    qtbot.waitUntil(lambda: w.stack_info is not None, timeout=20000)
    w.shutdown()
    assert gc.isenabled()


def test_latency_legend_fits_in_its_chart_with_every_stage(qtbot):
    """Seven stages (temporal head on, render) used to stack one per row and run off the chart's foot."""
    from ferdesk.ui.perf_charts import STAGE_COLOURS, PerfCharts

    charts = PerfCharts()
    qtbot.addWidget(charts)
    charts.resize(520, 360)
    charts.show()
    for _ in range(3):
        charts.add({stage: 1.0 for stage in STAGE_COLOURS})
        charts.refresh()
        charts.refresh()
    legend = charts.lat_plot.getPlotItem().legend
    assert sorted(label.text for _, label in legend.items) == sorted(STAGE_COLOURS)
    view = charts.lat_plot.getPlotItem().getViewBox()
    qtbot.waitUntil(lambda: view.sceneBoundingRect().height() > 0)
    assert legend.sceneBoundingRect().bottom() <= view.sceneBoundingRect().bottom()


def test_a_saved_model_that_is_not_installed_falls_back_to_the_defaults_with_a_notice(qtbot, isolated_config):
    """Settings from before the zoo became a pack name a model the package no longer carries."""
    isolated_config.mkdir(parents=True, exist_ok=True)
    (isolated_config / "settings.json").write_text(json.dumps({"source": "demo", "model": "fernet-s-ekd-int8"}))
    w = MainWindow()
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.frames_shown >= 2, timeout=20000)
        assert w.stack_info.model == w.catalog.default("classifier").name
        assert any("fernet-s-ekd-int8" in e and "ferdesk-zoo" in e and "default" in e for e in w.errors), w.errors
    finally:
        w.shutdown()


@pytest.mark.parametrize("saved, named", [
    ({"source": 12}, "source=12"),
    ({"window_state": 5, "window_geometry": [1, 2]}, "window_state=5"),
    ({"model": "nope"}, "model 'nope'"),
    ({"backend": "nope"}, "backend 'nope'"),
    ({"detector": "nope"}, "detector 'nope'"),
    ({"temporal": "bogus"}, "temporal 'bogus'"),
    ({"prior": "calm=0.5"}, "prior 'calm=0.5'"),
])
def test_a_bad_setting_falls_back_with_a_notice_and_is_not_saved_again(qtbot, isolated_config, saved, named):
    isolated_config.mkdir(parents=True, exist_ok=True)
    path = isolated_config / "settings.json"
    path.write_text(json.dumps({"source": "demo", **saved}))
    w = MainWindow()
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: w.frames_shown >= 2, timeout=20000)
        assert any(named in e for e in w.errors), w.errors
    finally:
        w.shutdown()
    written = json.loads(path.read_text())
    for key, value in saved.items():
        assert written.get(key) != value, (key, written.get(key))
    assert written["model"] == w.catalog.default("classifier").name


def test_notices_stay_until_dismissed_and_are_kept_in_the_log(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 1, timeout=20000)
    window.inference.request_stack(model="nope")
    qtbot.waitUntil(lambda: "unknown model 'nope'" in window.notifications.message, timeout=10000)
    window.inference.request_stack(detector="opencv-cascade")            # a later switch that works
    qtbot.waitUntil(lambda: window.stack_info.detector == "opencv-cascade", timeout=20000)
    assert "unknown model 'nope'" in window.notifications.message       # still readable
    window.inference.request_marker("marker")                             # not recording: a warning replaces it
    qtbot.waitUntil(lambda: "start recording first" in window.notifications.message, timeout=10000)
    window.notifications.dismiss_button.click()
    assert window.notifications.isHidden()
    log = window.notifications.show_log()
    entries = [log.findChild(QListWidget).item(i).text() for i in range(log.findChild(QListWidget).count())]
    assert any("unknown model 'nope'" in e for e in entries) and any("start recording first" in e for e in entries)
    log.close()


def test_rec_indicator_counts_while_recording(window, qtbot, tmp_path):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 1, timeout=20000)
    assert window.rec_label.text() == ""
    window.inference.request_recording(tmp_path / "rec")
    qtbot.waitUntil(lambda: window.rec_label.text().startswith("\u25cf REC 0:00:0"), timeout=10000)
    window.inference.request_stop_recording()
    qtbot.waitUntil(lambda: window.rec_label.text() == "", timeout=10000)


def test_the_window_with_its_sessions_panel_fits_a_1366x768_screen(window, qtbot):
    window.sessions.show()
    qtbot.waitUntil(lambda: window.sessions.isVisible(), timeout=5000)
    hint = window.minimumSizeHint()
    assert hint.height() <= 700 and hint.width() <= 1366, hint    # room for the title bar and a panel
    window.resize(1366, 700)
    qtbot.wait(50)
    buttons = (window.sessions.refresh_button, window.sessions.export_button, window.sessions.open_button)
    for b in buttons:
        corner = b.mapTo(window, b.rect().bottomRight())
        assert window.rect().contains(corner), (b.text(), corner, window.rect())


def test_the_temporal_menu_names_the_running_models_head_and_a_refused_mode_is_not_ticked(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 1, timeout=20000)
    on = next(a for a in window.temporal_group.actions() if a.data() == "on")
    head = window.catalog.default("temporal").name
    assert head in on.text() and on.isEnabled()
    tiny = window.catalog.tiers()["tiny"].name
    window.inference.request_stack(model=tiny)
    qtbot.waitUntil(lambda: window.stack_info.model == tiny, timeout=20000)
    assert not on.isEnabled() and "unavailable" in on.text() and tiny in on.text()
    window.inference.request_stack(temporal="on")          # refused: no head reads the tiny tier's features
    qtbot.waitUntil(lambda: any("temporal" in e for e in window.errors), timeout=10000)
    qtbot.wait(100)
    ticked = [a.data() for a in window.temporal_group.actions() if a.isChecked()]
    assert ticked == [window.stack_info.temporal] == ["off"]


def test_recording_an_ended_source_is_refused_with_a_notice(qtbot, tmp_path):
    image = tmp_path / "face.png"
    import cv2
    from conftest import DEMO_IMAGE

    cv2.imwrite(str(image), cv2.imread(str(DEMO_IMAGE)))
    w = MainWindow(source=str(image))
    qtbot.addWidget(w)
    try:
        qtbot.waitUntil(lambda: "end of" in w.video.message, timeout=20000)
        w.inference.request_recording(tmp_path / "rec")
        qtbot.waitUntil(lambda: "nothing to record" in w.notifications.message, timeout=10000)
        assert not (tmp_path / "rec").exists()
    finally:
        w.shutdown()


def test_a_text_marker_is_stamped_with_the_frame_on_screen_when_the_key_was_pressed(window, qtbot, tmp_path, monkeypatch):
    from ferdesk.ui import main_window

    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown > 2, timeout=20000)
    window.inference.request_recording(tmp_path / "rec")
    qtbot.waitUntil(lambda: window.stack_info.recording is not None, timeout=10000)
    qtbot.waitUntil(lambda: window._painted is not None, timeout=10000)
    pressed = {}

    def slow_typist(*_args, **_kwargs):
        pressed["frame"] = window._painted.result.frame_index
        start = window.frames_shown
        qtbot.waitUntil(lambda: window.frames_shown > start + 10, timeout=20000)   # seconds of typing
        return "stimulus", True

    monkeypatch.setattr(main_window.QInputDialog, "getText", slow_typist)
    window.marker_text_action.trigger()
    qtbot.waitUntil(lambda: (tmp_path / "rec" / "markers.csv").exists(), timeout=10000)
    rows = list(csv.reader(open(tmp_path / "rec" / "markers.csv")))
    assert rows[1][3:] == ["marker", "stimulus"] and int(rows[1][0]) == pressed["frame"]


def test_the_first_start_uses_the_recommendation_and_says_so(qtbot, isolated_config):
    w = MainWindow(source="demo")
    qtbot.addWidget(w)
    try:
        assert w.first_start_advice is not None
        qtbot.waitUntil(lambda: w.stack_info is not None, timeout=20000)
        assert w.stack_info.model == w.first_start_advice.model
        assert "First start" in w.notifications.message and w.first_start_advice.tier in w.notifications.message
    finally:
        w.shutdown()
    again = MainWindow(source="demo")                      # settings exist now: no advice over them
    qtbot.addWidget(again)
    assert again.first_start_advice is None
    again.shutdown()


def test_compare_view_shows_both_answers_their_agreement_and_switches_off(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 2, timeout=20000)
    assert window.agreement.isHidden()
    tiny = window.catalog.tiers()["tiny"].name
    window._fill_model_menu()
    item = next(a for a in window.compare_group.actions() if a.data() == tiny)
    item.trigger()
    qtbot.waitUntil(lambda: window.stack_info.compare == tiny, timeout=20000)
    qtbot.waitUntil(lambda: window.latest is not None and window.latest.result.faces
                    and window.latest.result.faces[0].compare is not None, timeout=20000)
    assert not window.agreement.isHidden()
    qtbot.waitUntil(lambda: window.agreement.totals.faces >= 5, timeout=20000)
    window.agreement.refresh()
    title = window.agreement.title_text()
    assert "A/B agreement" in title and "faces" in title and "ms" in title
    assert f"compared with {tiny}" in window.status.text()
    window.video.grab()                                   # paints both labels without error
    window._fill_model_menu()
    assert [a.data() for a in window.compare_group.actions() if a.isChecked()] == [tiny]
    # what INT8 changed: the running model's FP16 file, from the table of every model
    fp16 = window.stack_info.model.replace("-int8", "-fp16")
    dialog = window.show_model_table(compare=True)
    assert dialog.selected_name() == tiny and "Compare" in dialog.windowTitle()
    dialog.select(fp16)
    dialog.use_button.click()
    qtbot.waitUntil(lambda: window.stack_info.compare == fp16, timeout=20000)
    window._fill_model_menu()
    assert [a.data() for a in window.compare_group.actions() if a.isChecked()] == [fp16]
    assert window.stack_info.model != fp16
    litert = next(a for a in window.compare_menu.actions() if a.data() == "litert")
    assert not litert.isEnabled() and "unavailable" in litert.text()      # an FP16 ONNX file: ONNX Runtime only
    assert [a.data() for a in window.compare_menu.actions() if a.isChecked()] == [fp16, "onnxruntime"]
    off = next(a for a in window.compare_group.actions() if a.data() is None)
    off.trigger()
    qtbot.waitUntil(lambda: window.stack_info.compare is None, timeout=20000)
    assert window.agreement.isHidden() and not window.errors


def test_the_stream_menu_opens_a_websocket_that_a_client_hears_and_closes_it(window, qtbot):
    pytest.importorskip("websockets", reason="the stream extra (pip install '.[stream]') is not installed")
    from websockets.sync.client import connect

    from ferdesk.streams.websocket import DEFAULT_PORT

    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 1, timeout=20000)
    act = window.stream_actions["ws"]
    assert act.isEnabled() and not act.isChecked()
    act.trigger()
    qtbot.waitUntil(lambda: "ws" in window.stack_info.streams, timeout=20000)
    assert act.isChecked() and "streaming to ws" in window.status.text()
    with connect(f"ws://127.0.0.1:{DEFAULT_PORT}") as client:
        assert json.loads(client.recv(timeout=5))["type"] == "hello"
        frame = json.loads(client.recv(timeout=10))
        assert frame["type"] == "frame" and frame["labels"] == list(window.latest.labels)
    act.trigger()
    qtbot.waitUntil(lambda: not window.stack_info.streams, timeout=20000)
    assert not act.isChecked() and not window.errors


def test_session_details_from_the_dialog_reach_the_next_recording_and_the_panel(window, qtbot, tmp_path):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 1, timeout=20000)
    dialog = window.edit_session_details()
    dialog.participant.setText(" P07 ")
    dialog.condition.setText("stimulus A")
    dialog.note.setPlainText("lights dimmed")
    dialog.accept()
    assert "P07" in window.details_action.text()
    folder = tmp_path / "rec"
    window.inference.request_recording(folder)
    qtbot.waitUntil(lambda: window.stack_info.recording is not None, timeout=20000)
    qtbot.waitUntil(lambda: (folder / "session.json").exists(), timeout=20000)
    window.inference.request_stop_recording()
    qtbot.waitUntil(lambda: window.stack_info.recording is None, timeout=20000)
    meta = json.loads((folder / "session.json").read_text())
    assert (meta["participant"], meta["condition"], meta["note"]) == ("P07", "stimulus A", "lights dimmed")
    window.sessions.root = tmp_path
    window.sessions.refresh()
    assert "participant P07" in window.sessions.summary.text() and "note: lights dimmed" in window.sessions.summary.text()


def test_head_pose_toggle_shows_the_pose_of_the_selected_face(window, qtbot):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 1, timeout=20000)
    assert not window.pose_action.isChecked()
    window.pose_action.trigger()
    qtbot.waitUntil(lambda: window.stack_info.head_pose, timeout=20000)
    qtbot.waitUntil(lambda: window.latest.result.faces and window.latest.result.faces[0].pose is not None, timeout=20000)
    qtbot.waitUntil(lambda: "yaw" in window.probs.caption.text(), timeout=20000)
    assert window.pose_action.isChecked() and "eyes open" in window.probs.caption.text()
    assert not window.pose_chart.isHidden()
    qtbot.waitUntil(lambda: len(window.pose_chart._points) >= 2, timeout=20000)
    window.pose_action.trigger()
    qtbot.waitUntil(lambda: not window.stack_info.head_pose, timeout=20000)
    assert window.pose_chart.isHidden() and not window.errors


def test_the_batch_queue_runs_videos_beside_the_live_view_and_resumes_after_a_stop(window, qtbot, tmp_path, clip):
    import shutil

    from PySide6.QtCore import Qt as QtCore_Qt

    for k in range(3):
        shutil.copy(clip, tmp_path / f"take{k}.mp4")
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 1, timeout=20000)
    panel = window.batch
    panel.add_sources([str(tmp_path / f"take{k}.mp4") for k in range(3)])
    panel.set_output(tmp_path / "out")
    panel.start()
    # stop as the second video starts: it is left interrupted, the third is not run
    panel.worker.file_started.connect(lambda n, *_: n == 1 and panel.worker.stop(), QtCore_Qt.DirectConnection)
    with qtbot.waitSignal(panel.batch_finished, timeout=120000) as first:
        pass
    assert first.args == [1, 3] and "Start resumes" in panel.status.text()
    shown = window.frames_shown
    done_first = (tmp_path / "out" / "take0" / "frames.csv").stat().st_mtime_ns
    with qtbot.waitSignal(panel.batch_finished, timeout=120000) as second:
        panel.start()
    assert second.args == [3, 3]
    assert (tmp_path / "out" / "take0" / "frames.csv").stat().st_mtime_ns == done_first    # not redone
    assert window.frames_shown > shown and not window.errors                               # the live view went on


def test_a_recording_with_its_video_chosen_in_the_toolbar_says_so_and_stores_it(window, qtbot, tmp_path):
    qtbot.waitUntil(lambda: window.stack_info is not None and window.frames_shown >= 1, timeout=20000)
    window.video_choice.setCurrentIndex(window.video_choice.findData("blur"))
    folder = tmp_path / "rec"
    window.inference.request_recording(folder)
    qtbot.waitUntil(lambda: window.stack_info.recording is not None, timeout=20000)
    qtbot.waitUntil(lambda: "VIDEO" in window.rec_label.text(), timeout=5000)
    shown = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown > shown + 5, timeout=20000)
    window.inference.request_stop_recording()
    qtbot.waitUntil(lambda: window.stack_info.recording is None, timeout=20000)
    meta = json.loads((folder / "session.json").read_text())
    assert meta["video"]["mode"] == "blur" and meta["video"]["frames"] == meta["frames_processed"] > 0
    assert (folder / "video.mp4").stat().st_size > 0
