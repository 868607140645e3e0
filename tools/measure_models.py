"""Measure every classifier in the catalog on FER2013 PublicTest and store the figures in it.

usage: python tools/measure_models.py [--data ../shared/data/fer2013_publictest.npz] [--model NAME ...] [--check]

Runs ``ferdesk eval --json`` for each classifier and backend with a file, checks the
backends agree, and writes ``metrics`` (accuracy, n, per-backend figures and the exact
command) into the entry's catalog (the bundled set's or the zoo's). With ``--check`` it writes nothing:
it compares every figure with the catalog's and exits 1 when one differs.
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/fer2013_publictest.npz")
    ap.add_argument("--model", action="append")
    ap.add_argument("--check", action="store_true", help="compare with the stored figures instead of writing them")
    a = ap.parse_args(argv)
    same = differ = 0
    store = CatalogStore(zoo=ROOT / "models" / "catalog.json")
    doc = store.document()
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
            m["metrics"] = {"fer2013_publictest_accuracy": primary["accuracy"], "n": primary["n"],
                            "command": primary["command"], "by_backend": per_backend}
    if a.check:
        print(f"{same} figures the same, {differ} differ")
        return 1 if differ else 0
    store.save(doc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
