"""Score trained networks (state dicts or FP32 ONNX files) on FER2013 PublicTest and on real-photograph crops.

usage: python experiments/real_photo_scores.py ARCH=WEIGHTS [ARCH=WEIGHTS ...] \
           [--real build/realfaces-report.npz] [--real build/realfaces-tune.npz] [--flip] [--ensemble]

``--ensemble`` scores the mean of the networks' softmaxes (as an exported ensemble file computes it) instead of
each network alone; WEIGHTS may be ``FILE.onnx#K``, member K of an ensemble file.

The real-photograph crops are those the live path cuts (``python -m ferdesk.training.photo_crops``), so a
network's figure on them is the end-to-end figure less the photographs where no face was found. Prints
accuracy and macro recall per set, the predicted share of each class, and writes nothing.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.commands.eval import report  # noqa: E402
from ferdesk.training.nets import load  # noqa: E402
from ferdesk.training.train_classifier import DEFAULT_DATA, load_split  # noqa: E402

LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@torch.no_grad()
def predict(net, x: torch.Tensor, flip: bool) -> np.ndarray:
    out = []
    for i in range(0, len(x), 512):
        xb = x[i:i + 512]
        p = torch.softmax(net(xb), 1)
        if flip:
            p = (p + torch.softmax(net(torch.flip(xb, dims=[3])), 1)) / 2
        out.append(p)
    return torch.cat(out).numpy()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("nets", nargs="+", metavar="ARCH=WEIGHTS")
    ap.add_argument("--real", type=Path, action="append", default=[])
    ap.add_argument("--flip", action="store_true", help="average with the mirrored face (as the exported files do)")
    ap.add_argument("--ensemble", action="store_true", help="score the mean of the networks' softmaxes")
    a = ap.parse_args(argv)
    torch.set_num_threads(2)
    sets = {"PublicTest": load_split(DEFAULT_DATA / "fer2013_publictest.npz")}
    sets.update({p.stem: load_split(p) for p in a.real or [ROOT / "build" / "realfaces-report.npz"]})
    groups = [a.nets] if a.ensemble else [[spec] for spec in a.nets]
    for group in groups:
        nets = [load(*spec.split("=", 1)).eval() for spec in group]
        print(" + ".join(group))
        for name, (x, y) in sets.items():
            probs = sum(predict(net, x, a.flip) for net in nets) / len(nets)
            r = report(y.numpy(), probs.argmax(1), LABELS)
            shares = " ".join(f"{k[:3]} {v['predicted']:.2f}/{v['true']:.2f}" for k, v in r["prior"].items())
            print(f"  {name:<18} n={r['n']:<5} accuracy {r['accuracy']:.4f}  macro recall {r['macro_recall']:.4f}  "
                  f"predicted/true: {shares}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
