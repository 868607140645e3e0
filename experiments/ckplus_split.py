"""CK+'s posed faces split by subject into a tune part and a report part, as .npz files ``train_classifier --extra`` reads.

usage: python experiments/ckplus_split.py [--out build]     (writes build/ckplus-tune.npz and build/ckplus-report.npz)

The same rule as the photo sets' split (``ferdesk.photo_sets.part_of``, 30% of the people reported) on the
subject (``S010``, hashed as ``ckplus-S010``), so that a network tuned on the tune part can be measured on
posed faces of people it never saw. The faces are ``../shared/data/ckplus48.npz``'s (the last three frames of
each labelled sequence, 48x48 ready crops), contempt left out, labels in FER2013's order. The files record no
crop alignment: they are cut as the data set ships them, not by ``photo_crops``. Note that a network tuned on
the tune part has seen those subjects, so the CK+ cross-validation of ``ferdesk.training.ckplus`` run from it
is no longer subject-independent. Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from class_prior import ckplus_with_subjects  # noqa: E402  (experiments/, beside this script)
from ferdesk.photo_sets import part_of  # noqa: E402

FER_CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=ROOT / "build")
    a = ap.parse_args(argv)
    images, y, subjects = ckplus_with_subjects()
    a.out.mkdir(parents=True, exist_ok=True)
    for part in ("tune", "report"):
        keep = np.array([part_of(f"ckplus-{s}") == part for s in subjects])
        path = a.out / f"ckplus-{part}.npz"
        np.savez_compressed(path, images=images[keep], labels=y[keep].astype(np.uint8),
                            classes=np.array(FER_CLASSES), subjects=subjects[keep])
        shares = Counter(FER_CLASSES[k] for k in y[keep])
        print(f"{path}: {keep.sum()} faces of {len(set(subjects[keep]))} subjects: "
              + ", ".join(f"{c} {shares[c]}" for c in FER_CLASSES if shares[c]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
