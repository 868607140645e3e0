"""Time several ONNX classifier files against each other on one CPU thread, in one process, interleaved.

usage: python tools/interleaved_latency.py FILE.onnx [FILE.onnx ...] [--rounds 10] [--runs 300]

``ferdesk bench`` times each model in its own process one after the other, so a busy or throttled
moment lands on one model only; on a shared machine two runs of it can differ by 30%. Here every round
times each file in turn (``--runs`` single 48x48 faces after 50 warm-up runs, with the app's ONNX Runtime
engine on one thread), and the figure is the median of the rounds' medians, with the spread of rounds.
Prints one Markdown table.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packaging"))  # int8_formats: the timing round


def main(argv=None) -> int:
    from ferdesk.engines.onnxruntime_engine import OnnxRuntimeEngine
    from int8_formats import median_ms

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--runs", type=int, default=300)
    a = ap.parse_args(argv)
    missing = [str(f) for f in a.files if not f.is_file()]
    if missing:
        print(f"error: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    engines = [OnnxRuntimeEngine(f, threads=1) for f in a.files]
    x = np.random.default_rng(0).random((1, 1, 48, 48), dtype=np.float32)
    medians = [[] for _ in engines]
    for _ in range(a.rounds):
        for engine, rounds in zip(engines, medians):
            for _ in range(50):
                engine.run(x)
            rounds.append(median_ms(engine, x, a.runs))
    print("| file | ms per face (median of rounds) | fastest round | slowest round |")
    print("|---|---|---|---|")
    for f, rounds in zip(a.files, medians):
        print(f"| {f.name} | {np.median(rounds):.3f} | {min(rounds):.3f} | {max(rounds):.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
