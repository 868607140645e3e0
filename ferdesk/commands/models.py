"""``ferdesk models``: the catalog, with each model/backend pair's availability."""
from __future__ import annotations

import json

import sys

from ferdesk.commands import load_catalog
from ferdesk.detectors import detectors
from ferdesk.engines import engines


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print a JSON list of models")


def model_backends(spec) -> dict:
    """Per backend: can this model run on it here, and if not, why."""
    out = {}
    for name, cls in engines:
        has_file = cls.file_for(spec) is not None
        if spec.task == "detector" and not has_file:
            continue  # detectors without engine files (cascade, dlib) do not use the backends
        ok, why = cls.availability()
        if not has_file:
            ok, why = False, cls.missing_file_reason(spec)
        out[name] = {"available": ok, **({"reason": why} if not ok else {})}
    if spec.task == "detector" and spec.name in detectors:
        ok, why = detectors.get(spec.name).availability()
        out["detector"] = {"available": ok, **({"reason": why} if not ok else {})}
    return out


def describe(spec) -> dict:
    raw = spec.raw
    return {
        "name": spec.name, "task": spec.task, "labels": list(spec.labels),
        "file": raw.get("file"), "format": raw.get("format"), "size_bytes": raw.get("size_bytes", 0),
        "default": bool(raw.get("default", False)),
        "files": [{"format": f.format, "path": str(f.path), "size_bytes": f.size_bytes, "precision": f.precision,
                   **({"target": f.target} if f.target else {})} for f in spec.files],
        "input": raw.get("input"), "metrics": raw.get("metrics", {}), "params": raw.get("params"),
        "license": raw.get("license"), "backends": model_backends(spec), "origin": spec.origin,
        **{k: raw[k] for k in ("features", "window", "reads", "dense_params", "tier", "compressed_from", "crop_alignment") if k in raw},
    }


def main(a) -> int:
    catalog = load_catalog(a)
    for problem in catalog.problems:
        print(f"ferdesk: warning: {problem}", file=sys.stderr)
    rows = [describe(m) for m in catalog.models]
    if a.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        acc = r["metrics"].get("fer2013_publictest_accuracy")
        print(f"{r['name']:<16} {r['task']:<10} {r['size_bytes'] / 1024:8.1f} KB"
              f"{'  acc ' + format(acc, '.2%') if acc is not None else ''}{'  [default]' if r['default'] else ''}"
              f"{'  [' + r['tier'] + ' tier]' if r.get('tier') else ''}"
              f"{'  (pack ' + r['origin'] + ')' if r['origin'] != 'bundled' else ''}")
        print(f"{'':<16} {where_it_runs(r['backends'])}")
    return 0


def where_it_runs(backends: dict) -> str:
    detector = backends.get("detector")
    if detector and not detector["available"]:
        return f"unavailable: {detector['reason']}"
    engines_ = {b: v for b, v in backends.items() if b != "detector"}
    if not engines_:
        return "runs on the CPU (no backend)"
    return "runs on: " + ", ".join(b if v["available"] else f"{b} (no: {v['reason']})" for b, v in engines_.items())
