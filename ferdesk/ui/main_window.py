"""The main window: layout, menus and status bar. Work happens in ferdesk.workers."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThread, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QComboBox, QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu, QScrollArea, QSplitter, QToolBar,
                               QVBoxLayout, QWidget)

from ferdesk.catalog import Catalog
from ferdesk.commands.models import model_backends
from ferdesk.detectors import detectors
from ferdesk.engines import engines
from ferdesk.sources import sources
from ferdesk.sources.images import IMAGE_SUFFIXES
from ferdesk.latency_store import LatencyStore
from ferdesk.prior import TRAINED, UNIFORM, valid_prior
from ferdesk.streams import streams
from ferdesk.streams.websocket import DEFAULT_PORT as WS_DEFAULT_PORT
from ferdesk.temporal import compatible_classifiers
from ferdesk.doctor import machine_report, recommend
from ferdesk.settings import Settings, settings_path
from ferdesk.ui.model_table import ModelTableDialog, model_rows
from ferdesk.ui.notifications import NotificationBar
from ferdesk.ui.perf_charts import PerfCharts
from ferdesk.ui.stall import StallMonitor
from ferdesk.ui.timeline import EmotionTimeline
from ferdesk.ui.ui_thread_gc import UiThreadGarbageCollector
from ferdesk.ui.prob_panel import ProbabilityPanel
from ferdesk.ui.sessions_panel import SessionsPanel
from ferdesk.ui.video_view import VideoView
from ferdesk.workers import DisplayResult, InferenceWorker, SourceInfo, StackInfo
from ferdesk.ui.agreement_chart import AgreementChart
from ferdesk.ui.batch_panel import BatchPanel
from ferdesk.ui.model_map import ModelMapDialog
from ferdesk.ui.pose_chart import HeadPoseChart
from ferdesk.ui.details_dialog import SessionDetailsDialog


TIER_TITLES = {"tiny": "Tiny", "balanced": "Balanced", "best": "Best"}


def tier_text(tier: str, spec, latencies: dict, backend: str | None, default: bool) -> str:
    """A Model menu line for people: the tier, then the model's size, accuracy and time on this machine."""
    acc = (spec.get("metrics") or {}).get("fer2013_publictest_accuracy")
    measured = latencies.get((spec.name, backend)) or next((r for (m, _), r in latencies.items() if m == spec.name), None)
    kb = spec.primary.size_bytes / 1024
    parts = [f"{kb / 1024:.1f} MB" if kb >= 1024 else f"{kb:.0f} KB"]
    if acc is not None:
        parts.append(f"{acc:.2%} on FER2013 PublicTest")
    parts.append(f"{measured['latency_ms_p50']:.2f} ms per face here ({measured['backend']})" if measured
                 else "not timed here yet (ferdesk bench)")
    return f"{TIER_TITLES[tier]}{' (default)' if default else ''}: {spec.name}  \u2014  {', '.join(parts)}"


class MainWindow(QMainWindow):
    def __init__(self, source: str | None = None, model: str | None = None, backend: str | None = None,
                 detector: str | None = None, catalog: Catalog | None = None, record: str | None = None,
                 settings: Settings | None = None, settings_file: Path | None = None, temporal: str | None = None,
                 prior: str | None = None):
        """Options left as None come from the saved settings; ``record``: None (off), "" (a new
        session folder) or a folder."""
        super().__init__()
        self.setWindowTitle("ferdesk")
        self.resize(1200, 720)
        self.settings_file = settings_file
        first_start = settings is None and not (settings_file or settings_path()).exists()
        if settings is None:
            settings, self.settings_warning = Settings.load(settings_file)
        else:
            self.settings_warning = None
        self.settings = settings
        self.catalog = catalog or Catalog.load()
        saved, stale = self._installed_names(settings)
        if stale:
            self.settings_warning = "; ".join(filter(None, [self.settings_warning, stale]))
        source = source or self._restorable_source(settings.source)
        self.first_start_advice = None
        if first_start and not (model or backend or detector):
            # nothing saved yet: start with what suits this machine, and say so
            self.first_start_advice = recommend(machine_report(cameras=False, qt=False), self.catalog, LatencyStore().load())
            model, backend, detector = (self.first_start_advice.model, self.first_start_advice.backend,
                                        self.first_start_advice.detector)
        model, backend, detector = model or saved["model"], backend or saved["backend"], detector or saved["detector"]
        temporal = temporal or saved["temporal"]
        prior = prior or saved["prior"]
        self.latest: DisplayResult | None = None
        self.frames_shown = 0
        self.source_info: SourceInfo | None = None
        self.stack_info: StackInfo | None = None
        self.errors: list[str] = []
        self._chart_tick = 0
        self._painted: DisplayResult | None = None
        self._opened_spec: str | None = None   # the last source that delivered frames (saved in the settings)
        self.end_reason = ("window closed", "normally")   # what a recording open at the end says of its end

        self.video = VideoView()
        self.video.face_clicked.connect(self._select_face)
        self.probs = ProbabilityPanel()
        self.charts = PerfCharts()
        self.timeline = EmotionTimeline()
        self.pose_chart = HeadPoseChart()
        self.pose_chart.hide()                # shown while head pose is on (View > Head pose)
        self.agreement = AgreementChart()
        self.agreement.hide()                 # shown while a comparison runs (Model > Compare with)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.probs)
        side_layout.addWidget(self.charts, 2)
        side_layout.addWidget(self.agreement, 1)
        side_layout.addWidget(self.timeline, 1)
        side_layout.addWidget(self.pose_chart, 1)
        # the side column scrolls rather than making the window taller than a 768-pixel screen
        side_scroll = QScrollArea()
        side_scroll.setWidget(side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QScrollArea.NoFrame)
        split = QSplitter(Qt.Horizontal)
        split.addWidget(self.video)
        split.addWidget(side_scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.notifications = NotificationBar()
        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.setContentsMargins(0, 0, 0, 0)
        central_layout.setSpacing(0)
        central_layout.addWidget(self.notifications)
        central_layout.addWidget(split, 1)
        self.setCentralWidget(central)
        self.status = QLabel()
        self.statusBar().addPermanentWidget(self.status, 1)

        self.video.message = f"opening {source}..."
        self.inference = InferenceWorker(source, model, backend, detector, temporal=temporal, prior=prior, catalog=self.catalog,
                                         record=None if record is None else (Path(record) if record else ""))
        self._inference_thread = self._thread_for(self.inference)
        self.inference.result.connect(self._on_result)
        self.inference.stack_changed.connect(self._on_stack)
        self.inference.error.connect(self.show_error)
        self.inference.source_opened.connect(self._on_opened)
        self.inference.source_ended.connect(self._on_ended)
        self.inference.source_failed.connect(self.show_error)
        self.inference.notice.connect(self.show_notice)
        # bound methods of the window, so Qt queues them onto the UI thread (a lambda would run in the worker's)
        self.inference.marker_added.connect(self._on_marker)
        self.sessions = SessionsPanel(parent=self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.sessions)
        self.sessions.hide()
        self.batch = BatchPanel(self._batch_stack, catalog=self.catalog, parent=self)
        self.addDockWidget(Qt.RightDockWidgetArea, self.batch)
        self.batch.hide()
        self.batch.batch_finished.connect(lambda *_: self.sessions.refresh())
        self._build_menus()
        self._restore_layout()
        # cyclic garbage holding Qt objects must not be freed in a worker thread (ui_thread_gc.py)
        self._collector = UiThreadGarbageCollector(parent=self)
        self._collector.start()
        self._inference_thread.start()
        if self.settings_warning:
            self.show_error(self.settings_warning)
        elif self.first_start_advice:
            a = self.first_start_advice
            self.notifications.show_message(
                f"First start: the {a.tier} tier ({a.model}) on {a.backend}, recommended for this machine "
                f"({a.reasons[1].split(': ', 1)[1]}). The Model menu switches; ferdesk doctor explains.", "info")
        self.stall = StallMonitor(parent=self)
        self.stall.start()

        self._video_timer = QTimer(self, interval=33, timeout=self._repaint)
        self._charts_timer = QTimer(self, interval=250, timeout=self._refresh_charts)
        self._video_timer.start()
        self._charts_timer.start()

    # -- menus --------------------------------------------------------------------------------
    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.source_menu = bar.addMenu("&Source")
        self.source_menu.aboutToShow.connect(self._fill_source_menu)
        self._fill_source_menu()

        self.model_menu = bar.addMenu("&Model")
        self.compare_menu = QMenu("Compare with", self)
        self.compare_group = QActionGroup(self)
        self.model_group = QActionGroup(self)
        self.model_menu.aboutToShow.connect(self._fill_model_menu)
        self._fill_model_menu()

        self.backend_menu = bar.addMenu("&Backend")
        self.backend_group = QActionGroup(self)
        for name, cls in engines:
            act = QAction(name, self, checkable=True, data=name)
            act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(backend=n))
            self.backend_group.addAction(act)
            self.backend_menu.addAction(act)

        self.detector_menu = bar.addMenu("&Detector")
        self.detector_group = QActionGroup(self)
        for name, cls in detectors:
            ok, why = cls.availability()
            act = QAction(name if ok else f"{name} (unavailable: {why})", self, checkable=True, data=name)
            act.setEnabled(ok)
            act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(detector=n))
            self.detector_group.addAction(act)
            self.detector_menu.addAction(act)

        tools = QToolBar("Recording")
        tools.setObjectName("recording_toolbar")
        self.addToolBar(tools)
        self.record_action = QAction("Record", self, checkable=True, shortcut=QKeySequence("Ctrl+R"))
        self.record_action.toggled.connect(self._toggle_recording)
        tools.addAction(self.record_action)
        self.marker_action = QAction("Marker", self, shortcut=QKeySequence("M"))
        self.marker_action.setToolTip("write a marker into the recording (M; Shift+M asks for a text)")
        self.marker_action.triggered.connect(self._marker)
        tools.addAction(self.marker_action)
        self.marker_text_action = QAction("Marker with text...", self, shortcut=QKeySequence("Shift+M"))
        self.marker_text_action.triggered.connect(self._marker_with_text)
        tools.addAction(self.marker_text_action)
        self.details_action = QAction("Details...", self)
        self.details_action.setToolTip("participant, condition and a note for the recordings that follow")
        self.details_action.triggered.connect(self.edit_session_details)
        tools.addAction(self.details_action)
        self.session_details: dict = {"participant": None, "condition": None, "note": None}
        self._recording_video = "off"
        self.video_choice = QComboBox()
        for mode, text in (("off", "Video: not stored"), ("clean", "Video: stored"),
                           ("overlay", "Video: stored with overlays"), ("blur", "Video: stored, faces blurred")):
            self.video_choice.addItem(text, mode)
        self.video_choice.setToolTip("whether the recordings that follow also store the video (video.mp4 in the "
                                     "session folder): off by default; faces blurred keeps who was there private")
        self.video_choice.currentIndexChanged.connect(
            lambda _: self.inference.request_record_video(self.video_choice.currentData()))
        tools.addWidget(self.video_choice)
        self.rec_label = QLabel()
        self.rec_label.setStyleSheet("color: #e03131; font-weight: bold; padding: 0 8px;")
        self.rec_label.setToolTip("recording: every face of every frame goes to the session log")
        tools.addWidget(self.rec_label)
        view = bar.addMenu("&View")
        sessions_action = self.sessions.toggleViewAction()
        sessions_action.setText("Sessions panel")
        sessions_action.setShortcut(QKeySequence("Ctrl+L"))
        view.addAction(sessions_action)
        batch_action = self.batch.toggleViewAction()
        batch_action.setText("Batch queue")
        view.addAction(batch_action)
        self.pose_action = QAction("Head pose and eye openness", self, checkable=True)
        self.pose_action.setToolTip("a landmark pass per face: yaw, pitch, roll and eye openness in the side panel "
                                    "and the session log")
        self.pose_action.triggered.connect(lambda on: self.inference.request_stack(head_pose=on))
        view.addAction(self.pose_action)
        temporal = bar.addMenu("&Temporal")
        self.temporal_group = QActionGroup(self)
        learned = self.catalog.by_task("temporal")
        learned_text = (f"TT-LSTM per face ({learned[0].name}; reads "
                        f"{', '.join(compatible_classifiers(self.catalog, learned[0])) or 'no bundled model'} features)"
                        if learned else "TT-LSTM (unavailable: no temporal model in the catalog)")
        for name, text in (("off", "off (per-frame probabilities)"), ("ema", "moving average per face (EMA)"),
                           ("ema-restart", "moving average per face, restarted when another face takes the track"),
                           ("on", learned_text)):
            act = QAction(text, self, checkable=True, data=name, enabled=name in ("off", "ema") or bool(learned))
            act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(temporal=n))
            self.temporal_group.addAction(act)
            temporal.addAction(act)
        self.stream_menu = bar.addMenu("S&tream")
        self.stream_menu.setToolTipsVisible(True)
        self.stream_actions = {}
        for spec, text in (("lsl", "LSL outlets (ferdesk-faces, ferdesk-markers)"),
                           ("ws", f"WebSocket server on 127.0.0.1:{WS_DEFAULT_PORT}")):
            ok, why = streams.get(spec).availability()
            act = QAction(text if ok else f"{text} (unavailable: {why})", self, checkable=True, data=spec, enabled=ok)
            act.setToolTip("live output to other programs, off by default: every face of every frame, and the markers "
                           "(docs/streaming.md)")
            act.triggered.connect(lambda on, s=spec: self.inference.request_stream(s, on))
            self.stream_actions[spec] = act
            self.stream_menu.addAction(act)
        self.prior_menu = bar.addMenu("&Prior")
        self.prior_menu.setToolTipsVisible(True)
        self.prior_group = QActionGroup(self)
        for name, text in ((TRAINED, "as trained (the class shares the model learned)"),
                           (UNIFORM, "uniform (every expression equally likely)")):
            act = QAction(text, self, checkable=True, data=name)
            act.setToolTip("which expressions the probabilities assume to be common; ferdesk run --prior sets others")
            act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(prior=n))
            self.prior_group.addAction(act)
            self.prior_menu.addAction(act)

    def _fill_model_menu(self) -> None:
        """The three tiers first, then the current model when it is none of them, then "All models..."."""
        self.model_menu.clear()
        for act in self.model_group.actions():
            self.model_group.removeAction(act)
        latencies = LatencyStore().load()
        current = self.stack_info.model if self.stack_info else None
        backend = self.stack_info.backend if self.stack_info else None
        default = self.catalog.default("classifier").name if self.catalog.by_task("classifier") else None
        tiers = self.catalog.tiers()
        for tier, spec in tiers.items():
            act = QAction(tier_text(tier, spec, latencies, backend, spec.name == default), self, checkable=True, data=spec.name)
            act.setChecked(spec.name == current)
            act.triggered.connect(lambda _=False, n=spec.name: self.inference.request_stack(model=n))
            self.model_group.addAction(act)
            self.model_menu.addAction(act)
        if current and current not in {s.name for s in tiers.values()}:
            act = QAction(f"Current: {current}", self, checkable=True, data=current)
            act.setChecked(True)
            self.model_group.addAction(act)
            self.model_menu.addAction(act)
        self.model_menu.addSeparator()
        self._fill_compare_menu(tiers)
        self.all_models_action = self.model_menu.addAction("All models...", self.show_model_table)
        self.model_menu.addAction("Model map (this machine)...", self.show_model_map)

    def _fill_compare_menu(self, tiers: dict) -> None:
        """Model > Compare with: a second model run on the same faces (A/B), or none."""
        self.compare_menu.clear()
        for act in self.compare_group.actions():
            self.compare_group.removeAction(act)
        self.model_menu.addMenu(self.compare_menu)
        current = self.stack_info.compare if self.stack_info else None
        choices = [(None, "off (one model)")] + [(spec.name, f"{tier}: {spec.name}") for tier, spec in tiers.items()]
        if current and current not in {name for name, _ in choices}:
            choices.append((current, current))
        for name, text in choices:
            act = QAction(text, self.compare_menu, checkable=True, data=name)   # deleted by the next clear()
            act.setChecked(name == current)
            act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(compare=n, compare_backend=None))
            self.compare_group.addAction(act)
            self.compare_menu.addAction(act)
        self.compare_menu.addSeparator()
        self.compare_menu.addAction("Another model...", lambda: self.show_model_table(compare=True))
        if current:   # B's backend
            self.compare_menu.addSection("B runs on")
            backends = QActionGroup(self.compare_menu)
            for name, info in model_backends(self.catalog.get(current)).items():
                act = QAction(name if info["available"] else f"{name} (unavailable: {info['reason']})",
                              self.compare_menu, checkable=True, data=name, enabled=info["available"])
                act.setChecked(name == self.stack_info.compare_backend)
                act.triggered.connect(lambda _=False, n=name: self.inference.request_stack(compare_backend=n))
                backends.addAction(act)
                self.compare_menu.addAction(act)

    def show_model_map(self) -> ModelMapDialog:
        """Accuracy against this machine's latency, one point per model and backend; a click runs that one."""
        current = (self.stack_info.model, self.stack_info.backend) if self.stack_info else None
        folders = [p for p in self.catalog.packs if Path(p).is_dir()]   # --models DIR (installed packs are found anyway)
        dialog = ModelMapDialog(self.catalog, current, packs=folders, parent=self)
        dialog.model_chosen.connect(lambda model, backend: self.inference.request_stack(model=model, backend=backend))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def show_model_table(self, compare: bool = False) -> ModelTableDialog:
        """Every model; the one chosen runs (or, with ``compare``, becomes the comparison model)."""
        rows = model_rows(self.catalog, LatencyStore().load())
        if compare:
            current = self.stack_info.compare if self.stack_info else None
            dialog = ModelTableDialog(rows, current, parent=self, title="Compare with: choose the second model (B)")
            dialog.model_chosen.connect(lambda name: self.inference.request_stack(compare=name, compare_backend=None))
        else:
            dialog = ModelTableDialog(rows, self.stack_info.model if self.stack_info else None, parent=self)
            dialog.model_chosen.connect(lambda name: self.inference.request_stack(model=name))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _fill_source_menu(self) -> None:
        self.source_menu.clear()
        for cam in sources.get("camera").discover():
            self.source_menu.addAction(cam, lambda c=cam: self.open_source(c))
        self.source_menu.addAction("Demo", lambda: self.open_source("demo"))
        self.source_menu.addSeparator()
        self.source_menu.addAction("Open video...", self._open_video)
        self.source_menu.addAction("Open image...", self._open_image)
        self.source_menu.addAction("Open folder of images...", self._open_images)

    def _open_video(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open video", "", "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
        if path:
            self.open_source(path)

    def _open_image(self) -> None:
        suffixes = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
        path, _ = QFileDialog.getOpenFileName(self, "Open image", "", f"Images ({suffixes});;All files (*)")
        if path:
            self.open_source(path)

    def _open_images(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a folder of images")
        if path:
            self.open_source(path)

    def _update_temporal_menu(self, model: str) -> None:
        """The TT-LSTM item names the head that reads the running model's features, or says there is none."""
        heads = [h.name for h in self.catalog.by_task("temporal") if model in compatible_classifiers(self.catalog, h)]
        for act in self.temporal_group.actions():
            if act.data() == "on":
                act.setText(f"TT-LSTM per face ({heads[0]})" if heads
                            else f"TT-LSTM per face (unavailable: no temporal model reads {model}'s features)")
            if act.data() in ("on", "ema-restart"):
                act.setEnabled(bool(heads))

    def _update_prior_menu(self, prior: str) -> None:
        """A prior given on the command line (``--prior neutral=0.3``) gets its own item while it runs."""
        for act in self.prior_group.actions():
            if act.data() not in (TRAINED, UNIFORM) and act.data() != prior:
                self.prior_group.removeAction(act)
                self.prior_menu.removeAction(act)
        if prior not in {act.data() for act in self.prior_group.actions()}:
            act = QAction(f"given: {prior}", self, checkable=True, data=prior)
            act.triggered.connect(lambda _=False, n=prior: self.inference.request_stack(prior=n))
            self.prior_group.addAction(act)
            self.prior_menu.addAction(act)

    def _update_backend_menu(self) -> None:
        spec = self.catalog.get(self.stack_info.model)
        for act in self.backend_group.actions():
            info = model_backends(spec)[act.data()]
            act.setEnabled(info["available"])
            act.setText(act.data() if info["available"] else f"{act.data()} (unavailable: {info['reason']})")
            act.setChecked(act.data() == self.stack_info.backend)

    # -- actions --------------------------------------------------------------------------------
    def _thread_for(self, worker) -> QThread:
        """A QThread (not started) that runs ``worker.run`` once started."""
        thread = QThread(self)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        return thread

    def open_source(self, spec: str) -> None:
        self.source_info = None
        self.video.message = f"opening {spec}..."
        self.video.update()
        self.inference.request_source(spec)

    def _toggle_recording(self, on: bool) -> None:
        if on:
            self.inference.request_recording(None)
        else:
            self.inference.request_stop_recording()

    def _shown_frame(self) -> tuple[int | None, float | None]:
        """The frame on screen now (a marker belongs to what the user saw at the key press)."""
        shown = self._painted or self.latest
        return (shown.result.frame_index, shown.result.time_s) if shown else (None, None)

    def _marker(self) -> None:
        self.inference.request_marker("marker", "", *self._shown_frame())

    def _marker_with_text(self) -> None:
        frame, time_s = self._shown_frame()      # stamped now, not when the dialog is closed
        text, ok = QInputDialog.getText(self, "Marker", "Text for this marker:")
        if ok:
            self.inference.request_marker("marker", text, frame, time_s)

    def _batch_stack(self) -> dict:
        """What the batch queue runs: the live view's model, backend, detector, prior and head pose."""
        s = self.stack_info
        if s is None:
            return {}
        return {"model": s.model, "backend": s.backend, "detector": s.detector, "prior": s.prior,
                "head_pose": s.head_pose}

    def edit_session_details(self) -> SessionDetailsDialog:
        dialog = SessionDetailsDialog(self.session_details, parent=self)
        dialog.accepted.connect(lambda: self._set_session_details(dialog.details()))
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def _set_session_details(self, details: dict) -> None:
        self.session_details = details
        self.inference.request_session_details(details)
        given = ", ".join(f"{k} {v}" for k, v in details.items() if v and k != "note")
        self.details_action.setText(f"Details: {given}" if given else "Details...")

    def _installed_names(self, settings: Settings) -> tuple[dict, str | None]:
        """The saved model, backend, detector and temporal mode that exist here; a name that does not (a zoo
        model without its pack, a backend uninstalled) falls back to the default, with a notice, and is not
        saved again (the settings keep what runs)."""
        from ferdesk.temporal import temporal_heads

        known = {"model": {m.name for m in self.catalog.by_task("classifier")}, "backend": set(engines.names()),
                 "detector": set(detectors.names()), "temporal": set(temporal_heads.names())}
        kept, stale = {}, []
        for key, names in known.items():
            value = getattr(settings, key)
            kept[key] = value if value in names else None
            if value is not None and value not in names:
                stale.append(f"{key} {value!r}")
        hint = " (the research zoo's models come with the ferdesk-zoo pack)" if any(s.startswith("model") for s in stale) else ""
        problems = [f"saved {', '.join(stale)} not installed here{hint}"] if stale else []
        kept["prior"] = settings.prior if valid_prior(settings.prior) else None
        if settings.prior is not None and kept["prior"] is None:
            problems.append(f"saved prior {settings.prior!r} is not one (trained, uniform or LABEL=SHARE,...)")
        return kept, ("; ".join(problems) + "; using the default" if problems else None)

    @staticmethod
    def _restorable_source(saved: str | None) -> str:
        if not saved or saved in ("default", "demo") or saved.startswith("camera:"):
            return saved or "default"
        return saved if Path(saved).exists() else "default"

    def _restore_layout(self) -> None:
        if self.settings.window_geometry:
            self.restoreGeometry(QByteArray.fromBase64(self.settings.window_geometry.encode()))
        if self.settings.window_state:
            self.restoreState(QByteArray.fromBase64(self.settings.window_state.encode()))

    def save_settings(self) -> None:
        s = self.settings
        s.source = self._opened_spec or s.source   # a source that never opened is not saved
        if self.stack_info:
            s.model, s.backend, s.detector = self.stack_info.model, self.stack_info.backend, self.stack_info.detector
            s.temporal, s.prior = self.stack_info.temporal, self.stack_info.prior
        s.window_geometry = bytes(self.saveGeometry().toBase64()).decode()
        s.window_state = bytes(self.saveState().toBase64()).decode()
        s.save(self.settings_file)

    def _select_face(self, face_id: int) -> None:
        self.video.selected_id = face_id

    def show_error(self, message: str) -> None:
        self.errors.append(message)
        self.notifications.show_message(message, "error")
        if self.source_info is None and self.video.message.startswith("opening"):
            self.video.message = "no picture: open a source from the Source menu"
            self.video.update()

    def show_notice(self, message: str, level: str = "info") -> None:
        if level == "error":
            return  # errors come through show_error
        self.notifications.show_message(message, level)

    # -- signals from the workers ------------------------------------------------------------------
    def _on_result(self, shown: DisplayResult) -> None:
        self.latest = shown

    def _on_ended(self, message: str) -> None:
        self.video.message = f"{message} (Source menu to open another)"
        self.notifications.show_message(f"{message}. Open another source from the Source menu.", "info")
        self.video.update()

    def _on_marker(self, label: str) -> None:
        self.notifications.show_message(f"marker '{label}' written", "info")

    def _on_opened(self, info: SourceInfo) -> None:
        self.source_info = info
        self._opened_spec = info.spec
        self.video.message = ""  # "opening ..." or an earlier source's message

    def _on_stack(self, info: StackInfo) -> None:
        if self.stack_info and self.stack_info.recording and not info.recording:
            self.sessions.refresh()  # a recording just ended
        if info.recording and not (self.stack_info and self.stack_info.recording):
            self._recording_video = self.video_choice.currentData()   # what this recording stores
        before = self.stack_info
        pair = (info.model, info.backend, info.compare, info.compare_backend)
        if info.compare and (before is None or pair != (before.model, before.backend, before.compare, before.compare_backend)):
            self.agreement.start(self.catalog.get(info.model).labels)
        self.agreement.setVisible(bool(info.compare))
        self.stack_info = info
        self._fill_model_menu()
        self._update_prior_menu(info.prior)
        self.pose_action.setChecked(info.head_pose)
        self.pose_chart.setVisible(info.head_pose)
        for spec, act in self.stream_actions.items():
            act.setChecked(spec in info.streams)
        for group, value in ((self.detector_group, info.detector), (self.temporal_group, info.temporal),
                             (self.prior_group, info.prior)):
            for act in group.actions():
                act.setChecked(act.data() == value)
        self._update_backend_menu()
        self._update_temporal_menu(info.model)
        self.record_action.blockSignals(True)
        self.record_action.setChecked(info.recording is not None)
        self.record_action.blockSignals(False)
        self._update_status()

    # -- timers ----------------------------------------------------------------------------------
    def _selected_face(self):
        faces = self.latest.result.faces if self.latest else ()
        if not faces:
            return None
        chosen = next((f for f in faces if f.face_id == self.video.selected_id), None)
        if chosen is None:  # the largest face by default
            chosen = max(faces, key=lambda f: f.box[2] * f.box[3])
            self.video.selected_id = chosen.face_id
        return chosen

    def _repaint(self) -> None:
        shown = self.latest
        if shown is None:
            return
        t0 = time.perf_counter()
        if shown is not self._painted:
            self._painted = shown
            self.frames_shown += 1
            self.video.show_result(shown)
            self.probs.set_labels(shown.labels)
            face = self._selected_face()
            self.probs.show_face(face)
            self.timeline.set_labels(shown.labels)
            if face is not None:
                self.timeline.add(face.label)
            self.pose_chart.show_pose(face.pose if face is not None else None)
            self.charts.add({**shown.timings_ms, "render": (time.perf_counter() - t0) * 1e3})
            if self.agreement.isVisible() and self.stack_info:
                self.agreement.add(shown.result, shown.model, self.stack_info.backend)

    def _refresh_charts(self) -> None:
        # 4 Hz, one plot per tick (FPS, latency, timeline + status in turn): each redraw is
        # a short stall of the UI thread instead of one long one twice a second.
        self._chart_tick = (self._chart_tick + 1) % 3
        if self._chart_tick < 2:
            self.charts.refresh()
        else:
            self.timeline.refresh()
            if self.pose_chart.isVisible():
                self.pose_chart.refresh()
            if self.agreement.isVisible():
                self.agreement.refresh()
        self._update_status()

    def _update_status(self) -> None:
        parts = []
        if self.source_info:
            i = self.source_info
            parts.append(f"{i.description}  {i.width}x{i.height}" + (f" @ {i.fps:.0f} fps" if i.fps else ""))
        if self.stack_info:
            s = self.stack_info
            parts.append(f"model {s.model} on {s.backend}, detector {s.detector}"
                         + (f", temporal {s.temporal}" if s.temporal != "off" else "")
                         + (f", prior {s.prior}" if s.prior != TRAINED else "")
                         + (f"; compared with {s.compare} on {s.compare_backend}" if s.compare else "")
                         + (f"; streaming to {', '.join(s.streams)}" if s.streams else ""))
            if s.recording:
                parts.append(f"recording to {s.recording}")
        parts.append(f"{self.charts.current_fps():.1f} FPS")
        since = self.stack_info.recording_since if self.stack_info else None
        if since is not None:
            elapsed = int(time.monotonic() - since)
            self.rec_label.setText(f"\u25cf REC {elapsed // 3600:d}:{elapsed // 60 % 60:02d}:{elapsed % 60:02d}"
                                   + ("" if self._recording_video == "off" else " + VIDEO"))
        else:
            self.rec_label.setText("")
        if hasattr(self, "stall"):
            parts.append(f"UI stall p99 {self.stall.percentile(99):.0f} ms")
        if self.latest:
            parts.append(f"dropped {self.latest.dropped}")
        self.status.setText("   |   ".join(parts))

    def quit_for(self, reason: str, ended: str = "interrupted") -> None:
        """Close because of ``reason`` (a signal): the recording says so and settings are saved."""
        self.end_reason = (reason, ended)
        self.close()

    def closeEvent(self, event) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        if getattr(self, "_shut", False):
            return
        self._shut = True
        self.save_settings()
        self.stall.stop()
        self._video_timer.stop()
        self._charts_timer.stop()
        self.inference.stop(*self.end_reason)
        self.batch.shutdown()
        self._inference_thread.quit()
        self._inference_thread.wait(5000)
        if self._inference_thread.isFinished():
            self._collector.stop()
