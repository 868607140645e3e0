"""``ferdesk eval``: accuracy, per-class recall and confusion matrix of a classifier on an .npz split."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import cv2
import numpy as np

from ferdesk.commands import load_catalog
from ferdesk.classifier import Classifier
from ferdesk.commands import positive_int
from ferdesk.errors import FerdeskError


def add_arguments(p) -> None:
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, type=Path, help=".npz with images (N,H,W) uint8, labels (N,), classes")
    p.add_argument("--backend")
    p.add_argument("--batch", type=positive_int, default=256, help="faces per inference call (default 256)")
    p.add_argument("--threads", type=positive_int, default=2, help="CPU threads (default 2)")
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


def evaluate(clf: Classifier, images: np.ndarray, labels: np.ndarray, classes: list[str], batch: int = 256) -> dict:
    missing = [c for c in classes if c not in clf.labels]
    if missing:
        raise FerdeskError(f"model {clf.spec.name} has no class for {', '.join(missing)} (its labels: {', '.join(clf.labels)})")
    to_model = np.array([clf.labels.index(c) for c in classes])
    truth = to_model[labels]
    w, h = clf.size
    if images.shape[1:3] != (h, w):
        images = np.stack([cv2.resize(im, (w, h), interpolation=cv2.INTER_AREA) for im in images])
    preds = np.concatenate([clf.classify(images[i:i + batch]).argmax(1) for i in range(0, len(images), batch)])
    k = len(clf.labels)
    cm = np.zeros((k, k), int)
    np.add.at(cm, (truth, preds), 1)
    recall = {clf.labels[i]: (float(cm[i, i] / cm[i].sum()) if cm[i].sum() else None) for i in range(k)}
    return {"model": clf.spec.name, "backend": clf.backend, "file": clf.file.path.name, "n": int(len(truth)),
            "accuracy": float((preds == truth).mean()), "per_class_recall": recall,
            "labels": list(clf.labels), "confusion_matrix": cm.tolist()}


def main(a) -> int:
    clf = Classifier(load_catalog(a).get(a.model), backend=a.backend, threads=a.threads)
    images, labels, classes = load_npz(a.data)
    r = {"data": str(a.data), **evaluate(clf, images, labels, classes, a.batch)}
    if a.json:
        print(json.dumps(r, indent=2))
        return 0
    print(f"{r['model']} on {r['backend']} ({r['file']}), {a.data.name}: accuracy {r['accuracy']:.4f} (n={r['n']})")
    for label, rec in r["per_class_recall"].items():
        print(f"  {label:<10} recall {rec:.3f}" if rec is not None else f"  {label:<10} (no samples)")
    print("confusion matrix (rows: truth, columns: prediction):")
    print("  " + " ".join(f"{l[:5]:>6}" for l in r["labels"]))
    for label, row in zip(r["labels"], r["confusion_matrix"]):
        print(f"  " + " ".join(f"{v:>6}" for v in row) + f"  {label}")
    return 0
