"""End to end on a photo set's part, split by where the photographs come from: LFW's news photos and the film stills.

usage: python experiments/report_by_source.py --images ../shared/data/realfaces/images \\
           --labels ../shared/data/realfaces/labels.csv [--part report] MODEL [MODEL ...]

``realfaces`` holds two kinds of photograph: LFW news photos (``First_Last_0003.jpg``, one face of many people)
and 511 film stills of eight actors (``Dwarakish_12.jpg``: low resolution, tight, often in profile, labelled
mostly disgust and sad). Until the split by person read the stills' names (``ferdesk/photo_sets.py``), each still
was a person of its own, so each actor's stills fell on both sides of the split. This prints, for each model,
``ferdesk eval --images``'s figures (its own functions, ``evaluate_photos`` and ``report``: the default detector,
the crop the model was trained on) for the whole part and for the two kinds apart, one JSON line each. Writes
nothing.
Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ferdesk.catalog import Catalog  # noqa: E402
from ferdesk.classifier import Classifier  # noqa: E402
from ferdesk.commands.eval import evaluate_photos, report  # noqa: E402
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector  # noqa: E402
from ferdesk.photo_sets import PARTS, read_photo_set  # noqa: E402

LFW_NAME = re.compile(r".+_\d{4}\.jpg$", re.IGNORECASE)


def source_of(file_name: str) -> str:
    """``lfw`` for LFW's news photos, ``stills`` for the rest (the film stills, and four other files)."""
    return "lfw" if LFW_NAME.fullmatch(file_name) else "stills"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+")
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--part", default="report", choices=PARTS)
    a = ap.parse_args(argv)
    catalog = Catalog.load()
    detector = load_detector(DEFAULT_DETECTOR, catalog)
    for name in a.models:
        clf = Classifier(catalog.get(name), warmup=False)
        photos = read_photo_set(a.images, a.labels, tuple(clf.labels), a.part)
        answers = evaluate_photos(photos, detector, clf)["photos"]
        for source in ("all", "lfw", "stills"):
            chosen = [(p, r) for p, r in zip(photos, answers) if source in ("all", source_of(p.path.name))]
            if not chosen:
                continue
            truth = np.array([clf.labels.index(r["label"]) for _, r in chosen])
            preds = np.array([clf.labels.index(r["predicted"]) if r["predicted"] else -1 for _, r in chosen])
            r = report(truth, preds, tuple(clf.labels))
            print(json.dumps({"model": name, "part": a.part, "source": source, "people": len({p.person for p, _ in chosen}),
                              "n": r["n"], "no_face": r["no_face"], "accuracy": round(r["accuracy"], 4),
                              "macro_recall": round(r["macro_recall"], 4),
                              "per_class_recall": {k: (None if v is None else round(v, 3))
                                                   for k, v in r["per_class_recall"].items()},
                              "predicted_share": {k: round(v["predicted"], 3) for k, v in r["prior"].items()}}),
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
