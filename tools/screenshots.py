"""Render screenshots of the window's main states into docs/images/ (run under Xvfb, or offscreen).

usage: xvfb-run -a python tools/screenshots.py      (or QT_QPA_PLATFORM=offscreen python ...)

States: the demo with the live charts; the Compare view (the tiny tier beside the default); the "All models" table;
the Viewer replaying a recorded session; the model map (from this machine's ``ferdesk bench --all`` figures); a recording with the sessions panel
open; a source that cannot be opened (the message shown in the window).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs" / "images"


def wait(app, ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def main() -> int:
    import os

    from PySide6.QtWidgets import QApplication

    from ferdesk.settings import Settings
    from ferdesk.ui.main_window import MainWindow

    DOCS.mkdir(exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FERDESK_CONFIG_DIR"] = tmp  # do not touch the user's settings
        w = MainWindow(source="demo", settings=Settings())
        w.resize(1280, 760)
        w.show()
        wait(app, 8000)
        w.grab().save(str(DOCS / "main-demo.png"))
        w.inference.request_stack(compare=w.catalog.tiers()["tiny"].name)   # the Compare view (A/B)
        wait(app, 8000)
        w.grab().save(str(DOCS / "compare.png"))
        w.inference.request_stack(compare=None)
        wait(app, 1000)
        table = w.show_model_table()
        wait(app, 1000)
        table.grab().save(str(DOCS / "model-table.png"))
        table.close()
        w.sessions.root = Path(tmp) / "sessions"
        w.video_choice.setCurrentIndex(w.video_choice.findData("clean"))      # the session keeps its video
        w.inference.request_recording(Path(tmp) / "sessions" / "20261122-101500")
        wait(app, 3000)
        w.inference.request_marker("stimulus", "screenshot")
        wait(app, 2000)
        w.inference.request_stop_recording()
        wait(app, 1000)
        w.sessions.refresh()
        w.resize(1280, 1000)
        w.sessions.show()
        wait(app, 1500)
        w.grab().save(str(DOCS / "sessions-panel.png"))
        viewer = w.sessions.open_viewer()                                     # the Viewer on that session
        viewer.resize(1000, 760)
        viewer.seek(len(viewer.index) // 2)
        wait(app, 1500)
        viewer.grab().save(str(DOCS / "viewer.png"))
        viewer.close()
        chart = w.show_model_map()        # the figures ferdesk bench --all left in the user data directory
        wait(app, 1500)
        chart.grab().save(str(DOCS / "model-map.png"))
        chart.close()
        w.shutdown()
        bad = MainWindow(source=str(Path(tmp) / "missing.mp4"), settings=Settings())
        bad.resize(1000, 600)
        bad.show()
        wait(app, 2500)
        bad.grab().save(str(DOCS / "bad-source.png"))
        bad.shutdown()
    print(f"wrote {', '.join(p.name for p in sorted(DOCS.glob('*.png')))} in {DOCS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
