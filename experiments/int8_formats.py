"""Compare ONNX Runtime static INT8 formats on one bundled FP32 classifier: time per face and PublicTest accuracy.

usage: python experiments/int8_formats.py --model fernet-sm-kd2 [--runs 300] [--data ../shared/data] [--keep DIR]

Quantises the model's FP32 file the way ``ferdesk.training.compress`` does (same 512 calibration faces
from FER2013 Training, same input handling) in each format below, into a temporary folder, then times
each file with the app's ONNX Runtime engine on one thread (p50 of ``--runs`` single faces, best of three
rounds) and scores it on PublicTest. ``shipped`` is what ``compress --variants int8`` writes; the last two
rows are the shipped format with the first (one-channel) convolution handled otherwise, to see whether its
share of the time (``experiments/layer_profile.py``) can be won back without retraining. Nothing in models/
changes; ``--keep DIR`` keeps the quantised files there (``int8-K.onnx``, K the row) for profiling. Prints
one Markdown table.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.catalog import InputSpec  # noqa: E402
from ferdesk.training.catalogs import CatalogStore  # noqa: E402


def formats(src: Path) -> dict[str, dict]:
    """Each row's ``make_int8`` options; ``rewrite`` (not a quantize_static option) edits the FP32 graph first."""
    import onnx
    from onnxruntime.quantization import QuantFormat, QuantType

    return {
        "shipped: QDQ, UINT8 activations, 7-bit INT8 weights": {},
        "QOperator, UINT8 activations, 7-bit INT8 weights": dict(quant_format=QuantFormat.QOperator),
        "QDQ, UINT8 activations, 8-bit INT8 weights": dict(reduce_range=False),
        "QDQ, UINT8 activations, UINT8 weights": dict(weight_type=QuantType.QUInt8, reduce_range=False),
        "QDQ, INT8 activations, INT8 weights": dict(activation_type=QuantType.QInt8, reduce_range=False),
        # the one-channel first convolution cannot use ONNX Runtime's direct INT8 kernel (it wants input
        # channels in fours), so it runs as im2col + a GEMM with 9-long rows: two ways around it
        "shipped, first convolution left in float": dict(nodes_to_exclude=single_channel_convs(onnx.load(str(src)))),
        "shipped, input zero-padded to 4 channels for the first convolution": dict(rewrite=widen_single_channel_convs),
    }


def single_channel_convs(model) -> list[str]:
    """The names of the ungrouped convolutions with one input channel (the first layer of each network)."""
    weights = {t.name: t for t in model.graph.initializer}
    return [n.name for n in model.graph.node if n.op_type == "Conv" and n.input[1] in weights
            and weights[n.input[1]].dims[1] == 1 and all(a.i == 1 for a in n.attribute if a.name == "group")]


def widen_single_channel_convs(model, width: int = 4):
    """Give every one-channel, ungrouped convolution ``width`` input channels: a Pad in front adds
    ``width - 1`` zero channels and the new weights are zeros, so the output is unchanged."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    weights = {t.name: t for t in g.initializer}
    widened: dict[str, str] = {}
    names = set(single_channel_convs(model))
    for n in [n for n in g.node if n.name in names]:
        w = weights[n.input[1]]
        old = numpy_helper.to_array(w)
        new = np.zeros((old.shape[0], width, *old.shape[2:]), old.dtype)
        new[:, :1] = old
        w.CopyFrom(numpy_helper.from_array(new, w.name))
        src = n.input[0]
        if src not in widened:
            pads = numpy_helper.from_array(np.array([0, 0, 0, 0, 0, width - 1, 0, 0], np.int64), f"{src}_channel_pads")
            g.initializer.append(pads)
            widened[src] = f"{src}_{width}_channels"
            g.node.insert(list(g.node).index(n), helper.make_node("Pad", [src, pads.name], [widened[src]], mode="constant"))
        n.input[0] = widened[src]
    onnx.checker.check_model(model)
    return model


def median_ms(engine, x: np.ndarray, runs: int) -> float:
    """One round: the median time of ``runs`` calls on ``x``, in ms."""
    lat = []
    for _ in range(runs):
        t = time.perf_counter()
        engine.run(x)
        lat.append(time.perf_counter() - t)
    return float(np.median(lat) * 1e3)


def p50_ms(engine, x: np.ndarray, runs: int) -> float:
    for _ in range(runs):
        engine.run(x)
    return min(median_ms(engine, x, runs) for _ in range(3))


def accuracy(engine, x: np.ndarray, y: np.ndarray) -> float:
    preds = np.concatenate([engine.run(x[i:i + 256])[0].argmax(1) for i in range(0, len(x), 256)])
    return float((preds == y).mean())


def main(argv=None) -> int:
    import onnx

    from ferdesk.engines.onnxruntime_engine import OnnxRuntimeEngine
    from ferdesk.training.compress import make_int8

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="an FP32 classifier in the catalog")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--keep", type=Path, help="write the quantised files to this folder instead of a temporary one")
    a = ap.parse_args(argv)
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    entry = next((m for m in store.document()["models"] if m["name"] == a.model), None)
    if entry is None or entry.get("task") != "classifier":
        ap.error(f"{a.model} is not a classifier in {' or '.join(map(str, store.paths))}")
    spec = InputSpec.from_dict(entry["input"])
    try:
        train = np.load(a.data / "fer2013_training.npz")["images"]
        test = np.load(a.data / "fer2013_publictest.npz")
    except OSError as e:
        ap.error(f"cannot read FER2013 under {a.data}: {e}")
    calibration = train[np.random.default_rng(0).choice(len(train), 512, replace=False)]  # as compress does
    x, y = spec.to_tensor(test["images"]), test["labels"]
    src = store.folder(a.model) / entry["file"]
    rows = [("FP32 (the source)", src)]
    with tempfile.TemporaryDirectory() as scratch:
        tmp = a.keep or Path(scratch)
        tmp.mkdir(parents=True, exist_ok=True)
        for k, (what, options) in enumerate(formats(src).items()):
            dst, source = Path(tmp) / f"int8-{k}.onnx", src
            if "rewrite" in options:
                options = dict(options)
                source = Path(tmp) / f"fp32-{k}.onnx"
                onnx.save(options.pop("rewrite")(onnx.load(str(src))), str(source))
            make_int8(source, dst, spec, calibration, **options)
            rows.append((what, dst))
        print(f"{a.model}: ONNX Runtime, one thread, ms per face (p50 of {a.runs}, best of 3 rounds); PublicTest n={len(y)}\n")
        print("| format | ms per face | PublicTest |\n|---|---|---|")
        for what, path in rows:
            timed = OnnxRuntimeEngine(path, threads=1)
            ms = p50_ms(timed, x[:1], a.runs)
            acc = accuracy(OnnxRuntimeEngine(path, threads=2), x, y)
            print(f"| {what} | {ms:.3f} | {acc:.2%} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
