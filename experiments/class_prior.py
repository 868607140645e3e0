"""The class prior (the neutral bias): what each classifier predicts against the truth, and what a prior correction would do.

usage: python experiments/class_prior.py [--models NAME ...] [--tune build/realfaces-tune.npz]
           [--report build/realfaces-report.npz] [--models-dir models]

A classifier trained on FER2013 carries FER2013 Training's class shares as its prior. Where the shares differ
(real photographs: a third neutral; posed sets: almost no neutral), the textbook correction for such a label
shift multiplies each probability by ``target share / training share`` and renormalises (Saerens et al., Neural
Computation 2002). This prints, for each classifier (ONNX Runtime; the three tiers by default), on
four sets of 48x48 faces:

- FER2013 PublicTest;
- the live-path crops of the ``realfaces`` tune and report parts (``python -m ferdesk.training.photo_crops``);
- CK+ (``ckplus48.npz``: posed expressions at their apex, no neutral face; contempt, which FER2013 lacks, left out),

accuracy, macro recall and the predicted share of neutral, under three priors:

- ``none``: the classifier as shipped;
- ``uniform``: the training shares divided out (every class equally likely);
- ``tune``: the training shares replaced by the realfaces tune part's true shares (measured, with labels).

(Estimating the shares on each set from the outputs alone, Saerens' EM, ran away to a single class with every
tier: the outputs are under-confident by design, label smoothing and distillation at temperature 3, and EM
needs calibrated probabilities.)

Writes nothing. Results: experiments/real-photos.md ("The class prior").
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402
from ferdesk.training.train_classifier import DEFAULT_DATA  # noqa: E402

CKPLUS_TO_FER = {"anger": 0, "disgust": 1, "fear": 2, "happy": 3, "sadness": 4, "surprise": 5}
NEUTRAL = 6


def ckplus_with_subjects() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CK+'s faces with labels in FER2013's order (contempt left out) and each face's subject (``S010``)."""
    d = np.load(DEFAULT_DATA / "ckplus48.npz")
    names = [str(c) for c in d["classes"]]
    to_fer = np.array([CKPLUS_TO_FER.get(c, -1) for c in names])
    y = to_fer[d["labels"]]
    keep = y >= 0
    return d["images"][keep], y[keep], d["subjects"][keep]


def ckplus() -> tuple[np.ndarray, np.ndarray]:
    x, y, _ = ckplus_with_subjects()
    return x, y


def reweight(p: np.ndarray, w: np.ndarray) -> np.ndarray:
    q = p * w
    return q / q.sum(1, keepdims=True)


def scores(p: np.ndarray, y: np.ndarray) -> str:
    pred = p.argmax(1)
    recalls = [float((pred[y == k] == k).mean()) for k in np.unique(y)]
    return f"{(pred == y).mean():.3f} / {np.mean(recalls):.3f} / {(pred == NEUTRAL).mean():.2f}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", nargs="+", help="classifiers (default: the three tiers)")
    ap.add_argument("--models-dir", default=str(ROOT / "models"), help="a zoo pack to look models up in as well")
    ap.add_argument("--tune", type=Path, default=ROOT / "build" / "realfaces-tune.npz")
    ap.add_argument("--report", type=Path, default=ROOT / "build" / "realfaces-report.npz")
    a = ap.parse_args(argv)
    for p in (a.tune, a.report):
        if not p.is_file():
            raise SystemExit(f"class_prior: no crops at {p} (python -m ferdesk.training.photo_crops makes them)")
    sets = {}
    for name, path in (("PublicTest", DEFAULT_DATA / "fer2013_publictest.npz"), ("realfaces tune", a.tune),
                       ("realfaces report", a.report)):
        d = np.load(path)
        sets[name] = (d["images"], d["labels"].astype(int))
    sets["CK+ (no neutral)"] = ckplus()
    train = np.load(DEFAULT_DATA / "fer2013_training.npz")["labels"]
    source = np.bincount(train, minlength=7) / len(train)
    tune = np.bincount(sets["realfaces tune"][1], minlength=7) / len(sets["realfaces tune"][1])
    print("shares (angry disgust fear happy sad surprise neutral)")
    print("  FER2013 Training: " + " ".join(f"{v:.3f}" for v in source))
    print("  realfaces tune:   " + " ".join(f"{v:.3f}" for v in tune))
    catalog = Catalog.load(packs=[a.models_dir] if Path(a.models_dir).is_dir() else [])
    for model in a.models or [spec.name for spec in catalog.tiers().values()]:
        clf = Classifier(catalog.get(model), backend="onnxruntime")
        print(f"\n{model}: accuracy / macro recall / predicted neutral share (true: PublicTest "
              f"{(sets['PublicTest'][1] == NEUTRAL).mean():.2f}, realfaces {(sets['realfaces report'][1] == NEUTRAL).mean():.2f}, CK+ 0)")
        print(f"  {'set':<18} {'none':<20} {'uniform':<20} {'tune':<20}")
        for name, (x, y) in sets.items():
            p = np.concatenate([clf.classify(x[i:i + 256]) for i in range(0, len(x), 256)])
            cols = [scores(p, y), scores(reweight(p, 1 / source), y), scores(reweight(p, tune / source), y)]
            print(f"  {name:<18} " + " ".join(f"{c:<20}" for c in cols))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
