"""``ferdesk run``: process a source headless, log every face of every frame, print a summary."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from ferdesk.commands import load_catalog, positive_int, positive_number
from ferdesk.batch import batch_sources, frame_count, plan, session_finished, set_aside
from ferdesk.comparison import Agreement
from ferdesk.errors import FerdeskError
from ferdesk.metrics import StageStats, peak_rss_mb
from ferdesk.recorder import new_session_dir
from ferdesk.runner import Notice, Processed, Runner


def add_arguments(p) -> None:
    p.add_argument("--source", action="append",
                   help="a video/image file or folder, camera:N, demo, or default (first camera, else demo); several "
                        "--source values, or a folder of videos, are a batch: one session each under --log DIR, "
                        "and the same command again skips the sessions that finished")
    p.add_argument("--model", help="classifier from the catalog (default: the catalog's default)")
    p.add_argument("--backend", help="onnxruntime or litert (default: the first available for the model)")
    p.add_argument("--detector", help="blazeface (default), blazeface-full, opencv-cascade, dlib-hog")
    p.add_argument("--log", type=Path, help="session folder (default: a new folder under the user data directory)")
    p.add_argument("--no-log", action="store_true", help="do not write a session log")
    p.add_argument("--realtime", action="store_true", help="pace file sources at their frame rate, dropping frames that fall behind")
    p.add_argument("--max-frames", type=positive_int, help="stop after this many processed frames")
    p.add_argument("--duration", type=positive_number, help="stop after this many seconds")
    p.add_argument("--threads", type=positive_int, default=1, help="CPU threads per model (default 1: the stages already run in parallel)")
    p.add_argument("--no-align", action="store_true", help="do not roll-align crops on the eyes")
    p.add_argument("--temporal", default="off", help="per-face smoothing over time: off (default), ema (moving average), ema-restart (the average, restarted where the temporal model would see a new face) or on (the TT-LSTM temporal model)")
    p.add_argument("--prior", default="trained", help="the class prior: trained (default: the shares the model learned), uniform (every expression equally likely), or LABEL=SHARE,... (say neutral=0.3; the other classes share the rest)")
    p.add_argument("--compare", metavar="MODEL", help="run this classifier too on the same faces (A/B): frames.csv gets its "
                   "answer in the b_ columns, the summary their agreement and each one's time per face")
    p.add_argument("--compare-backend", metavar="B", help="the backend for --compare (default: the first available for it)")
    p.add_argument("--stream", action="append", default=[], metavar="lsl|ws[:PORT]",
                   help="live output to other programs, repeatable: lsl (LSL outlets ferdesk-faces and ferdesk-markers) "
                        "or ws (a WebSocket server on 127.0.0.1, port 8765 or PORT); needs pip install 'ferdesk[stream]'")
    p.add_argument("--head-pose", action="store_true",
                   help="estimate each face's head pose (pitch, yaw, roll) and eye openness with the face-landmark "
                        "network: the last columns of frames.csv (costs a landmark pass per face)")
    p.add_argument("--record-video", choices=("off", "clean", "overlay", "blur"), default="off",
                   help="also store the processed frames in video.mp4 in the session folder: clean, overlay (boxes "
                        "and labels drawn in) or blur (faces blurred); off by default")
    p.add_argument("--participant", help="who is recorded: an id stored in session.json (and shown in the sessions panel)")
    p.add_argument("--condition", help="the experimental condition, stored in session.json")
    p.add_argument("--note", help="a free note, stored in session.json")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")


def main(a) -> int:
    if a.compare_backend and not a.compare:
        raise FerdeskError("--compare-backend needs --compare MODEL")
    specs = a.source or ["default"]
    catalog = load_catalog(a)      # once, for every source of a batch
    batch = batch_sources(specs)
    if batch is None:
        summary = run_one(a, catalog, specs[0], None if a.no_log else (a.log or ""), progress=None)
        print_summary(a, summary)
        return 0
    return run_batch(a, catalog, batch)


def make_runner(a, catalog, source: str, record) -> Runner:
    return Runner(source, model=a.model, backend=a.backend, detector=a.detector, temporal=a.temporal, prior=a.prior,
                  compare=a.compare, compare_backend=a.compare_backend, streams=a.stream,
                  participant=a.participant, condition=a.condition, note=a.note, head_pose=a.head_pose,
                  record_video=a.record_video,
                  catalog=catalog, threads=a.threads, align=not a.no_align, realtime=a.realtime, strict=True,
                  record=record)


def run_one(a, catalog, source: str, record, progress) -> dict:
    """Run one source to its end (or --max-frames, --duration, a signal); the summary as plain data.
    ``progress(frames)`` is called after each processed frame when given."""
    runner = make_runner(a, catalog, source, record)
    names = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}
    interrupted = []

    def request_stop(signum, _frame):
        interrupted.append(names.get(signum, signum))
        runner.stop(f"{names.get(signum, signum)} received", ended="interrupted")

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    stats = StageStats()
    agreement = None
    frames = faces = 0
    t_first = t_last = time.perf_counter()
    for event in runner.events():
        if isinstance(event, Notice):
            print(f"ferdesk: {event.message}", file=sys.stderr)
        if not isinstance(event, Processed):
            continue
        if frames == 0:
            t_first = time.perf_counter() - event.timings_ms.get("capture", 0.0) / 1e3
        t_last = time.perf_counter()
        result = event.result
        stats.add({**result.timings_ms, "total": sum(result.timings_ms.values())})
        if a.compare:
            agreement = agreement or Agreement(event.labels)
            agreement.add(result, runner.stack.model, runner.stack.backend)
        frames += 1
        faces += len(result.faces)
        if progress is not None:
            progress(frames)
        if a.max_frames is not None and frames >= a.max_frames:
            runner.stop("--max-frames reached")
        elif a.duration is not None and t_last - t_first >= a.duration:
            runner.stop("--duration reached")
    processing_s = t_last - t_first
    stack, log = runner.stack, runner.last_session
    summary = {
        "source": runner.source_description or source, "model": stack.model, "backend": stack.backend,
        "detector": stack.detector, "temporal": stack.temporal, "prior": stack.prior,
        "frames_processed": frames, "frames_dropped": runner.frames_dropped, "faces": faces,
        "processing_s": round(processing_s, 3), "fps": round(frames / processing_s, 2) if processing_s > 0 else 0.0,
        "latency_ms": {k: {q: round(v, 2) for q, v in d.items()} for k, d in stats.percentiles().items()},
        "peak_rss_mb": round(peak_rss_mb(), 1), "log": log,
    }
    if a.compare:
        summary["compare"] = (agreement or Agreement(())).summary()
    if a.stream:
        summary["streams"] = a.stream
    if interrupted:
        summary["interrupted"] = interrupted[0]
    return summary


def print_summary(a, summary: dict) -> None:
    if a.json:
        print(json.dumps(summary, indent=2))
        return
    print(f"{summary['source']}: {summary['frames_processed']} frames ({summary['frames_dropped']} dropped), "
          f"{summary['faces']} faces, {summary['fps']} FPS over {summary['processing_s']:.2f} s; "
          f"peak RSS {summary['peak_rss_mb']} MB")
    print(f"model {summary['model']} on {summary['backend']}, detector {summary['detector']}"
          + (f", prior {summary['prior']}" if summary["prior"] != "trained" else ""))
    for stage, d in summary["latency_ms"].items():
        print(f"  {stage:<9} p50 {d['p50']:7.2f} ms   p95 {d['p95']:7.2f} ms")
    if "compare" in summary:
        print_comparison(summary["compare"])
    if summary["log"]:
        print(f"log: {summary['log']}")


def run_batch(a, catalog, sources: list[str]) -> int:
    """One session per source under --log DIR; sources whose session ended normally there are skipped."""
    if a.no_log:
        raise FerdeskError("a batch (several sources, or a folder of videos) writes one session per source: "
                           "give --log DIR instead of --no-log")
    root = Path(a.log) if a.log else new_session_dir()
    items = plan(sources, root)
    todo = [it for it in items if not it.done]
    print(f"batch: {len(items)} sources into {root}; {len(items) - len(todo)} done already, {len(todo)} to run",
          file=sys.stderr)
    results = []
    for n, item in enumerate(todo, 1):
        moved = set_aside(item.folder)
        if moved is not None:
            print(f"batch: {item.folder.name} was not finished; kept as {moved.name} and run again", file=sys.stderr)
        total = frame_count(item.source)
        bar = FileProgress(n, len(todo), Path(item.source).name, total)
        summary = run_one(a, catalog, item.source, item.folder, progress=bar.update)
        bar.done()
        results.append(summary)
        if "interrupted" in summary:
            print(f"batch: interrupted ({summary['interrupted']}) in {item.folder.name}; "
                  f"{n - 1 + len(items) - len(todo)} of {len(items)} done; run the same command again to go on",
                  file=sys.stderr)
            break
    finished = sum(session_finished(it.folder) for it in items)
    report = {"batch": str(root), "sources": len(items), "finished": finished, "ran": results,
              "skipped": [str(it.folder) for it in items if it.done]}
    if a.json:
        print(json.dumps(report, indent=2))
    else:
        for summary in results:
            print(f"{summary['source']}: {summary['frames_processed']} frames, {summary['faces']} faces, "
                  f"{summary['fps']} FPS -> {summary['log']}")
        print(f"batch {root}: {finished} of {len(items)} sources finished")
    return 0 if finished == len(items) else 130


class FileProgress:
    """``[n/N] name: frames/total`` on stderr: redrawn in place on a terminal, every 100 frames otherwise."""

    def __init__(self, n: int, count: int, name: str, total: int | None):
        self.head, self.total, self.tty = f"[{n}/{count}] {name}", total, sys.stderr.isatty()

    def update(self, frames: int) -> None:
        of = f"/{self.total}" if self.total else ""
        if self.tty:
            share = frames / self.total if self.total else 0.0
            bar = "#" * round(20 * min(share, 1.0))
            sys.stderr.write(f"\r{self.head}: [{bar:<20}] {frames}{of} frames\033[K")
            sys.stderr.flush()
        elif frames % 100 == 0:
            print(f"{self.head}: {frames}{of} frames", file=sys.stderr)

    def done(self) -> None:
        if self.tty:
            sys.stderr.write("\n")
        print(f"{self.head}: finished", file=sys.stderr)


def print_comparison(c: dict) -> None:
    a, b = c["a"], c["b"]
    if not c["faces"]:
        print(f"compare: no face was seen, so {b['model'] or 'the comparison model'} was never run")
        return
    print(f"compare A {a['model']} ({a['backend']}) with B {b['model']} ({b['backend']}) on {c['faces']} faces: "
          f"agreement {c['agreement']:.3f}, mean |pA - pB| {c['mean_abs_prob_diff']:.4f}")
    for side, s in (("A", a), ("B", b)):
        if s["ms_per_face"]:
            print(f"  {side} per face: p50 {s['ms_per_face']['p50']:.3f} ms, p95 {s['ms_per_face']['p95']:.3f} ms")
    labels = c["labels"]
    print("  confusion (rows: A's label, columns: B's):")
    print("  " + " " * 10 + " ".join(f"{l[:6]:>7}" for l in labels))
    for label, row in zip(labels, c["confusion"]):
        print(f"  {label[:10]:<10}" + " ".join(f"{v:>7}" for v in row))
