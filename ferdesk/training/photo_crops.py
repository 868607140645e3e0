"""Training faces from labelled photographs, cut exactly as the live path cuts them.

usage: python -m ferdesk.training.photo_crops --images ../shared/data/realfaces/images \
           --labels ../shared/data/realfaces/labels.csv --part tune --out build/realfaces-tune.npz

Each photograph goes through the first stage of the live pipeline (``Pipeline.locate``: the detector and the
crop of ``ferdesk run``, with the landmark alignment unless ``--alignment box``); the largest face's crop is kept with the photograph's
label. ``--part`` is the split by person of ``ferdesk eval --part`` (``tune``: 70% of the people, for training
and tuning; ``report``: the rest, held back). Writes an .npz like FER2013's (``images`` (N, 48, 48) uint8,
``labels``, ``classes``) plus ``files`` and ``persons``, which ``train_classifier --extra`` mixes into training.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from ferdesk.catalog import Catalog
from ferdesk.classifier import Classifier
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector
from ferdesk.photo_sets import PARTS, read_photo_set
from ferdesk.pipeline import Pipeline
from ferdesk.types import Frame


def photo_crops(photos, pipeline: Pipeline, labels: tuple[str, ...]) -> tuple[dict, int]:
    images, ys, files, persons, missed = [], [], [], [], 0
    for i, photo in enumerate(photos):
        located = pipeline.locate(Frame(cv2.imread(str(photo.path)), i, 0.0, 0.0, new_scene=True))
        if not located.detections:
            missed += 1
            continue
        k = max(range(len(located.detections)), key=lambda j: located.detections[j].box[2] * located.detections[j].box[3])
        images.append(located.crops[k])
        ys.append(labels.index(photo.label))
        files.append(photo.path.name)
        persons.append(photo.person)
    return {"images": np.stack(images), "labels": np.array(ys, np.uint8), "classes": np.array(labels),
            "files": np.array(files), "persons": np.array(persons)}, missed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=Path, required=True)
    ap.add_argument("--labels", type=Path, required=True)
    ap.add_argument("--part", default="tune", choices=PARTS)
    ap.add_argument("--detector", default=DEFAULT_DETECTOR)
    ap.add_argument("--alignment", default="landmarks", choices=("landmarks", "box"),
                    help="how the faces are cut (default: the landmark alignment; the model trained on them must say "
                         "so in its catalog entry, crop_alignment)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    catalog = Catalog.load()
    clf = Classifier(catalog.default("classifier"), warmup=False)
    photos = read_photo_set(a.images, a.labels, tuple(clf.labels), a.part)
    pipeline = Pipeline(load_detector(a.detector, catalog), clf, crop_alignment=a.alignment)
    data, missed = photo_crops(photos, pipeline, tuple(clf.labels))
    data["alignment"] = np.array(a.alignment)   # train_classifier reads it: the export must declare the same crop
    a.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(a.out, **data)
    counts = np.bincount(data["labels"], minlength=len(clf.labels))
    print(f"{len(data['labels'])} crops of {len(photos)} photographs ({a.part} part; no face in {missed}) -> {a.out}: "
          + ", ".join(f"{c} {n}" for c, n in zip(clf.labels, counts)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
