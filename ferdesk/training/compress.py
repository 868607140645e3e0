"""Compressed variants of an exported classifier, each its own catalog entry.

usage: python -m ferdesk.training.compress --name fernet-s [--variants fp16,int8,int4] [--calibration 512]
           [--arch fernet-s --weights build/train/fernet-s/model.pt]

  fp16  ONNX with FP16 weights and compute, FP32 inputs/outputs (onnxconverter-common): half the file.
  int8  ONNX QDQ, static, per-channel INT8 weights (7-bit range, so x86 without VNNI does not saturate)
        and UINT8 activations (onnxruntime.quantization), the input's mean moved onto the pixel grid
        (align_input_grid: otherwise every pixel sits on a rounding boundary),
        calibrated on FER2013 *Training* faces (never the test split): a quarter of the file.
        With --arch/--weights also a TFLite file (litert-torch PT2E, per-channel symmetric INT8,
        the same calibration faces): integer kernels inside, float input and output.
  int4  ONNX, weight-only: 4-bit weights with per-output-channel scales (DequantizeLinear, opset 21,
        ONNX Runtime 1.19 or later), float activations: about an eighth of the file, the FP32 model's speed
        once ONNX Runtime folds the weights at load (ferdesk's engine asks it to). Lossless for a
        network trained against it (train_classifier --four-bit-weights), lossy for any other.

Accuracy and speed are measured afterwards (tools/measure_models.py, ferdesk bench);
INT8 is not always faster on x86 without VNNI: it pays in size and on ARM boards.
"""
from __future__ import annotations

import argparse
import copy

import numpy as np
import onnx

from ferdesk.catalog import InputSpec, file_digest
from ferdesk.training.catalogs import CatalogStore
from ferdesk.training.export import TIERS, release_default, release_tier
from ferdesk.training.train_classifier import DEFAULT_DATA


class _Calibration:
    def __init__(self, images: np.ndarray, spec: InputSpec, input_name: str, batch: int = 32):
        self.batches = [spec.to_tensor(images[i:i + batch]) for i in range(0, len(images), batch)]
        self.input_name = input_name

    def get_next(self):
        return {self.input_name: self.batches.pop()} if self.batches else None

    def rewind(self):  # some onnxruntime versions call it
        pass


def make_fp16(src, dst) -> None:
    from onnxconverter_common import float16

    model = float16.convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))


def compact_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Short tensor names, no node names, doc strings or intermediate shape records.

    What a graph computes does not depend on them, but after quantisation they are a fifth of a
    small model's file (``onnx::Conv_130_quantized_scale`` repeated in every node that reads it).
    The graph's input and output names, which callers use, are kept; subgraphs (a Scan's body)
    get their own short names, all of them (their inputs and outputs bind by position).
    """
    _compact_graph(model.graph, "t", keep={v.name for v in model.graph.input} | {v.name for v in model.graph.output})
    model.doc_string = ""
    return model


def _compact_graph(g: onnx.GraphProto, prefix: str, keep: set[str], outer=None) -> None:
    """Renames in place. ``outer``: the enclosing graph's renaming, for names a subgraph reads from it."""
    defined = {v.name for v in g.input} | {t.name for t in g.initializer} | {o for n in g.node for o in n.output}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if outer is not None and name not in defined:
            return outer(name)
        return names.setdefault(name, f"{prefix}{len(names)}")

    for v in [*g.input, *g.output]:
        v.name = short(v.name)
    for t in g.initializer:
        t.name = short(t.name)
        t.doc_string = ""
    for k, n in enumerate(g.node):
        n.name, n.doc_string = "", ""
        n.input[:] = [short(i) for i in n.input]
        n.output[:] = [short(o) for o in n.output]
        for attr in n.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                _compact_graph(attr.g, f"{prefix}{k}_", keep=set(), outer=short)
    del g.value_info[:]


def align_input_grid(model: onnx.ModelProto) -> list[float]:
    """Moves each scalar mean subtracted from the raw input onto the 1/255 pixel grid, in place;
    returns the means it changed.

    The networks normalise inside the graph, ``(x - 0.5) / 0.25`` with x = pixel / 255. MinMax
    calibration then gives that tensor the UINT8 scale 4/255 and zero point 128, so pixel k lands on
    q = k + 0.5: every pixel sits exactly on a rounding boundary. Round-half-to-even then merges odd
    and even grey levels, and a one-ulp difference in how a caller computes pixel / 255 decides the
    rounding: ``fernet-l4sm-x5-int8`` scored 71.77% with ``x * (1/255)`` and 71.52% with ``x / 255``.
    With the mean at 128/255, q = k exactly, whatever the caller's rounding. The INT8 model then sees
    the face half a grey level darker than the FP32 model does, far below what 8 bits resolve.
    Only nodes between the input and the first layer with weights are touched.
    """
    g = model.graph
    consts = {t.name: t for t in g.initializer}
    weighted = {"Conv", "ConvTranspose", "Gemm", "MatMul"}
    reached, frontier, changed = set(), [v.name for v in g.input], []
    while frontier:
        name = frontier.pop()
        for k, n in enumerate(g.node):
            if name not in n.input or k in reached or n.op_type in weighted:
                continue
            reached.add(k)
            frontier.extend(n.output)
            if n.op_type == "Sub" and n.input[0] == name and n.input[1] in consts:
                t = consts[n.input[1]]
                mean = onnx.numpy_helper.to_array(t)
                if mean.size != 1 or float(mean.ravel()[0] * 255) == round(float(mean.ravel()[0] * 255)):
                    continue
                snapped = (np.ceil(mean * 255 - 1e-6) / 255).astype(mean.dtype)
                t.CopyFrom(onnx.numpy_helper.from_array(snapped, t.name))
                changed.append(float(mean.ravel()[0]))
    return changed


def make_int8(src, dst, spec: InputSpec, images: np.ndarray, **options) -> None:
    """Static INT8 with the settings the zoo ships (below); ``options`` override ``quantize_static``'s
    arguments, for comparing other formats (``experiments/int8_formats.py``), except ``nodes_to_exclude``,
    which adds to the nodes kept in float."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre))
    model = onnx.load(str(pre))
    if align_input_grid(model):
        onnx.save(model, str(pre))
    graph = model.graph
    name = graph.input[0].name
    # the softmax and everything after it (ensemble/flip averaging) stay in float:
    # quantised probabilities come in 1/255 steps and no longer sum to one
    tail = {o for n in graph.node if n.op_type == "Softmax" for o in n.output}
    keep_float = []
    for n in graph.node:
        if n.op_type == "Softmax" or tail.intersection(n.input):
            keep_float.append(n.name)
            tail.update(n.output)
    settings = dict(quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8, calibrate_method=CalibrationMethod.MinMax,
                    # 7-bit weights: on x86 without VNNI (AVX2 only, as here) ONNX Runtime multiplies
                    # UINT8 x INT8 pairs with vpmaddubsw, whose 16-bit sums saturate on full-range weights;
                    # measured on fernet-t-kd2-flip: 57.90% with 8-bit weights, 66.26% with 7-bit (FP32 66.51%)
                    reduce_range=True)
    keep_float += list(options.pop("nodes_to_exclude", []))
    quantize_static(str(pre), str(dst), _Calibration(images, spec, name), nodes_to_exclude=keep_float,
                    **{**settings, **options})
    pre.unlink()
    onnx.save(compact_names(onnx.load(str(dst))), str(dst))


def make_int4(src, dst) -> None:
    """Weight-only 4-bit: each Conv and Gemm weight becomes INT4 values and per-output-channel float32
    scales read by ``DequantizeLinear`` (ONNX opset 21, ONNX Runtime 1.19 or later); activations stay
    float. The scales follow ``ferdesk.training.weight_quant``, so a network trained against it
    (``train_classifier --four-bit-weights``) loses nothing here."""
    import ml_dtypes  # an onnx dependency since 1.19: numpy's int4
    import torch
    from onnx import helper, numpy_helper, version_converter

    from ferdesk.training.weight_quant import quantize

    model = version_converter.convert_version(onnx.load(str(src)), 21)
    g = model.graph
    consts = {t.name: t for t in g.initializer}
    axes = {}
    for n in g.node:
        if n.op_type in ("Conv", "Gemm") and len(n.input) > 1 and n.input[1] in consts:
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            axes[n.input[1]] = 1 if n.op_type == "Gemm" and not trans_b else 0
    dequantize = []
    for name, axis in axes.items():
        w = torch.from_numpy(numpy_helper.to_array(consts[name]).copy())
        q, scale = quantize(w, axis)
        g.initializer.remove(consts[name])
        g.initializer.extend([numpy_helper.from_array(q.numpy().astype(ml_dtypes.int4), f"{name}_q"),  # packed, 2 a byte
                              numpy_helper.from_array(scale.numpy().astype(np.float32), f"{name}_scale")])
        dequantize.append(helper.make_node("DequantizeLinear", [f"{name}_q", f"{name}_scale"], [name], axis=axis))
    nodes = dequantize + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(compact_names(model), str(dst))


def make_int8_tflite(arch: str, weights: list, dst, images: np.ndarray, flip: bool = False) -> None:
    """``weights``: one state dict, or several for an ensemble (the mean of their softmaxes, as exported);
    ``flip``: averaged with the mirror image, as the exported FP32 model is."""
    import litert_torch
    import torch
    from litert_torch.quantize.pt2e_quantizer import PT2EQuantizer, get_symmetric_quantization_config
    from litert_torch.quantize.quant_config import QuantConfig

    try:
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    except ImportError:
        from torch.ao.quantization.quantize_pt2e import convert_pt2e, prepare_pt2e
    from ferdesk.training.export import WithSoftmax
    from ferdesk.training.nets import load, member

    model = WithSoftmax([load(*member(w, arch)) for w in weights], flip=flip).eval()
    sample = (torch.rand(1, 1, 48, 48),)
    quantizer = PT2EQuantizer().set_global(get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False))
    prepared = prepare_pt2e(torch.export.export(model, sample).module(), quantizer)
    with torch.no_grad():
        for im in images:
            prepared(torch.from_numpy(im).float().div(255)[None, None])
    converted = convert_pt2e(prepared, fold_quantize=False)
    litert_torch.convert(converted, sample, quant_config=QuantConfig(pt2e_quantizer=quantizer)).export(str(dst))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="the FP32 catalog entry to compress")
    ap.add_argument("--variants", default="fp16,int8")
    ap.add_argument("--calibration", type=int, default=512, help="FER2013 Training faces for INT8 calibration")
    ap.add_argument("--data", default=str(DEFAULT_DATA / "fer2013_training.npz"))
    ap.add_argument("--arch", help="architecture of each plain --weights PATH")
    ap.add_argument("--weights", action="append", metavar="[ARCH=]PATH",
                    help="the PyTorch state dict the FP32 model was exported from (repeat for an ensemble, in export order): "
                         "also makes the INT8 TFLite file")
    ap.add_argument("--default", metavar="VARIANT", help="make this variant the default classifier")
    ap.add_argument("--tier", action="append", default=[], metavar="VARIANT=TIER",
                    help=f"this variant fills a zoo tier ({', '.join(TIERS)}); repeatable")
    a = ap.parse_args(argv)
    tiers = dict(t.split("=", 1) for t in a.tier if "=" in t)
    if len(tiers) != len(a.tier) or not set(tiers.values()) <= set(TIERS):
        ap.error(f"--tier wants VARIANT=TIER with TIER one of {', '.join(TIERS)}")
    if a.weights:
        from ferdesk.training.nets import member

        try:
            [member(w, a.arch) for w in a.weights]
        except ValueError as e:
            ap.error(str(e))
    store = CatalogStore()
    doc = store.document()
    base = next(m for m in doc["models"] if m["name"] == a.name)
    src = store.folder(a.name) / base["file"]
    spec = InputSpec.from_dict(base["input"])
    rng = np.random.default_rng(0)
    train = np.load(a.data)["images"]
    images = train[rng.choice(len(train), a.calibration, replace=False)]
    for variant in a.variants.split(","):
        name = f"{a.name}-{variant}"
        dst = store.folder(name) / a.name / f"{name}.onnx"
        dst.parent.mkdir(parents=True, exist_ok=True)
        if variant == "fp16":
            make_fp16(src, dst)
            how = "onnxconverter-common float16 (keep_io_types): FP16 weights and compute, FP32 input/output"
        elif variant == "int8":
            make_int8(src, dst, spec, images)
            how = (f"onnxruntime quantize_static QDQ, per-channel INT8 weights (7-bit range, reduce_range), UINT8 activations, "
                   f"MinMax on {a.calibration} FER2013 Training faces; input mean moved onto the 1/255 pixel grid")
        elif variant == "int4":
            make_int4(src, dst)
            how = ("weight-only INT4: per-output-channel scales (clip chosen per channel for the least squared error, "
                   "ferdesk.training.weight_quant), DequantizeLinear (ONNX opset 21), float activations")
        else:
            raise SystemExit(f"unknown variant {variant}")
        paths = [dst]
        old = next((m for m in doc["models"] if m["name"] == name), None)
        # re-quantising the ONNX file alone (no --weights) keeps the TFLite file, tier and default made before
        keep = old if old is not None and variant == "int8" and not a.weights else None
        if variant == "int8" and a.weights:
            tfl = dst.with_suffix(".tflite")
            make_int8_tflite(a.arch, a.weights, tfl, images, flip=bool(base.get("test_time_flip")))
            paths.append(tfl)
            how += "; TFLite: litert-torch PT2E per-channel symmetric INT8 on the same faces, float input/output"
        entry = copy.deepcopy(base)
        entry.pop("default", None)
        files = [{"format": p.suffix[1:], "path": f"{a.name}/{p.name}", "precision": variant,
                  "size_bytes": p.stat().st_size, "sha256": file_digest(p)} for p in paths]
        f = files[0]
        entry.update(name=name, files=files, file=f["path"], format="onnx", size_bytes=f["size_bytes"], metrics={},
                     compressed_from=a.name, compression=how,
                     provenance=base["provenance"] + f"; then python -m ferdesk.training.compress --name {a.name} --variants {variant}"
                     + ((f" --arch {a.arch}" if a.arch else "") + "".join(f" --weights {w}" for w in a.weights)
                        if a.weights and variant == "int8" else ""))
        entry.pop("tier", None)
        if keep is not None:
            tflite = [t for t in keep["files"] if t["format"] == "tflite" and (store.folder(name) / t["path"]).is_file()]
            entry["files"] += tflite
            if tflite and "; TFLite: " in keep.get("compression", ""):
                entry["compression"] += "; TFLite: " + keep["compression"].split("; TFLite: ", 1)[1]
            entry["provenance"] = (keep["provenance"].split("; ONNX file re-quantised")[0]
                                   + "; ONNX file re-quantised (7-bit weights, input mean on the pixel grid): "
                                   f"python -m ferdesk.training.compress --name {a.name} --variants int8")
            entry.update({k: keep[k] for k in ("default", "tier") if keep.get(k) and (k != "default" or a.default is None)})
        if a.default == variant:
            release_default(doc["models"])
            entry["default"] = True
            entry["provenance"] += f" --default {variant}"
        if variant in tiers:
            release_tier(doc["models"], tiers[variant])
            entry["tier"] = tiers[variant]
            entry["provenance"] += f" --tier {variant}={tiers[variant]}"
        doc["models"] = [m for m in doc["models"] if m["name"] != name]
        doc["models"].insert(doc["models"].index(base) + 1, entry)
        print(f"{name}: {f['size_bytes']} bytes")
    store.save(doc)


if __name__ == "__main__":
    main()
