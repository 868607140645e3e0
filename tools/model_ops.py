"""Multiply-accumulates per face of each classifier: the work a board has to do, independent of the CPU.

usage: python tools/model_ops.py [--models DIR] [--json]

Counts the MACs of every Conv, ConvTranspose, Gemm and MatMul node of each classifier's primary ONNX file
from ONNX shape inference at batch 1 (depthwise and grouped convolutions counted as such; a graph that
averages the face with its mirror counts both passes). Needs the onnx package (the training extra).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def graph_macs(path: Path) -> int:
    import onnx
    from onnx import shape_inference

    model = onnx.load(str(path))
    graph = model.graph
    for inp in graph.input:                      # batch 1 where the batch is dynamic
        dims = inp.type.tensor_type.shape.dim
        if dims and not dims[0].dim_value:
            dims[0].dim_value = 1
    model = shape_inference.infer_shapes(model)
    graph = model.graph
    shapes = {}
    for v in list(graph.value_info) + list(graph.input) + list(graph.output):
        dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
        shapes[v.name] = dims
    for init in graph.initializer:
        shapes[init.name] = list(init.dims)
    # a weight reached through DequantizeLinear (QDQ) has the shape of the quantised initialiser
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in shapes:
            shapes[node.output[0]] = shapes[node.input[0]]
    macs = 0
    for node in graph.node:
        out = shapes.get(node.output[0])
        if node.op_type in ("Conv", "ConvTranspose"):
            w = shapes.get(node.input[1])
            if not w or not out or 0 in out:
                continue
            # out (N, Cout, H, W) x weight (Cout, Cin/groups, kh, kw)
            macs += math.prod(out) * math.prod(w[1:])
        elif node.op_type in ("Gemm", "MatMul"):
            a, b = shapes.get(node.input[0]), shapes.get(node.input[1])
            if not a or not b or not out:
                continue
            k = a[-1] if node.op_type == "MatMul" or not any(at.name == "transA" and at.i for at in node.attribute) else a[0]
            macs += math.prod(out) * k
    return macs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", action="append", type=Path, default=[], help="a model pack to include")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    from ferdesk.catalog import Catalog

    cat = Catalog.load(packs=a.models)
    rows = []
    for spec in cat.by_task("classifier"):
        mf = spec.file_for("onnx")
        if mf is None:
            continue
        rows.append({"model": spec.name, "precision": mf.precision, "tier": spec.get("tier"),
                     "macs": graph_macs(mf.path), "params": spec.get("params")})
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'model':<32} {'precision':<9} {'tier':<9} {'MMAC per face':>14}")
    for r in rows:
        print(f"{r['model']:<32} {r['precision']:<9} {r['tier'] or '':<9} {r['macs'] / 1e6:14.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
