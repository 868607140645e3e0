"""Where an ONNX classifier's time goes, node by node, on one CPU thread (ONNX Runtime's profiler).

usage: python experiments/layer_profile.py FILE.onnx [--runs 1000]

Builds the session with the app's engine settings (``ferdesk.engines.onnxruntime_engine.session_options``:
every graph optimisation, here one intra-op thread), runs ``--runs`` single 48x48 faces with profiling on,
and prints one Markdown table: each kernel as ONNX Runtime runs it after its fusions (``QLinearConv`` for a quantised
convolution, ``NhwcMaxPool`` ...), its output shape, microseconds per face and share of the kernels' sum.
The profiler adds a little to every kernel, so compare shares and kernels of one run, not the total with
``interleaved_latency.py``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def kernel_times(path: Path, runs: int) -> tuple[list[tuple[str, str, str, float]], int]:
    """(node, op, output shape, total microseconds) per kernel in graph order, and the number of runs."""
    import onnxruntime as ort

    from ferdesk.engines.onnxruntime_engine import session_options

    opts = session_options(threads=1)
    opts.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        opts.profile_file_prefix = str(Path(tmp) / "profile")
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        inp = session.get_inputs()[0]
        x = np.random.default_rng(0).random((1, *[d if isinstance(d, int) else 1 for d in inp.shape[1:]]),
                                            dtype=np.float32)
        for _ in range(runs):
            session.run(None, {inp.name: x})
        events = json.loads(Path(session.end_profiling()).read_text())
    totals: dict[str, list] = {}
    done = 0
    for e in events:
        if e.get("cat") == "Session" and e.get("name") == "model_run":
            done += 1
        elif e.get("cat") == "Node" and e.get("name", "").endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            shape = e["args"].get("output_type_shape") or [{}]
            dims = next(iter(shape[0].values()), [])
            row = totals.setdefault(node, [node, e["args"].get("op_name", "?"), "x".join(map(str, dims)), 0.0])
            row[3] += e["dur"]
    return [tuple(r) for r in totals.values()], max(done, 1)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file", type=Path)
    ap.add_argument("--runs", type=int, default=1000)
    a = ap.parse_args(argv)
    if not a.file.is_file():
        print(f"error: no such file: {a.file}", file=sys.stderr)
        return 2
    rows, runs = kernel_times(a.file, a.runs)
    total = sum(r[3] for r in rows) / runs
    print(f"{a.file.name}: ONNX Runtime kernels, one thread, {runs} runs; kernels' sum {total:.1f} us per face\n")
    print("| # | kernel | op | output | us per face | share |\n|---|---|---|---|---|---|")
    for k, (node, op, shape, us) in enumerate(rows):
        print(f"| {k} | {node[:40]} | {op} | {shape} | {us / runs:.1f} | {us / runs / total:.1%} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
