"""``ferdesk bench``: per classifier x backend, latency per face, throughput and peak RSS;
per temporal model, its cost per track per frame (a full window, one track and a batch of tracks).

Each pair runs in its own process so that peak RSS belongs to that pair alone. With ``--rounds N`` the
whole sweep runs N times, pair after pair, and each figure is the median over the rounds: on a shared
machine a busy moment then lands on every pair instead of on one (single sweeps differed by a third
between runs here).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import ferdesk
from ferdesk.catalog import Catalog
from ferdesk.commands import load_catalog, positive_int
from ferdesk.latency_store import LatencyStore
from ferdesk.commands.models import model_backends
from ferdesk.errors import FerdeskError

TIMED_TASKS = ("classifier", "temporal")
PACKAGE_PARENT = str(Path(ferdesk.__file__).resolve().parents[1])


def add_arguments(p) -> None:
    p.add_argument("--all", action="store_true",
                   help="every installed classifier on every backend that runs it here, and the temporal models (this "
                        "machine's model map, shown by the window's Model > Model map); the default when no --model "
                        "or --backend is given")
    p.add_argument("--model", action="append", help="only these classifiers or temporal models (repeatable)")
    p.add_argument("--backend", action="append", help="only these backends (repeatable)")
    p.add_argument("--runs", type=positive_int, default=300, help="timed single-face runs per pair")
    p.add_argument("--batch", type=positive_int, default=8, help="batch size for the throughput figure")
    p.add_argument("--threads", type=positive_int, default=1, help="CPU threads (default 1: the per-face budget)")
    p.add_argument("--rounds", type=int, default=1,
                   help="repeat the sweep; each pair's figures are the medians over the rounds (default 1)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-save", action="store_true",
                   help="do not keep the figures for the window's Model menu (they go to latency.json in the user data directory)")
    p.add_argument("--worker", nargs=2, metavar=("MODEL", "BACKEND"), help="internal: measure one pair in this process")


def measure(catalog: Catalog, model: str, backend: str, runs: int, batch: int, threads: int) -> dict:
    from ferdesk.classifier import Classifier
    from ferdesk.metrics import peak_rss_mb

    clf = Classifier(catalog.get(model), backend=backend, threads=threads)
    w, h = clf.size
    rng = np.random.default_rng(0)
    one = rng.integers(0, 256, (1, h, w), dtype=np.uint8)
    many = rng.integers(0, 256, (batch, h, w), dtype=np.uint8)
    for _ in range(20):
        clf.classify(one)
    lat = []
    for _ in range(runs):
        t = time.perf_counter()
        clf.classify(one)
        lat.append((time.perf_counter() - t) * 1e3)
    clf.classify(many)
    t = time.perf_counter()
    reps = max(1, runs // batch)
    for _ in range(reps):
        clf.classify(many)
    throughput = reps * batch / (time.perf_counter() - t)
    return {"model": model, "backend": backend, "file": clf.file.path.name, "precision": clf.file.precision,
            "size_bytes": clf.file.size_bytes, "threads": threads,
            "latency_ms_p50": float(np.percentile(lat, 50)), "latency_ms_p95": float(np.percentile(lat, 95)),
            "throughput_faces_s": throughput, "batch": batch, "peak_rss_mb": peak_rss_mb()}


def measure_temporal(catalog: Catalog, model: str, runs: int, batch: int, threads: int) -> dict:
    """Time ``update`` of the learned head on tracks with a full window (the steady state)."""
    from ferdesk.metrics import peak_rss_mb
    from ferdesk.temporal import LearnedTemporal

    spec = catalog.get(model)
    head = LearnedTemporal(spec, threads=threads)
    rng = np.random.default_rng(0)
    probs = np.full((batch, len(spec.labels)), 1 / len(spec.labels), np.float32)

    def timed(n: int) -> list[float]:
        head.reset()
        ids = tuple(range(n))
        lat = []
        for k in range(head.window + 20 + runs):
            feats = rng.random((n, head.feature_size), dtype=np.float32)
            t = time.perf_counter()
            head.update(ids, probs[:n], feats)
            if k >= head.window + 20:
                lat.append((time.perf_counter() - t) * 1e3)
        return lat

    one, many = timed(1), timed(batch)
    mf = spec.primary
    return {"model": model, "backend": "onnxruntime", "file": mf.path.name, "precision": mf.precision,
            "size_bytes": mf.size_bytes, "threads": threads, "task": "temporal", "window": head.window,
            "latency_ms_p50": float(np.percentile(one, 50)), "latency_ms_p95": float(np.percentile(one, 95)),
            "per_track_ms_p50_batch": float(np.percentile(many, 50)) / batch,
            "throughput_faces_s": batch * len(many) / (sum(many) / 1e3), "batch": batch, "peak_rss_mb": peak_rss_mb()}


def median_of_rounds(results: list[dict]) -> dict:
    """One row from the rounds of one pair: the median of each timing, the largest peak RSS, and every
    round's p50 (``latency_ms_p50_rounds``) to show the spread."""
    row = dict(results[0])
    timings = ("latency_ms_p50", "latency_ms_p95", "throughput_faces_s", "per_track_ms_p50_batch")
    for key in (k for k in timings if k in row):
        row[key] = float(np.median([r[key] for r in results]))
    row["peak_rss_mb"] = max(r["peak_rss_mb"] for r in results)
    row["rounds"] = len(results)
    row["latency_ms_p50_rounds"] = [r["latency_ms_p50"] for r in results]
    return row


def check_selection(catalog: Catalog, models: list[str], backends: list[str]) -> None:
    """Refuse, in one line, a ``--model`` or ``--backend`` that names nothing bench can time (instead of
    printing an empty table and succeeding)."""
    from ferdesk.engines import engines

    for name in models:
        spec = catalog.get(name)  # an unknown name: one line listing the known ones
        if spec.task not in TIMED_TASKS:
            raise FerdeskError(f"model {name} is a {spec.task}; bench times classifiers and temporal models")
    for name in backends:
        engines.get(name)  # an unknown backend: one line listing the known ones


class Progress:
    """``bench: K/N MODEL on BACKEND`` on stderr before each measurement: a bar redrawn in place on a terminal,
    one line each otherwise (the window reads these lines for its progress bar)."""

    def __init__(self, total: int):
        self.total, self.count = total, 0
        self.tty = sys.stderr.isatty()

    def step(self, what: str) -> None:
        self.count += 1
        if self.tty:
            filled = round(20 * (self.count - 1) / max(self.total, 1))
            sys.stderr.write(f"\r[{'#' * filled}{'-' * (20 - filled)}] bench: {self.count}/{self.total} {what}\033[K")
        else:
            sys.stderr.write(f"bench: {self.count}/{self.total} {what}\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self.tty and self.total:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def main(a) -> int:
    if a.worker:
        model, backend = a.worker
        catalog = load_catalog(a)
        result = (measure_temporal(catalog, model, a.runs, a.batch, a.threads) if backend == "temporal"
                  else measure(catalog, model, backend, a.runs, a.batch, a.threads))
        print(json.dumps(result))
        return 0
    if a.rounds < 1:
        print("error: --rounds must be at least 1", file=sys.stderr)
        return 2
    if a.all and (a.model or a.backend):
        raise FerdeskError("--all measures every model on every backend: leave out --model and --backend")
    catalog = load_catalog(a)
    check_selection(catalog, a.model or [], a.backend or [])
    pairs = [(spec, backend, info) for spec in catalog.by_task("classifier") for backend, info in model_backends(spec).items()]
    pairs += [(spec, "temporal", {"available": True}) for spec in catalog.by_task("temporal")]
    pairs = [(spec, backend, info) for spec, backend, info in pairs
             if (not a.model or spec.name in a.model)
             and (not a.backend or backend in a.backend or (backend == "temporal" and "onnxruntime" in a.backend))]
    measured: list[list[dict]] = [[] for _ in pairs]
    progress = Progress(sum(1 for _, _, info in pairs if info["available"]) * a.rounds)
    for _ in range(a.rounds):
        for k, (spec, backend, info) in enumerate(pairs):
            if not info["available"] or (measured[k] and "error" in measured[k][-1]):
                continue
            progress.step(f"{spec.name} on {backend}")
            cmd = [sys.executable, "-m", "ferdesk", "bench", "--worker", spec.name, backend,
                   "--runs", str(a.runs), "--batch", str(a.batch), "--threads", str(a.threads)]
            for pack in a.models or ():
                cmd += ["--models", str(Path(pack).resolve())]
            # from the folder above the imported package: a folder named ferdesk in the user's working
            # directory (a checkout's parent) must not shadow it in the worker
            out = subprocess.run(cmd, capture_output=True, text=True, cwd=PACKAGE_PARENT)
            if out.returncode != 0:
                measured[k].append({"error": (out.stderr.strip().splitlines() or ["failed"])[-1]})
                continue
            measured[k].append(json.loads(out.stdout.strip().splitlines()[-1]))
    progress.done()
    rows = []
    for (spec, backend, info), results in zip(pairs, measured):
        if not info["available"]:
            rows.append({"model": spec.name, "backend": backend, "skipped": info["reason"]})
        elif "error" in results[-1]:
            rows.append({"model": spec.name, "backend": backend, "error": results[-1]["error"]})
        else:
            rows.append(median_of_rounds(results))
    if not a.no_save:
        LatencyStore().merge([r for r in rows if "latency_ms_p50" in r])
    failed = [r for r in rows if "error" in r]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 1 if failed else 0
    print(f"{'model':<18} {'backend':<12} {'file':<34} {'KB':>7} {'p50 ms':>7} {'p95 ms':>7} {'faces/s':>8} {'RSS MB':>7}")
    for r in rows:
        if "skipped" in r or "error" in r:
            print(f"{r['model']:<18} {r['backend']:<12} {r.get('skipped') or r.get('error')}")
            continue
        print(f"{r['model']:<18} {r['backend']:<12} {r['file']:<34} {r['size_bytes'] / 1024:7.1f} {r['latency_ms_p50']:7.3f} "
              f"{r['latency_ms_p95']:7.3f} {r['throughput_faces_s']:8.0f} {r['peak_rss_mb']:7.1f}"
              + (f"  (temporal, per track per frame; {r['per_track_ms_p50_batch']:.3f} ms/track in a batch of {r['batch']})"
                 if r.get("task") == "temporal" else "")
              + (f"  (p50 over {r['rounds']} rounds: {min(r['latency_ms_p50_rounds']):.3f} to "
                 f"{max(r['latency_ms_p50_rounds']):.3f})" if r["rounds"] > 1 else ""))
    if failed:
        print(f"ferdesk: error: {len(failed)} of {len(rows)} measurements failed: "
              + "; ".join(f"{r['model']} on {r['backend']}: {r['error']}" for r in failed), file=sys.stderr)
        return 1
    return 0
