"""``ferdesk doctor``: what this machine is, what can run here and why not, and what ferdesk recommends."""
from __future__ import annotations

import json

from ferdesk.commands import load_catalog
from ferdesk.doctor import machine_report, missing_for_display, recommend
from ferdesk.latency_store import LatencyStore


def add_arguments(p) -> None:
    p.add_argument("--json", action="store_true", help="print the report and the recommendation as JSON")
    p.add_argument("--no-cameras", action="store_true", help="do not probe the cameras (opening one takes a moment)")


def main(a) -> int:
    report = machine_report(cameras=not a.no_cameras)
    advice = recommend(report, load_catalog(a), LatencyStore().load())
    if a.json:
        print(json.dumps({"machine": report.to_dict(), "recommendation": advice.to_dict()}, indent=2))
        return 0
    r = report
    print(f"board       {r.board or '(no device tree: not a board, or not Linux)'}")
    print(f"CPU         {r.cpu} ({r.machine}), {r.cores} cores" + (f", {r.memory_gb} GB memory" if r.memory_gb else ""))
    print(f"INT8        {', '.join(r.int8_features) or 'no integer dot-product instructions'}"
          + (f"; also {', '.join(r.other_features)}" if r.other_features else ""))
    print(f"system      {r.os}, {r.glibc or 'no glibc'}, Python {r.python}")
    for plugin, missing in r.qt_plugins.items():
        if plugin in ("xcb", "wayland", "eglfs", "offscreen", "minimal", "linuxfb", "vnc"):
            print(f"Qt {plugin:<8} {'ok' if not missing else 'missing ' + ', '.join(missing)}")
    hint = missing_for_display(r)
    if hint:
        print(f"            {hint}")
    print(f"cameras     {', '.join(r.cameras) or ('not probed' if a.no_cameras else 'none found')}")
    for kind, items in (("backend", r.backends), ("detector", r.detectors)):
        for name, why in items.items():
            print(f"{kind:<11} {name}: {'available' if not why else 'unavailable: ' + why}")
    for name, why in r.gpu_providers.items():
        print(f"{'GPU':<11} ONNX Runtime {name}: {'loads' if not why else 'cannot load: ' + why}")
    print()
    print(f"recommended: {advice.tier} tier ({advice.model}) on {advice.backend}, {advice.threads} thread per model, "
          f"detector {advice.detector}")
    for reason in advice.reasons:
        print(f"  - {reason}")
    return 0
