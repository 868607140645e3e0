"""The batch queue (View > Batch queue): videos run one after another, one session each, beside the live view.

The queue plans its work as ``ferdesk run`` does (``ferdesk.batch``: one folder per source under the output
folder; a source whose session finished is skipped, an unfinished one is kept as ``<name>.interrupted`` and
run again), and runs it on its own thread with its own runner, so it goes on whether the live view shows a
camera, has ended, or has no source at all. It runs the model, backend and detector the live view runs
when Start is pressed. Stop marks the file being run as interrupted; Start again resumes.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (QDockWidget, QFileDialog, QHBoxLayout, QLabel, QListWidget, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from ferdesk.batch import frame_count, plan, session_finished, set_aside
from ferdesk.errors import FerdeskError
from ferdesk.runner import Notice, Processed, Runner
from ferdesk.sources.video import VIDEO_SUFFIXES


class BatchWorker(QObject):
    file_started = Signal(int, int, str, int)   # index, count, name, frames in it (0: not known)
    frame_done = Signal(int)                    # frames processed in the current file
    file_done = Signal(int, str, str)           # index, session folder, "finished" / "interrupted" / the error
    finished = Signal(int, int)                 # sessions finished, sources in all

    def __init__(self, sources: list[str], root: Path, stack: dict, catalog=None):
        super().__init__()
        self.sources, self.root, self.stack, self.catalog = sources, Path(root), stack, catalog
        self.runner: Runner | None = None
        self._stopped = False

    def stop(self) -> None:     # any thread
        self._stopped = True
        if self.runner is not None:
            self.runner.stop("stopped from the batch queue", ended="interrupted")

    @Slot()
    def run(self) -> None:
        items = plan(self.sources, self.root)
        todo = [it for it in items if not it.done]
        for n, item in enumerate(todo):
            if self._stopped:
                break
            try:
                set_aside(item.folder)
                self.file_started.emit(n, len(todo), Path(item.source).name, frame_count(item.source) or 0)
                self.runner = Runner(item.source, catalog=self.catalog, strict=True, record=item.folder, **self.stack)
                if self._stopped:      # stopped while this file was being set up
                    self.runner.stop("stopped from the batch queue", ended="interrupted")
                frames = 0
                for event in self.runner.events():
                    if isinstance(event, Processed):
                        frames += 1
                        self.frame_done.emit(frames)
                    elif isinstance(event, Notice) and event.level == "error":
                        raise FerdeskError(event.message)
                state = "finished" if session_finished(item.folder) else "interrupted"
            except FerdeskError as e:
                state = str(e)
            self.file_done.emit(n, str(item.folder), state)
        self.runner = None
        self.finished.emit(sum(session_finished(it.folder) for it in items), len(items))


class BatchPanel(QDockWidget):
    """The queue: files, an output folder, Start / Stop, a bar for the file and one for the whole queue."""

    batch_finished = Signal(int, int)

    def __init__(self, stack_now, catalog=None, parent=None):
        """``stack_now()``: the model, backend and detector the live view runs (a dict for ``Runner``)."""
        super().__init__("Batch queue", parent)
        self.setObjectName("batch_dock")
        self.stack_now, self.catalog = stack_now, catalog
        self.sources: list[str] = []
        self.output: Path | None = None
        self.files = QListWidget()
        self.output_label = QLabel("output folder: not chosen")
        self.file_bar, self.all_bar = QProgressBar(), QProgressBar()
        self.file_bar.setFormat("%v / %m frames")
        self.status = QLabel("add videos and an output folder, then Start")
        self.status.setWordWrap(True)
        add = QPushButton("Add videos...", clicked=self._add_files)
        add_folder = QPushButton("Add folder...", clicked=self._add_folder)
        out = QPushButton("Output folder...", clicked=self._choose_output)
        self.start_button = QPushButton("Start", clicked=self.start)
        self.stop_button = QPushButton("Stop", clicked=self.stop, enabled=False)
        row1, row2 = QHBoxLayout(), QHBoxLayout()
        for b in (add, add_folder, out):
            row1.addWidget(b)
        for b in (self.start_button, self.stop_button):
            row2.addWidget(b)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addLayout(row1)
        layout.addWidget(self.files, 1)
        layout.addWidget(self.output_label)
        layout.addLayout(row2)
        layout.addWidget(QLabel("this file"))
        layout.addWidget(self.file_bar)
        layout.addWidget(QLabel("the queue"))
        layout.addWidget(self.all_bar)
        layout.addWidget(self.status)
        self.setWidget(body)
        self.worker: BatchWorker | None = None
        self.thread: QThread | None = None

    # -- the queue -----------------------------------------------------------------------------
    def add_sources(self, sources: list[str]) -> None:
        for s in sources:
            if s not in self.sources:
                self.sources.append(s)
                self.files.addItem(Path(s).name)

    def set_output(self, folder: Path) -> None:
        self.output = Path(folder)
        self.output_label.setText(f"output folder: {self.output}")

    def _add_files(self) -> None:
        suffixes = " ".join(f"*{s}" for s in sorted(VIDEO_SUFFIXES))
        paths, _ = QFileDialog.getOpenFileNames(self, "Add videos", "", f"Videos ({suffixes});;All files (*)")
        self.add_sources(paths)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add every video of a folder")
        if folder:
            self.add_sources([str(p) for p in sorted(Path(folder).iterdir()) if p.suffix.lower() in VIDEO_SUFFIXES])

    def _choose_output(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder (one session per video)")
        if folder:
            self.set_output(Path(folder))

    # -- running -------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.worker is not None

    def start(self) -> None:
        if self.running:
            return
        if not self.sources or self.output is None:
            self.status.setText("add at least one video and choose the output folder first")
            return
        self.worker = BatchWorker(list(self.sources), self.output, self.stack_now(), self.catalog)
        self.thread = QThread(self)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.file_started.connect(self._file_started)
        self.worker.frame_done.connect(self.file_bar.setValue)
        self.worker.file_done.connect(self._file_done)
        self.worker.finished.connect(self._finished)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.status.setText("planning: sessions that finished before are skipped")
        self.thread.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.status.setText("stopping: the file being run is marked interrupted; Start resumes")

    def shutdown(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        if self.thread is not None:
            self.thread.quit()
            self.thread.wait(10000)

    def _file_started(self, n: int, count: int, name: str, frames: int) -> None:
        self.all_bar.setRange(0, count)
        self.all_bar.setValue(n)
        self.all_bar.setFormat("%v / %m videos")
        self.file_bar.setRange(0, max(frames, 0))
        self.file_bar.setValue(0)
        self.status.setText(f"running {name}")

    def _file_done(self, n: int, folder: str, state: str) -> None:
        self.all_bar.setValue(n + 1)
        if state not in ("finished", "interrupted"):
            self.status.setText(f"{Path(folder).name}: {state}")

    def _finished(self, finished: int, count: int) -> None:
        self.thread.quit()
        self.thread.wait(10000)
        self.worker, self.thread = None, None
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.status.setText(f"{finished} of {count} videos have a finished session in {self.output}"
                            + ("" if finished == count else "; Start resumes with the rest"))
        self.batch_finished.emit(finished, count)
