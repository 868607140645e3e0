"""Start the window: ``ferdesk [--source S]``."""
from __future__ import annotations

import sys


def run_app(source: str = "default") -> int:
    from PySide6.QtWidgets import QApplication

    from ferdesk.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("ferdesk")
    window = MainWindow(source=source)
    window.show()
    return app.exec()
