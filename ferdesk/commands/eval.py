"""``ferdesk eval``: accuracy, macro and per-class recall, confusion matrix and predicted prior of a classifier,
on an .npz split of face crops (``--data``) or end to end on labelled photographs (``--images``/``--labels``:
the detector, the crop and the classifier of ``ferdesk run``, the largest face of each photograph)."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np

from ferdesk.commands import load_catalog
from ferdesk.classifier import Classifier
from ferdesk.commands import positive_int
from ferdesk.detectors import DEFAULT_DETECTOR, load_detector
from ferdesk.errors import FerdeskError
from ferdesk.photo_sets import PARTS, read_photo_set
from ferdesk.prior import apply_prior, prior_weights


def add_arguments(p) -> None:
    p.add_argument("--model", help="classifier (default: the catalog's default)")
    p.add_argument("--data", type=Path, help=".npz with images (N,H,W) uint8, labels (N,), classes")
    p.add_argument("--images", type=Path, help="a folder of photographs, judged end to end (with --labels)")
    p.add_argument("--labels", type=Path, help="CSV with the columns file and label, for --images")
    p.add_argument("--part", default="all", choices=PARTS,
                   help="with --images: all, or the tune / report part of a split by person (30%% of people reported)")
    p.add_argument("--detector", help=f"with --images: the detector (default {DEFAULT_DETECTOR})")
    p.add_argument("--backend")
    p.add_argument("--batch", type=positive_int, default=256, help="faces per inference call (default 256)")
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads (default 2)")
    p.add_argument("--prior", default="trained",
                   help="the class prior: trained (default), uniform, or LABEL=SHARE,... (as ferdesk run --prior)")
    p.add_argument("--json", action="store_true")


def load_npz(path: Path):
    if not path.exists():
        raise FerdeskError(f"data file not found: {path}")
    if not zipfile.is_zipfile(path):
        raise FerdeskError(f"cannot read {path}: not an .npz archive (np.savez of images, labels and classes)")
    try:
        d = np.load(path, allow_pickle=False)
        return d["images"], d["labels"].astype(int), [str(c) for c in d["classes"]]
    except (KeyError, ValueError, OSError) as e:
        raise FerdeskError(f"cannot read {path} as an .npz with images, labels and classes: {e}") from None


def evaluate(clf: Classifier, images: np.ndarray, labels: np.ndarray, classes: list[str], batch: int = 256,
             prior_weights: np.ndarray | None = None) -> dict:
    missing = [c for c in classes if c not in clf.labels]
    if missing:
        raise FerdeskError(f"model {clf.spec.name} has no class for {', '.join(missing)} (its labels: {', '.join(clf.labels)})")
    to_model = np.array([clf.labels.index(c) for c in classes])
    truth = to_model[labels]
    w, h = clf.size
    if images.shape[1:3] != (h, w):
        images = np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images])
    preds = np.concatenate([apply_prior(clf.classify(images[i:i + batch]), prior_weights).argmax(1)
                            for i in range(0, len(images), batch)])
    return {"model": clf.spec.name, "backend": clf.backend, "file": clf.file.path.name, **report(truth, preds, clf.labels)}


def report(truth: np.ndarray, preds: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Accuracy, macro recall (over the classes present), per-class recall, the confusion matrix and the
    predicted against the true class shares. A prediction of -1 (no face found) is wrong, and counted apart."""
    k = len(labels)
    cm = np.zeros((k, k), int)
    found = preds >= 0
    np.add.at(cm, (truth[found], preds[found]), 1)
    per_class = np.bincount(truth, minlength=k)
    recall = {labels[i]: (float(cm[i, i] / per_class[i]) if per_class[i] else None) for i in range(k)}
    present = [r for r in recall.values() if r is not None]
    n = len(truth)
    return {"n": int(n), "accuracy": float((preds == truth).mean()), "macro_recall": float(np.mean(present)),
            "per_class_recall": recall, "labels": list(labels), "confusion_matrix": cm.tolist(),
            "no_face": int((~found).sum()),
            "prior": {labels[i]: {"true": float(per_class[i] / n), "predicted": float((preds == i).sum() / n)}
                      for i in range(k)}}


def evaluate_photos(photos, detector, clf: Classifier, crop_alignment: str | None = None,
                    prior_weights: np.ndarray | None = None) -> dict:
    """The path of ``ferdesk run`` on each photograph, the largest face taken as its answer (``crop_alignment``:
    the classifier's own unless given). ``photos`` lists each photograph's file, label and answer (None: no
    face found), in the order given."""
    from ferdesk.pipeline import Pipeline
    from ferdesk.types import Frame

    pipeline = Pipeline(detector, clf, crop_alignment=crop_alignment, prior_weights=prior_weights)
    truth, preds = [], []
    for i, photo in enumerate(photos):
        image = cv2.imread(str(photo.path), cv2.IMREAD_COLOR)
        if image is None:
            raise FerdeskError(f"cannot read {photo.path} as an image")
        faces = pipeline.process(Frame(image, i, 0.0, 0.0, new_scene=True)).faces
        truth.append(clf.labels.index(photo.label))
        preds.append(clf.labels.index(max(faces, key=lambda f: f.box[2] * f.box[3]).label) if faces else -1)
    answers = [{"file": photo.path.name, "label": photo.label, "predicted": clf.labels[p] if p >= 0 else None}
               for photo, p in zip(photos, preds)]
    return {"model": clf.spec.name, "backend": clf.backend, "file": clf.file.path.name, "detector": detector.spec.name,
            "crop_alignment": pipeline.crop_alignment or clf.crop_alignment, **report(np.array(truth), np.array(preds), clf.labels),
            "photos": answers}


def main(a) -> int:
    if (a.data is None) == (a.images is None):
        raise FerdeskError("give either --data FILE.npz or --images DIR with --labels FILE.csv")
    if a.images is not None and a.labels is None:
        raise FerdeskError("--images needs --labels (a CSV with the columns file and label)")
    catalog = load_catalog(a)
    model = a.model or catalog.default("classifier").name
    spec = catalog.get(model)
    weights = prior_weights(a.prior, spec.labels, spec)
    clf = Classifier(spec, backend=a.backend, threads=a.threads)
    if a.images is not None:
        photos = read_photo_set(a.images, a.labels, tuple(clf.labels), a.part)
        detector = load_detector(a.detector or DEFAULT_DETECTOR, catalog, threads=a.threads)
        r = {"images": str(a.images), "labels_file": str(a.labels), "part": a.part, **evaluate_photos(photos, detector, clf, prior_weights=weights)}
        source = f"{a.images.name} ({a.part}, detector {r['detector']})"
    else:
        images, labels, classes = load_npz(a.data)
        r = {"data": str(a.data), **evaluate(clf, images, labels, classes, a.batch, weights)}
        source = a.data.name
    r["prior_setting"] = a.prior if weights is not None else "trained"
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['model']} on {r['backend']} ({r['file']}), {source}: accuracy {r['accuracy']:.4f}, "
          f"macro recall {r['macro_recall']:.4f} (n={r['n']}" + (f", no face found in {r['no_face']})" if a.images else ")")
          + (f", prior {r['prior_setting']}" if weights is not None else ""))
    for label, rec in r["per_class_recall"].items():
        prior = r["prior"][label]
        share = f"  true share {prior['true']:.3f}, predicted {prior['predicted']:.3f}"
        print((f"  {label:<10} recall {rec:.3f}" if rec is not None else f"  {label:<10} (no samples)  ") + share)
    print("confusion matrix (rows: truth, columns: prediction):")
    print("  " + " ".join(f"{l[:5]:>6}" for l in r["labels"]))
    for label, row in zip(r["labels"], r["confusion_matrix"]):
        print("  " + " ".join(f"{v:>6}" for v in row) + f"  {label}")
    return 0
