"""End to end on a photo set's report part with each crop: the calibrated box and the landmark alignment.

usage: python experiments/alignment_e2e.py --images ../shared/data/realfaces/images \
           --labels ../shared/data/realfaces/labels.csv [--part report] [--alignment box landmarks] MODEL [MODEL ...]

Made when the shipped tiers declared no ``crop_alignment`` (so the live path cut their faces with the calibrated
box) although the real photographs they were fine-tuned on (``python -m ferdesk.training.photo_crops``, whose
default is ``--alignment landmarks``) were cut with the landmark alignment; they declare it now. This runs
``ferdesk eval --images``'s own function (``evaluate_photos``) once per crop, whatever the entry says, so the
figures differ in the crop alone. Writes nothing.
Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402
from ferdesk.commands.eval import evaluate_photos  # noqa: E402
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector  # noqa: E402
from ferdesk.photo_sets import PARTS, read_photo_set  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--part", default="report", choices=PARTS)
    ap.add_argument("--alignment", nargs="+", default=["box", "landmarks"], choices=("box", "landmarks"))
    a = ap.parse_args(argv)
    catalog = Catalog.load()
    detector = load_detector(DEFAULT_DETECTOR, catalog)
    for name in a.models:
        clf = Classifier(catalog.get(name), warmup=False)
        photos = read_photo_set(a.images, a.labels, tuple(clf.labels), a.part)
        for alignment in a.alignment:
            r = evaluate_photos(photos, detector, clf, crop_alignment=alignment)
            print(f"{name} ({clf.crop_alignment} in its entry), {alignment} crop: accuracy {r['accuracy']:.4f}, "
                  f"macro recall {r['macro_recall']:.4f}, no face {r['no_face']}, n {r['n']}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
