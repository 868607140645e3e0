"""Compressed variants of an exported classifier, each its own catalog entry.

usage: python -m ferdesk.training.compress --name fernet-s [--variants fp16,int8] [--calibration 512]

  fp16  ONNX with FP16 weights and compute, FP32 inputs/outputs (onnxconverter-common): half the file.
  int8  ONNX QDQ, static, per-channel INT8 weights and UINT8 activations (onnxruntime.quantization),
        calibrated on FER2013 *Training* faces (never the test split): a quarter of the file.

Accuracy and speed are measured afterwards (packaging/measure_models.py, ferdesk bench);
INT8 is not always faster on x86 without VNNI: it pays in size and on ARM boards.
"""
from __future__ import annotations

import argparse
import copy
import json

import numpy as np
import onnx

from ferdesk.catalog import CATALOG_PATH, MODELS_DIR, InputSpec, file_digest
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


def make_int8(src, dst, spec: InputSpec, images: np.ndarray) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre))
    graph = onnx.load(str(pre)).graph
    name = graph.input[0].name
    # the closing softmax stays in float: quantised probabilities come in 1/255 steps
    keep_float = [n.name for n in graph.node if n.op_type == "Softmax"]
    quantize_static(str(pre), str(dst), _Calibration(images, spec, name), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=keep_float)
    pre.unlink()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True, help="the FP32 catalog entry to compress")
    ap.add_argument("--variants", default="fp16,int8")
    ap.add_argument("--calibration", type=int, default=512, help="FER2013 Training faces for INT8 calibration")
    ap.add_argument("--data", default=str(DEFAULT_DATA / "fer2013_training.npz"))
    a = ap.parse_args(argv)
    doc = json.loads(CATALOG_PATH.read_text())
    base = next(m for m in doc["models"] if m["name"] == a.name)
    src = MODELS_DIR / base["file"]
    spec = InputSpec.from_dict(base["input"])
    rng = np.random.default_rng(0)
    train = np.load(a.data)["images"]
    images = train[rng.choice(len(train), a.calibration, replace=False)]
    for variant in a.variants.split(","):
        name = f"{a.name}-{variant}"
        dst = MODELS_DIR / a.name / f"{name}.onnx"
        if variant == "fp16":
            make_fp16(src, dst)
            how = "onnxconverter-common float16 (keep_io_types): FP16 weights and compute, FP32 input/output"
        elif variant == "int8":
            make_int8(src, dst, spec, images)
            how = f"onnxruntime quantize_static QDQ, per-channel INT8 weights, UINT8 activations, MinMax on {a.calibration} FER2013 Training faces"
        else:
            raise SystemExit(f"unknown variant {variant}")
        entry = copy.deepcopy(base)
        entry.pop("default", None)
        f = {"format": "onnx", "path": f"{a.name}/{dst.name}", "precision": variant,
             "size_bytes": dst.stat().st_size, "sha256": file_digest(dst)}
        entry.update(name=name, files=[f], file=f["path"], format="onnx", size_bytes=f["size_bytes"], metrics={},
                     compressed_from=a.name, compression=how,
                     provenance=base["provenance"] + f"; then python -m ferdesk.training.compress --name {a.name} --variants {variant}")
        doc["models"] = [m for m in doc["models"] if m["name"] != name]
        doc["models"].insert(doc["models"].index(base) + 1, entry)
        print(f"{name}: {f['size_bytes']} bytes")
    CATALOG_PATH.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
