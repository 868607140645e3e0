"""Soak benchmark: the window on a source for a long time with recording on; memory, stalls and the log.

usage: QT_QPA_PLATFORM=offscreen python tools/soak.py [--minutes 60] [--source demo] [--out soak.json]

Every 10 s it samples the process's resident memory, the UI stall p99 of those 10 s (lateness of a 10 ms
timer) and the frames shown. At the end it stops the recording and checks the log: rows against
``faces_logged``, frames processed plus dropped against the source's frame indices, ``stopped_at`` and
``ended`` (on the demo every frame has a face, so the span of frame indices in the rows must equal
frames processed plus dropped). Reports RSS growth from the first sample after warm-up (the first minute) to the last.
A benchmark, not a test: run it on an otherwise idle machine and say what else ran.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--source", default="demo")
    ap.add_argument("--out", type=Path, default=Path("soak.json"))
    a = ap.parse_args(argv)

    import os

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ferdesk.settings import Settings
    from ferdesk.ui.main_window import MainWindow

    tmp = Path(tempfile.mkdtemp(prefix="ferdesk-soak-"))
    os.environ["FERDESK_CONFIG_DIR"] = str(tmp / "config")
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    log = tmp / "session"
    window = MainWindow(source=a.source, settings=Settings(), record=str(log))
    window.resize(1280, 760)
    window.show()
    samples: list[dict] = []
    t0 = time.monotonic()
    last = {"frames": 0}

    def sample() -> None:
        lateness = list(window.stall.lateness_ms)
        window.stall.lateness_ms.clear()
        shown = window.frames_shown
        samples.append({"t_s": round(time.monotonic() - t0, 1), "rss_mb": round(rss_mb(), 1),
                        "stall_p99_ms": round(statistics.quantiles(lateness, n=100)[98], 2) if len(lateness) > 10 else None,
                        "fps_shown": round((shown - last["frames"]) / 10, 1)})
        last["frames"] = shown
        if time.monotonic() - t0 >= a.minutes * 60:
            finish()

    def finish() -> None:
        timer.stop()
        window.inference.request_stop_recording()
        QTimer.singleShot(1500, lambda: (window.shutdown(), app.quit()))

    timer = QTimer(interval=10_000, timeout=sample)
    timer.start()
    app.exec()

    session = json.loads((log / "session.json").read_text())
    with open(log / "frames.csv", newline="") as f:
        rows = list(csv.reader(f))[1:]
    frame_ids = sorted({int(r[0]) for r in rows})
    warm = [s for s in samples if s["t_s"] >= 60] or samples
    stalls = [s["stall_p99_ms"] for s in samples if s["stall_p99_ms"] is not None]
    report = {
        "minutes": a.minutes, "source": a.source,
        "rss_mb_first_after_warmup": warm[0]["rss_mb"], "rss_mb_last": samples[-1]["rss_mb"],
        "rss_growth_pct": round(100 * (samples[-1]["rss_mb"] - warm[0]["rss_mb"]) / warm[0]["rss_mb"], 2),
        "stall_p99_ms_median": statistics.median(stalls), "stall_p99_ms_min": min(stalls), "stall_p99_ms_max": max(stalls),
        "fps_shown_median": statistics.median(s["fps_shown"] for s in samples),
        "fps_shown_min": min(s["fps_shown"] for s in samples),
        "log": {"frames_processed": session["frames_processed"], "frames_dropped": session["frames_dropped"],
                "rows": len(rows), "faces_logged": session["faces_logged"], "rows_match_faces_logged": len(rows) == session["faces_logged"],
                "frames_with_faces": len(frame_ids),
                "frame_index_span": frame_ids[-1] - frame_ids[0] + 1 if frame_ids else 0,
                "processed_plus_dropped": session["frames_processed"] + session["frames_dropped"],
                "stopped_at": session["stopped_at"], "ended": session["ended"],
                "end_reason": session["end_reason"]},
        "samples": samples,
    }
    a.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
