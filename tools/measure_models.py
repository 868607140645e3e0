"""Measure every classifier in the catalog on FER2013 PublicTest and store the figures in it.

usage: python tools/measure_models.py [--data ../shared/data/fer2013_publictest.npz] [--model NAME ...] [--check]
       python tools/measure_models.py --photos ../shared/data/realfaces --model NAME ...

Runs ``ferdesk eval --json`` for each classifier and backend with a file, checks the
backends agree, and writes ``metrics`` (accuracy, n, per-backend figures and the exact
command) into the entry's catalog (the bundled set's or the zoo's). With ``--check`` it writes nothing:
it compares every figure with the catalog's and exits 1 when one differs.

With ``--photos DIR`` (a folder with ``images/`` and ``labels.csv``, as ``realfaces``) it measures instead each
named classifier end to end on the photographs' report part (``ferdesk eval --images ... --part report``: the
default detector, the crop the classifier was trained on) and stores ``metrics.realfaces_report_end_to_end``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from ferdesk.training.catalogs import CatalogStore  # noqa: E402


# which split a stored realfaces figure was taken on (the person rule of ferdesk/photo_sets.py changed once)
SPLIT_NOW = ("realfaces report part (30% of the people, ferdesk/photo_sets.py; film stills grouped by actor, "
             "the split since the seventh session of 2026-12-04)")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/fer2013_publictest.npz")
    ap.add_argument("--model", action="append")
    ap.add_argument("--check", action="store_true", help="compare with the stored figures instead of writing them")
    ap.add_argument("--photos", type=Path, help="measure end to end on this photo set's report part instead")
    a = ap.parse_args(argv)
    same = differ = 0
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    doc = store.document()
    if a.photos:
        return measure_photos(store, doc, a.photos, a.model or [])
    for m in doc["models"]:
        if m["task"] != "classifier" or (a.model and m["name"] not in a.model):
            continue
        per_backend = {}
        for backend, fmt in (("onnxruntime", "onnx"), ("litert", "tflite")):
            if not any(f["format"] == fmt for f in m["files"]):
                continue
            cmd = ["ferdesk", "eval", "--model", m["name"], "--backend", backend, "--data", a.data, "--json"]
            pack = [] if store.folder(m["name"]) != store.zoo_dir else ["--models", str(store.zoo_dir)]
            out = subprocess.run([sys.executable, "-m", *cmd[:-1], *pack, "--json"], capture_output=True, text=True, cwd=ROOT)
            if out.returncode != 0:
                print(f"{m['name']} on {backend}: {out.stderr.strip()}")
                differ += 1
                continue
            r = json.loads(out.stdout)
            per_backend[backend] = {"accuracy": round(r["accuracy"], 4), "n": r["n"], "command": " ".join(cmd[:-1])}
            stored = m.get("metrics", {}).get("by_backend", {}).get(backend, {}).get("accuracy")
            verdict = ""
            if a.check:
                ok = stored == per_backend[backend]["accuracy"]
                same, differ = same + ok, differ + (not ok)
                verdict = "  same as the catalog" if ok else f"  DIFFERS from the catalog's {stored}"
            print(f"{m['name']} on {backend}: {r['accuracy']:.4f} (n={r['n']}){verdict}", flush=True)
        if per_backend:
            primary = per_backend.get("onnxruntime") or next(iter(per_backend.values()))
            # other figures (NPU simulators, real photographs) are kept: this tool measures only these backends
            old = m.get("metrics", {})
            m["metrics"] = {**old, "fer2013_publictest_accuracy": primary["accuracy"], "n": primary["n"],
                            "command": primary["command"], "by_backend": {**old.get("by_backend", {}), **per_backend}}
    if a.check:
        print(f"{same} figures the same, {differ} differ")
        return 1 if differ else 0
    store.save(doc)
    return 0


def measure_photos(store: CatalogStore, doc: dict, photos: Path, names: list[str]) -> int:
    if not names:
        raise SystemExit("measure_models: --photos needs --model NAME (each takes minutes)")
    for m in doc["models"]:
        if m["name"] not in names:
            continue
        pack = [] if store.folder(m["name"]) != store.zoo_dir else ["--models", "models"]
        cmd = ["ferdesk", "eval", *pack, "--model", m["name"], "--images", str(photos / "images"),
               "--labels", str(photos / "labels.csv"), "--part", "report"]
        out = subprocess.run([sys.executable, "-m", *cmd, "--json"], capture_output=True, text=True, cwd=ROOT)
        if out.returncode != 0:
            print(f"{m['name']}: {out.stderr.strip()}")
            return 1
        r = json.loads(out.stdout)
        m.setdefault("metrics", {})["realfaces_report_end_to_end"] = {
            "accuracy": round(r["accuracy"], 4), "macro_recall": round(r["macro_recall"], 4), "n": r["n"],
            "no_face": r.get("no_face"), "detector": r.get("detector"), "crop_alignment": m.get("crop_alignment", "box"),
            "predicted_neutral": round(r["prior"]["neutral"]["predicted"], 4),
            "on": SPLIT_NOW, "command": " ".join(cmd)}
        print(f"{m['name']}: accuracy {r['accuracy']:.4f}, macro recall {r['macro_recall']:.4f}, no face {r.get('no_face')}",
              flush=True)
    store.save(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
