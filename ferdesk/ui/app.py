"""Start the window: ``ferdesk [--source S]``."""
from __future__ import annotations

import signal
import sys
from importlib import resources

APP_ID = "io.github.ferdesk.ferdesk"


def run_app(source: str | None = None, model: str | None = None, backend: str | None = None,
            detector: str | None = None, record: str | None = None, temporal: str | None = None, catalog=None,
            prior: str | None = None) -> int:
    """Open the window. Options not given come from the saved settings (source: ``default``)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ferdesk.ui.main_window import MainWindow

    # The UI thread shares the GIL with the capture and inference threads; a 1 ms switch
    # interval (default 5 ms) hands it back to the UI sooner (measured: lower stall p99).
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ferdesk")
    app.setDesktopFileName(APP_ID)  # the desktop entry's name: the shell matches the window to its icon
    app.setWindowIcon(QIcon(str(resources.files("ferdesk") / "resources" / "icons" / "ferdesk-256.png")))
    window = MainWindow(source=source, model=model, backend=backend, detector=detector, record=record, temporal=temporal,
                        catalog=catalog, prior=prior)
    window.show()
    # Ctrl+C in the terminal and SIGTERM close the window as its close button does: the recording is ended
    # (marked interrupted) and the settings saved. Python handles signals only when it runs, so a timer
    # hands it the thread a few times a second.
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}
    for signum in names:
        signal.signal(signum, lambda n, _f: QTimer.singleShot(0, lambda: window.quit_for(f"{names[n]} received")))
    wake = QTimer(interval=200, timeout=lambda: None)
    wake.start()
    return app.exec()
