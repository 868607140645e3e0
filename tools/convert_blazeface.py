"""Extract BlazeFace from the mediapipe 0.10.21 wheel and convert the short-range model to ONNX.

Build-time only (nothing downloads at run time). Steps:
    pip download --no-deps mediapipe==0.10.21 --only-binary=:all: --python-version 3.11 \
        --platform manylinux_2_28_x86_64 -d /tmp/wheels
    pip install tflite2onnx          # in a scratch venv: pure Python
    python tools/convert_blazeface.py /tmp/wheels/mediapipe-0.10.21-*.whl
    python tools/refresh_catalog.py

Writes ferdesk/models/blazeface/{face_detection_short_range.tflite, face_detection_short_range.onnx,
face_detection_full_range_sparse.tflite, LICENSE}. The full-range model uses a sparse
DENSIFY op that tflite2onnx cannot convert, so it stays LiteRT-only. When ai-edge-litert is
importable, the ONNX outputs are checked against LiteRT on random input.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "ferdesk" / "models" / "blazeface"
MEMBERS = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": "face_detection_short_range.tflite",
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": "face_detection_full_range_sparse.tflite",
    "mediapipe-0.10.21.dist-info/LICENSE": "LICENSE",
}


def main(wheel: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for member, name in MEMBERS.items():
            (OUT / name).write_bytes(z.read(member))
    short = OUT / "face_detection_short_range.tflite"
    onnx_path = short.with_suffix(".onnx")
    subprocess.run(["tflite2onnx", str(short), str(onnx_path)], check=True)
    try:
        import numpy as np
        import onnxruntime as ort
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        print("skipped the LiteRT comparison (ai-edge-litert or onnxruntime missing)")
        return
    x = np.random.default_rng(0).uniform(-1, 1, (1, 128, 128, 3)).astype(np.float32)
    it = Interpreter(str(short))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    ref = [it.get_tensor(o["index"]) for o in it.get_output_details()]
    sess = ort.InferenceSession(str(onnx_path))
    got = sess.run(None, {sess.get_inputs()[0].name: x.transpose(0, 3, 1, 2).copy()})
    err = max(float(np.abs(a - b).max()) for a, b in zip(ref, got))
    print(f"ONNX vs LiteRT max abs difference: {err:.2e}")
    if err > 1e-3:
        sys.exit("conversion mismatch")


if __name__ == "__main__":
    main(sys.argv[1])
