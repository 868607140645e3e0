"""The window's responsiveness: start-up to first frame shown, UI event-loop stall, FPS.

usage: python -m ferdesk.ui.bench [--source demo] [--seconds 20] [--json]

Runs the real window (any Qt platform: xcb under Xvfb, or offscreen) on a source, then
reports the time from process start to the first displayed frame, how late a 10 ms UI timer
fired (p50/p95/p99/max: the stall a user feels), displayed FPS, the process's CPU time per displayed
frame (all threads, user + system) and dropped frames.
"""
from __future__ import annotations

import time

T_IMPORT = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402


def process_age_s() -> float:
    """Seconds since this process started (Linux: /proc), else since this module loaded."""
    try:
        start_ticks = int(open("/proc/self/stat").read().rsplit(")", 1)[1].split()[19])
        uptime = float(open("/proc/uptime").read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - T_IMPORT


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default="demo")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--switch-interval", type=float, default=0.001, help="sys.setswitchinterval (the app uses 0.001)")
    a = ap.parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ferdesk.ui.main_window import MainWindow

    sys.setswitchinterval(a.switch_interval)  # as ferdesk.ui.app.run_app does
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow(source=a.source)
    window.show()
    out: dict = {"platform": app.platformName(), "source": a.source}

    def first_frame():
        if window.frames_shown >= 1 and "startup_s" not in out:
            out["startup_s"] = round(process_age_s(), 3)
            window.stall.lateness_ms.clear()  # measure steady running, not start-up
            out["_t0"] = (time.perf_counter(), window.frames_shown, time.process_time())
            QTimer.singleShot(int(a.seconds * 1000), finish)
        elif "startup_s" not in out:
            QTimer.singleShot(5, first_frame)

    def finish():
        t0, f0, cpu0 = out.pop("_t0")
        shown = window.frames_shown - f0
        out["fps_shown"] = round(shown / (time.perf_counter() - t0), 1)
        out["cpu_ms_per_frame_shown"] = round((time.process_time() - cpu0) * 1e3 / max(shown, 1), 1)
        out["dropped"] = window.latest.dropped if window.latest else None
        for q in (50, 95, 99):
            out[f"stall_p{q}_ms"] = round(window.stall.percentile(q), 2)
        out["stall_max_ms"] = round(max(window.stall.lateness_ms, default=0.0), 2)
        out["errors"] = window.errors
        window.shutdown()
        app.quit()

    QTimer.singleShot(0, first_frame)
    app.exec()
    print(json.dumps(out, indent=2) if a.json else "  ".join(f"{k}={v}" for k, v in out.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
