"""Estimated frame budgets on the edge boards, from each model's operations and published board figures.

usage: python tools/board_budget.py [--models models] [--json experiments/results/board-budgets.json] [--runs 200]

No board was at hand, so the budgets are estimates, made this way:
1. Work: multiply-accumulates per call of each tier's classifier and of BlazeFace, counted from the ONNX graphs
   (tools/model_ops.py), and of MobileNetV2 (1.0, 224x224), the network every board benchmark publishes.
2. Published MobileNetV2 time per image on each board's CPU core or NPU (REFERENCES: the source, its runtime,
   clock and threads), brought to the board's own clock.
3. Small models do less work per call than MobileNetV2 but pay the same per-call overhead, so scaling by MACs
   alone is optimistic. The factor by which each of ours is slower per MAC than MobileNetV2 is measured here,
   on this machine, with ONNX Runtime on one thread (FP32 files; the same factor is used for INT8), and applied
   to the board figure: ms(model, board) = factor(model) x MACs(model) / MACs(MobileNetV2) x ms(MobileNetV2, board).
   The NPU figures get no such factor (not measurable here): they are lower bounds.
A frame costs one BlazeFace pass plus one classifier call per face; capture, tracking and drawing are not
counted. Needs torch (the training extra) to build MobileNetV2 and onnx to count operations.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from model_ops import graph_macs  # noqa: E402

#: published MobileNetV2 (1.0, 224x224) time per image, one thread (CPU) or one NPU core, and what it was run on
REFERENCES = {
    "a76": {"what": "Cortex-A76 (Snapdragon 855 prime core, 2.84 GHz), Paddle-Lite 2.9, armv8, 1 thread",
            "fp32_ms": 19.98, "int8_ms": 12.76, "clock_ghz": 2.84,
            "source": "https://github.com/PaddlePaddle/Paddle-Lite docs/benchmark/benchmark.md (release/v2.9)"},
    "a73": {"what": "Cortex-A73 (Snapdragon 835, 2.45 GHz), Paddle-Lite 2.9, armv8, 1 thread; taken for the "
                    "Cortex-A72 of the same generation (no integer dot product)",
            "fp32_ms": 61.17, "int8_ms": 41.75, "clock_ghz": 2.45,
            "source": "https://github.com/PaddlePaddle/Paddle-Lite docs/benchmark/benchmark.md (release/v2.9)"},
    "rk3588_npu": {"what": "RK3588 NPU, one of its three cores, INT8, rknn_model_zoo benchmark (433.0 FPS)",
                   "int8_ms": 1000 / 433.0, "source": "https://github.com/airockchip/rknn_model_zoo README, "
                                                       "Model performance benchmark (FPS)"},
    "rk3566_npu": {"what": "RK3566/RK3568 NPU, INT8, rknn_model_zoo benchmark (197.4 FPS)",
                   "int8_ms": 1000 / 197.4, "source": "https://github.com/airockchip/rknn_model_zoo README, "
                                                       "Model performance benchmark (FPS)"},
}

#: each board: its CPU reference and clock, and its NPU reference where it has one
BOARDS = [
    {"board": "Raspberry Pi 4 (Cortex-A72, 1.5 GHz; 1.8 GHz on later boards)", "cpu": "a73", "clock_ghz": 1.5,
     "tier": "tiny"},
    {"board": "Raspberry Pi 5 (Cortex-A76, 2.4 GHz)", "cpu": "a76", "clock_ghz": 2.4, "tier": "balanced"},
    {"board": "RK3588 (Cortex-A76, 2.4 GHz, and NPU)", "cpu": "a76", "clock_ghz": 2.4, "npu": "rk3588_npu",
     "tier": "balanced"},
    {"board": "RK3566 (Cortex-A55, 1.8 GHz, and NPU)", "cpu": None, "npu": "rk3566_npu", "tier": "balanced"},
    {"board": "RK3399Pro (Cortex-A72, 1.8 GHz; NPU needs toolkit 1.x)", "cpu": "a73", "clock_ghz": 1.8,
     "tier": "tiny"},
    {"board": "Jetson Orin Nano (Cortex-A78AE, 1.5 GHz; CPU only)", "cpu": "a76", "clock_ghz": 1.5,
     "tier": "balanced"},
]

def mobilenet_v2():
    """MobileNetV2 1.0 at 224x224 (Sandler et al. 2018), random weights: only its time matters here."""
    import torch
    from torch import nn

    def conv(cin, cout, k=3, s=1, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        return layers + [nn.ReLU6()] if act else layers

    class Block(nn.Module):
        def __init__(self, cin, cout, s, t):
            super().__init__()
            hidden = cin * t
            layers = (conv(cin, hidden, 1) if t != 1 else []) + conv(hidden, hidden, 3, s, hidden) + conv(hidden, cout, 1, act=False)
            self.body, self.residual = nn.Sequential(*layers), s == 1 and cin == cout

        def forward(self, x):
            return x + self.body(x) if self.residual else self.body(x)

    layers, cin = conv(3, 32, 3, 2), 32
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            layers.append(Block(cin, c, s if i == 0 else 1, t))
            cin = c
    layers += conv(cin, 1280, 1) + [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, 1000)]
    model = nn.Sequential(*layers).eval()
    path = Path(tempfile.mkdtemp()) / "mobilenet_v2.onnx"
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), str(path), input_names=["input"], dynamo=False)
    return path


def time_per_call(path: Path, runs: int) -> float:
    """Median ms of one call, ONNX Runtime, one thread, batch of one."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).random([d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]).astype(np.float32)
    for _ in range(10):
        sess.run(None, {inp.name: x})
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        sess.run(None, {inp.name: x})
        times.append((time.perf_counter() - t0) * 1000)
    return float(np.median(times))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=Path, action="append", default=[], help="a model pack (the zoo: the FP32 files)")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args(argv)
    from ferdesk.catalog import Catalog
    from ferdesk.doctor import cpu_facts

    cat = Catalog.load(packs=a.models or [ROOT / "models"])
    # each tier's FP32 network (the file its shipped variant was compressed from), in tier order
    tiers = {t: spec.get("compressed_from") or spec.name for t, spec in cat.tiers().items()}
    ref_path = mobilenet_v2()
    ref_macs = graph_macs(ref_path)
    ref_ms = time_per_call(ref_path, a.runs)
    work = {}
    for name, fp32 in [("blazeface", "blazeface")] + list(tiers.items()):
        spec = cat.get(fp32)
        mf = spec.file_for("onnx")
        macs, ms = graph_macs(mf.path), time_per_call(mf.path, a.runs)
        work[name] = {"model": fp32, "macs": macs, "ms_here": round(ms, 3),
                      "factor": round((ms / ref_ms) / (macs / ref_macs), 2)}
    here = {"cpu": cpu_facts()[0], "mobilenet_v2_macs": ref_macs,
            "mobilenet_v2_ms": round(ref_ms, 2), "runtime": "onnxruntime, 1 thread, FP32"}
    rows = []
    for b in BOARDS:
        row = {"board": b["board"], "tier": b["tier"]}
        if b.get("cpu"):
            ref = REFERENCES[b["cpu"]]
            clock = ref["clock_ghz"] / b["clock_ghz"]
            for prec in ("fp32", "int8"):
                per = lambda w: w["factor"] * w["macs"] / ref_macs * ref[f"{prec}_ms"] * clock  # noqa: E731
                row[f"cpu_{prec}"] = {"detector_ms": round(per(work["blazeface"]), 2),
                                      **{f"{t}_ms": round(per(work[t]), 2) for t in tiers}}
            cpu = row["cpu_int8"]
            for faces in (1, 4):
                row[f"cpu_fps_{faces}_faces"] = round(1000 / (row["cpu_fp32"]["detector_ms"] + faces * cpu[f"{b['tier']}_ms"]), 1)
        if b.get("npu"):
            ref = REFERENCES[b["npu"]]
            row["npu_int8_lower_bound"] = {f"{t}_ms": round(work[t]["macs"] / ref_macs * ref["int8_ms"], 3) for t in tiers}
        rows.append(row)
    out = {"method": __doc__.split("\n\n", 1)[1].strip(), "here": here, "work": work, "references": REFERENCES,
           "boards": rows, "command": "python tools/board_budget.py --json experiments/results/board-budgets.json"}
    print(f"here: {here['cpu']}; MobileNetV2 {ref_macs / 1e6:.0f} MMAC, {ref_ms:.2f} ms (ONNX Runtime, 1 thread)")
    for name, w in work.items():
        print(f"  {name:<10} {w['model']:<22} {w['macs'] / 1e6:7.1f} MMAC {w['ms_here']:7.3f} ms here, "
              f"{w['factor']:.2f} x MobileNetV2's time per MAC")
    print(f"\n{'board':<58} {'tier':<9} {'BlazeFace':>9} {'tiny':>6} {'balanced':>8} {'best':>6}  fps 1/4 faces  NPU tiny/bal/best")
    for r in rows:
        c = r.get("cpu_int8")
        cpu = (f"{r['cpu_fp32']['detector_ms']:9.1f} {c['tiny_ms']:6.1f} {c['balanced_ms']:8.1f} {c['best_ms']:6.1f}  "
               f"{r['cpu_fps_1_faces']:5.0f} {r['cpu_fps_4_faces']:5.0f}   ") if c else " " * 47
        npu = r.get("npu_int8_lower_bound")
        npu = "/".join(f"{npu[f'{t}_ms']:.2f}" for t in tiers) + " ms" if npu else ""
        print(f"{r['board']:<58} {r['tier']:<9} {cpu}{npu}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
