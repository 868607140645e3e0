"""The `fer` package on a labelled photo set, scored exactly as ``ferdesk eval --images`` scores ferdesk.

usage: python experiments/fer_on_photos.py --images ../shared/data/realfaces/images \\
           --labels ../shared/data/realfaces/labels.csv --part report --peer-python /tmp/peer/bin/python [--json OUT]

``fer`` (Haar cascade + mini-Xception, the library ``../shared/bench/peer_fer.py`` runs on clips) needs
TensorFlow, so it runs in a venv of its own (``--peer-python``; experiments/fer-comparison.md says how to make
it): this script, run with ferdesk's Python, picks the part of the set (the split by person of
``ferdesk/photo_sets.py``), runs itself under the peer's Python with ``--worker`` on those files, and scores the
answers with ``ferdesk.commands.eval.report``: the largest face's label is the photograph's answer, a photograph
with no face found counts as wrong. So its accuracy, macro recall, per-class recall and no-face count stand
beside ``ferdesk eval --images ... --part report`` figure for figure. Results: experiments/real-photos.md.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

def worker(files_json: Path, out_json: Path) -> None:
    """Under the peer's Python: fer's answer (largest face) for each listed file, or None without a face."""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import cv2
    import fer
    from fer.fer import FER

    det = FER(cascade_file=os.path.dirname(fer.__file__) + "/data/haarcascade_frontalface_default.xml")
    answers = []
    t0 = time.perf_counter()
    for path in json.loads(files_json.read_text()):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        faces = det.detect_emotions(image) if image is not None else []
        if faces:
            best = max(faces, key=lambda r: r["box"][2] * r["box"][3])
            answers.append(max(best["emotions"], key=best["emotions"].get))
        else:
            answers.append(None)
    out_json.write_text(json.dumps({"answers": answers, "seconds": time.perf_counter() - t0,
                                    "fer_version": getattr(fer, "__version__", "unknown")}))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", nargs=2, type=Path, metavar=("FILES_JSON", "OUT_JSON"), help=argparse.SUPPRESS)
    ap.add_argument("--images", type=Path)
    ap.add_argument("--labels", type=Path)
    ap.add_argument("--part", default="report", choices=("all", "tune", "report"))
    ap.add_argument("--peer-python", type=Path)
    ap.add_argument("--json", type=Path, help="also write the report here")
    a = ap.parse_args(argv)
    if a.worker:
        worker(*a.worker)
        return 0
    if not (a.images and a.labels and a.peer_python):
        ap.error("--images, --labels and --peer-python are needed")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import numpy as np

    from ferdesk.commands.eval import report
    from ferdesk.photo_sets import read_photo_set
    from ferdesk.training.export import FER_LABELS

    labels = tuple(FER_LABELS)

    photos = read_photo_set(a.images, a.labels, labels, a.part)
    with tempfile.TemporaryDirectory() as tmp:
        files, out = Path(tmp) / "files.json", Path(tmp) / "answers.json"
        files.write_text(json.dumps([str(p.path.resolve()) for p in photos]))
        done = subprocess.run([str(a.peer_python), str(Path(__file__).resolve()), "--worker", str(files), str(out)])
        if done.returncode != 0:
            raise SystemExit(f"fer_on_photos: the peer's Python failed (exit {done.returncode}); see above")
        got = json.loads(out.read_text())
    truth = np.array([labels.index(p.label) for p in photos])
    preds = np.array([labels.index(x) if x is not None else -1 for x in got["answers"]])
    r = {"model": f"fer {got['fer_version']} (Haar cascade + mini-Xception)", "images": str(a.images), "part": a.part,
         "seconds": round(got["seconds"], 1), **report(truth, preds, labels)}
    print(f"{r['model']}, {a.images.name} ({a.part}): accuracy {r['accuracy']:.4f}, macro recall {r['macro_recall']:.4f} "
          f"(n={r['n']}, no face found in {r['no_face']}; {r['seconds']} s)")
    for label, rec in r["per_class_recall"].items():
        print(f"  {label:<10} " + (f"recall {rec:.3f}" if rec is not None else "(no samples)")
              + f"  true share {r['prior'][label]['true']:.3f}, predicted {r['prior'][label]['predicted']:.3f}")
    if a.json:
        a.json.write_text(json.dumps(r, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
