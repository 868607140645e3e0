"""Per-class recall on CK+'s posed faces (the posed stand-in), for each named classifier.

usage: python experiments/posed_per_class.py MODEL [MODEL ...] [--models-dir models]

CK+ as ``experiments/class_prior.py`` has it (the last three frames of each labelled sequence, 48x48 ready crops,
contempt left out: 927 faces of 309 sequences), each model's file run as the app runs it (``Classifier``, the
trained prior). Prints accuracy, macro recall, the recall of each class and the predicted share of neutral (CK+
has no neutral face). The sequences' three frames are nearly the same face, so a point here is about three
sequences: differences of two or three points are within its noise. Writes nothing.
Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from class_prior import CKPLUS_TO_FER, NEUTRAL, ckplus  # noqa: E402  (experiments/, beside this script)
from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--models-dir", default=str(ROOT / "models"), help="a zoo pack to look models up in as well")
    a = ap.parse_args(argv)
    x, y = ckplus()
    catalog = Catalog.load(packs=[a.models_dir] if Path(a.models_dir).is_dir() else [])
    classes = sorted(CKPLUS_TO_FER, key=CKPLUS_TO_FER.get)
    print(f"CK+ ({len(y)} faces): accuracy / macro recall | " + " ".join(f"{c[:7]:>7}" for c in classes)
          + " | predicted neutral")
    for name in a.models:
        clf = Classifier(catalog.get(name), warmup=False)
        pred = np.concatenate([clf.classify(x[i:i + 256]) for i in range(0, len(x), 256)]).argmax(1)
        recall = [float((pred[y == CKPLUS_TO_FER[c]] == CKPLUS_TO_FER[c]).mean()) for c in classes]
        print(f"{name}: {(pred == y).mean():.3f} / {np.mean(recall):.3f} | " + " ".join(f"{r:>7.2f}" for r in recall)
              + f" | {(pred == NEUTRAL).mean():.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
