"""Extract MediaPipe's face-landmark model from the mediapipe 0.10.21 wheel and convert it to ONNX.

Build-time only (nothing downloads at run time). The detectors use its face-presence output to check a
candidate box before it is shown (``docs/catalog.md``, "Checking a face"). Steps:

    pip download --no-deps mediapipe==0.10.21 --only-binary=:all: --python-version 3.11 \\
        --platform manylinux_2_28_x86_64 -d /tmp/wheels
    python3 -m venv /tmp/tf2onnx && /tmp/tf2onnx/bin/pip install tensorflow-cpu tf2onnx 'numpy<2'
    python tools/convert_face_landmark.py /tmp/wheels/mediapipe-0.10.21-*.whl --tf2onnx /tmp/tf2onnx/bin/python
    python tools/refresh_catalog.py

tflite2onnx cannot convert this graph (a transpose it does not handle); tf2onnx can, in a scratch
environment of its own (it needs TensorFlow). The weights are then stored as FP16 (the wheel's own file
holds FP16 weights too) with a Cast to FP32 in front of each use, so the file is half the size and the
arithmetic stays FP32: ONNX Runtime folds the casts when it loads the file. Writes
``ferdesk/models/blazeface/face_landmark.onnx`` beside BlazeFace (same source, same Apache-2.0 licence,
``LICENSE`` there) and checks it against LiteRT on random input when ai-edge-litert is importable.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ferdesk" / "models" / "blazeface"
MEMBER = "mediapipe/modules/face_landmark/face_landmark.tflite"


def store_fp16_weights(src: Path, dst: Path) -> None:
    """FP16 initialisers, FP32 compute: each float weight is stored in FP16 and cast back to FP32 where the
    graph reads it."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    kept, casts = [], []
    for t in g.initializer:
        if t.data_type == onnx.TensorProto.FLOAT and np.prod(t.dims) > 16:
            half = numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float16), t.name + "_fp16")
            kept.append(half)
            casts.append(helper.make_node("Cast", [half.name], [t.name], to=onnx.TensorProto.FLOAT))
        else:
            kept.append(t)
    del g.initializer[:]
    g.initializer.extend(kept)
    nodes = casts + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("wheel", type=Path, help="the mediapipe 0.10.21 wheel")
    ap.add_argument("--tf2onnx", required=True, help="a Python with tf2onnx and tensorflow-cpu")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tfl = Path(tmp) / "face_landmark.tflite"
        with zipfile.ZipFile(a.wheel) as z:
            tfl.write_bytes(z.read(MEMBER))
        fp32 = Path(tmp) / "face_landmark-fp32.onnx"
        subprocess.run([a.tf2onnx, "-m", "tf2onnx.convert", "--tflite", str(tfl), "--output", str(fp32), "--opset", "13"],
                       check=True)
        dst = OUT / "face_landmark.onnx"
        store_fp16_weights(fp32, dst)
        print(f"wrote {dst} ({dst.stat().st_size:,} bytes)")
        try:
            import numpy as np
            import onnxruntime as ort
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            print("skipped the LiteRT comparison (ai-edge-litert or onnxruntime missing)")
            return 0
        x = np.random.default_rng(0).uniform(0, 1, (1, 192, 192, 3)).astype(np.float32)
        it = Interpreter(str(tfl))
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
        ref = [it.get_tensor(o["index"]) for o in it.get_output_details()]
        s = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"])
        got = s.run(None, {s.get_inputs()[0].name: x})
        for r, g in zip(ref, got):
            print(f"output {r.shape}: max abs difference from LiteRT {float(np.abs(r - g.reshape(r.shape)).max()):.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
