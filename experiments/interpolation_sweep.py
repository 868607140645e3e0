"""PublicTest and real-photo accuracy along the line between a network and its fine-tune (WiSE-FT).

usage: python experiments/interpolation_sweep.py --start models/fernet-sm-kd2-pruned/fernet-sm-kd2-pruned.onnx \\
           --end build/train/sm-trim-rf-e/model.pt --real build/realfaces-tune.npz [--tflite] 0 0.5 0.6 0.7 1
       python experiments/interpolation_sweep.py --member fernet-l ENSEMBLE.onnx#0 build/train/x5rf/m0/model.pt \\
           --member ... --real build/realfaces-tune.npz 0 0.5    (an ensemble: each member on its own line)
       python experiments/interpolation_sweep.py --arch fernet-tw --start TINY.onnx --end TUNED.pt --flip --int4 ...

For each A: the network ``(1 - A) * start + A * end`` (``ferdesk.training.interpolate``), exported to ONNX and
quantised to INT8 exactly as ``ferdesk.training.compress`` does the zoo's (512 FER2013 Training faces, seed 0),
and with ``--tflite`` the INT8 LiteRT file as well; prints PublicTest for FP32, INT8 ONNX (and INT8 LiteRT) and
the INT8 ONNX file's accuracy on the ``--real`` crops; ``--member`` (repeated) takes an ensemble member by member
(the mean of their softmaxes, as exported), ``--flip`` averages with the mirror image as the tiny tier's files
do, and ``--int4`` adds the weight-only INT4 file (the tiny tier's format) to both figures (``python -m ferdesk.training.photo_crops``). Files go to a
temporary folder; nothing is written to the catalogs. ``--real`` may be repeated (each set's line in turn);
``--ckplus`` adds the INT8 ONNX file's accuracy and macro recall on CK+'s posed faces (contempt left out, as
``experiments/class_prior.py`` has them), the posed stand-in. Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.catalog import InputSpec  # noqa: E402
from ferdesk.training.compress import make_int4, make_int8, make_int8_tflite  # noqa: E402
from ferdesk.training.export import INPUT_SPEC, WithSoftmax, export_onnx  # noqa: E402
from ferdesk.training.interpolate import interpolate  # noqa: E402
from ferdesk.training.train_classifier import DEFAULT_DATA  # noqa: E402


def onnx_predictions(path: Path, x: np.ndarray) -> np.ndarray:
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    return np.concatenate([s.run(None, {name: x[i:i + 512, None].astype(np.float32) / 255})[0]
                           for i in range(0, len(x), 512)]).argmax(1)


def onnx_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    return float((onnx_predictions(path, x) == y).mean())


def macro_recall(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([(pred[y == k] == k).mean() for k in np.unique(y)]))


def tflite_accuracy(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(str(path))
    it.allocate_tensors()
    inp, outs = it.get_input_details()[0], it.get_output_details()
    right = 0
    for k in range(len(x)):
        it.set_tensor(inp["index"], x[k:k + 1, None].astype(np.float32) / 255)
        it.invoke()
        p = next(it.get_tensor(o["index"]) for o in outs if it.get_tensor(o["index"]).shape[-1] == 7)
        right += int(p.argmax() == y[k])
    return right / len(x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("alphas", nargs="+", type=float)
    ap.add_argument("--arch", default="fernet-sm-trim")
    ap.add_argument("--start")
    ap.add_argument("--end")
    ap.add_argument("--member", nargs=3, action="append", default=[], metavar=("ARCH", "START", "END"),
                    help="one member of an ensemble (repeat, in the ensemble's order) instead of --arch/--start/--end")
    ap.add_argument("--real", type=Path, action="append", required=True)
    ap.add_argument("--ckplus", action="store_true", help="score the INT8 ONNX file on CK+'s posed faces as well")
    ap.add_argument("--tflite", action="store_true")
    ap.add_argument("--flip", action="store_true", help="average with the mirror image (test-time flip)")
    ap.add_argument("--int4", action="store_true", help="score the weight-only INT4 file as well")
    a = ap.parse_args(argv)
    members = a.member or [(a.arch, a.start, a.end)]
    if any(None in m for m in members):
        ap.error("give --start and --end, or --member ARCH START END")
    test = np.load(DEFAULT_DATA / "fer2013_publictest.npz")
    reals = {path.stem: np.load(path) for path in a.real}
    if a.ckplus:
        from class_prior import ckplus  # experiments/, beside this script

        x, y = ckplus()
        reals["CK+"] = {"images": x, "labels": y}
    train = np.load(DEFAULT_DATA / "fer2013_training.npz")["images"]
    calibration = train[np.random.default_rng(0).choice(len(train), 512, replace=False)]
    spec = InputSpec.from_dict(INPUT_SPEC)
    with tempfile.TemporaryDirectory() as tmp:
        for alpha in a.alphas:
            nets = [interpolate(arch, start, end, alpha) for arch, start, end in members]
            fp32, int8 = Path(tmp) / f"a{alpha}.onnx", Path(tmp) / f"a{alpha}-int8.onnx"
            export_onnx(WithSoftmax(nets, flip=a.flip), fp32)
            make_int8(fp32, int8, spec, calibration)
            line = (f"A {alpha:g}: PublicTest FP32 {onnx_accuracy(fp32, test['images'], test['labels']):.4f}, "
                    f"INT8 ONNX {onnx_accuracy(int8, test['images'], test['labels']):.4f}")
            if a.int4:
                int4 = Path(tmp) / f"a{alpha}-int4.onnx"
                make_int4(fp32, int4)
                line += f", INT4 ONNX {onnx_accuracy(int4, test['images'], test['labels']):.4f}"
            if a.tflite:
                weights = []
                for k, ((arch, _, _), net) in enumerate(zip(members, nets)):
                    weights.append(f"{arch}={Path(tmp) / f'a{alpha}-m{k}.pt'}")
                    torch.save(net.state_dict(), weights[-1].split("=", 1)[1])
                tfl = Path(tmp) / f"a{alpha}-int8.tflite"
                make_int8_tflite(None, weights, tfl, calibration, flip=a.flip)
                line += f", INT8 LiteRT {tflite_accuracy(tfl, test['images'], test['labels']):.4f}"
            for name, real in reals.items():
                pred = onnx_predictions(int8, real["images"])
                line += f"; {name} INT8 ONNX {(pred == real['labels']).mean():.4f}"
                if name == "CK+":
                    line += f" (macro recall {macro_recall(pred, real['labels']):.4f})"
                if a.int4:
                    line += f", INT4 ONNX {onnx_accuracy(int4, real['images'], real['labels']):.4f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
